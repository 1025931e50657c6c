// The explorer page: every view is /api/view of the query string in the address bar (the permalink).
"use strict";

let current = null;   // the last view shown
let future = [];    // action indices undone by "back", redone by "forward" (last one first)
let lasso = null;   // {loop, length}: the path of that length is a lasso looping from step `loop`

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k.startsWith("data-")) e.setAttribute(k, v); else e[k] = v;
  }
  for (const c of children) e.append(c);
  return e;
}

function showError(msg) { show("error", msg); }

function show(id, msg) {
  $(id).textContent = msg || "";
  $(id).hidden = !msg;
}

async function getJSON(url, options) {
  const r = await fetch(url, options);
  const data = await r.json();
  if (data.error) throw new Error(data.error);
  return data;
}

async function go(query, push = true) {
  try {
    const v = await getJSON("/api/view?" + query);
    if (push) history.pushState(null, "", "/?" + v.query);
    render(v);
    showError("");
  } catch (e) {
    showError(e.message);
  }
}

function render(v) {
  current = v;
  if (v.loop !== null) lasso = {loop: v.loop, length: v.path.length};
  document.title = `protoproof explorer: ${v.model}`;
  $("permalink").href = "/?" + v.query;
  $("step-count").textContent = `step ${v.path.length}`;
  $("step-count").setAttribute("data-steps", v.path.length);
  renderForm(v);
  const state = $("state").tBodies[0];
  state.replaceChildren(...v.state.map((f) =>
    el("tr", {}, el("th", {}, f.field), el("td", {class: f.changed && v.path.length ? "changed" : ""}, f.value))));
  renderActions(v);
  $("properties").tBodies[0].replaceChildren(...v.properties.map((p) => {
    const value = p.value === null ? "–" : String(p.value);
    const cls = p.value === null ? "" : p.kind === "sometimes" ? (p.value ? "reached" : "pending")
      : p.value ? "holds" : "violated";
    return el("tr", {class: cls, id: "prop-" + p.name,
                     "data-value": value, title: p.doc},
      el("td", {}, p.name), el("td", {}, p.kind), el("td", {class: "value"}, value),
      el("td", {class: "note"}, [p.doc, p.note].filter(Boolean).join(" — ")));
  }));
  const chart = $("chart");
  if (v.chart.svg) chart.innerHTML = v.chart.svg;
  else chart.replaceChildren(el("p", {class: "note"}, v.chart.note));
  chart.setAttribute("data-steps", v.path.length);
  $("steps").replaceChildren(el("li", {class: v.path.length ? "" : "current"},
                                el("a", {href: "/?" + v.start}, "initial state")),
    ...v.steps.map((s, k) => el("li", {class: k === v.steps.length - 1 ? "current" : ""},
                                el("a", {href: "/?" + s.query, onclick: link(s.query)}, s.action))));
  $("steps").firstChild.firstChild.onclick = link(v.start);
  $("back").disabled = v.path.length === 0;
  $("restart").disabled = v.path.length === 0;
  $("forward").disabled = future.length === 0;
}

// A step of one's own: nothing left to redo, and a loaded counterexample's note no longer applies.
function fresh() {
  future = [];
  lasso = null;
  show("info", "");
}

function link(query) {
  return (ev) => { ev.preventDefault(); fresh(); go(query); };
}

function renderActions(v) {
  const box = $("actions");
  if (!v.actions.length) {
    const why = v.actions_error || (v.deadlock ? "no action is enabled: a deadlock" : "no action is enabled (a proper end)");
    box.replaceChildren(el("p", {class: v.deadlock || v.actions_error ? "deadlock" : ""}, why));
    return;
  }
  const families = new Map();
  for (const a of v.actions) {
    if (!families.has(a.family)) families.set(a.family, []);
    families.get(a.family).push(a);
  }
  box.replaceChildren(...[...families].map(([name, acts]) => el("div", {class: "family"}, el("b", {}, name),
    el("span", {}, ...acts.map((a) => el("button", {class: "action", title: a.label, "data-index": a.index, "data-label": a.label,
      onclick: () => { fresh(); go(a.query); }},
      a.args.length ? a.args.map(([k, x]) => `${k}=${x}`).join(", ") : a.label))))));
}

function renderForm(v) {
  $("variant").replaceChildren(el("option", {value: ""}, "(correct model)"),
    ...v.variants.map((n) => el("option", {value: n, selected: n === v.variant}, n)));
  $("params").replaceChildren(...v.params.map((p) => el("label", {}, p.name + " ",
    el("input", {name: p.name, value: String(p.value), title: `default ${p.default}`}))));
  $("model").value = v.model;
}

function formQuery() {
  const q = new URLSearchParams({model: $("model").value});
  if ($("variant").value) q.set("variant", $("variant").value);
  // parameters only when the model is unchanged (another model has other parameters)
  if (current && $("model").value === current.model) {
    for (const input of $("params").querySelectorAll("input")) q.set(input.name, input.value);
  }
  q.set("path", "");
  return q.toString();
}

async function randomSteps(n) {
  try {
    const seed = Math.floor(Math.random() * 2 ** 31);
    const r = await getJSON(`/api/random?${current.query}&steps=${n}&seed=${seed}`);
    fresh();
    await go(r.query);
  } catch (e) { showError(e.message); }
}

async function loadCounterexample(text) {
  try {
    const r = await getJSON("/api/load", {method: "POST", body: text, headers: {"Content-Type": "application/json"}});
    const q = new URLSearchParams(r.query);
    const path = (q.get("path") || "").split(".").filter((x) => x !== "").map(Number);
    // land on the initial state with the whole counterexample ready under "forward"
    future = path.slice().reverse();
    lasso = r.loop_start === null || r.loop_start === undefined ? null : {loop: r.loop_start, length: path.length};
    q.set("path", "");
    q.delete("loop");
    await go(q.toString());
    const loop = !lasso ? "" : lasso.loop === lasso.length
      ? " It is a lasso: the behaviour then stays in its last state forever."
      : ` It is a lasso: from step ${lasso.loop} on, the behaviour repeats its steps forever.`;
    show("info", `Loaded a counterexample of ${r.property || "the model"} (${r.steps} steps): press forward to ` +
                 `take its steps one by one.${loop}`);
  } catch (e) { show("info", ""); showError(e.message); }
}

function withPath(path) {
  const q = new URLSearchParams(current.query);
  q.set("path", path.join("."));
  q.delete("loop");
  if (lasso && path.length === lasso.length) q.set("loop", lasso.loop);
  return q.toString();
}

function init() {
  $("back").onclick = () => { future.push(current.path.at(-1)); go(withPath(current.path.slice(0, -1))); };
  $("forward").onclick = () => { if (future.length) go(withPath([...current.path, future.pop()])); };
  $("restart").onclick = () => { future = current.path.slice().reverse(); go(withPath([])); };
  $("random1").onclick = () => randomSteps(1);
  $("random10").onclick = () => randomSteps(10);
  $("model-form").onsubmit = (ev) => { ev.preventDefault(); fresh(); go(formQuery()); };
  $("model").onchange = () => { $("variant").value = ""; };
  $("cex-load").onclick = () => loadCounterexample($("cex-text").value);
  $("cex-file").onchange = async () => {
    const f = $("cex-file").files[0];
    if (f) { $("cex-text").value = await f.text(); loadCounterexample($("cex-text").value); }
  };
  window.onpopstate = () => { fresh(); go(location.search.slice(1), false); };
  getJSON("/api/models").then((m) => {
    $("model").replaceChildren(...m.models.map((n) => el("option", {value: n}, n)));
    go(location.search.slice(1) || m.home, !location.search);
  }).catch((e) => showError(e.message));
}

init();
