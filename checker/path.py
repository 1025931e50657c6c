"""A run of a model: states and the actions between them; replay and text renderings."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..models import registry
from ..models.base import LIVENESS, Action, Model
from ..models.registry import RegistryError, dotted_path, root_model
from ..models.schema import to_jsonable

#: The line of ``Path.to_text`` after which a lasso's loop begins.
LOOP_MARK = "     -- loop starts here --"


class ReplayError(Exception):
    """A path does not replay through the model's transitions."""


@dataclass
class Path:
    """``states[0] -actions[0]-> states[1] ... -> states[-1]``.

    A lasso (a liveness counterexample) has a ``loop_start``: the behaviour goes on forever by
    repeating ``actions[loop_start:]`` (its last state is ``states[loop_start]`` again), or, with
    no loop steps, stutters in its last state (a deadlock).
    """

    model: Model[Any]
    states: list[Any]
    actions: list[Action] = field(default_factory=list)
    loop_start: int | None = None

    def __post_init__(self) -> None:
        if len(self.states) != len(self.actions) + 1:
            raise ValueError("a path has one more state than actions")
        if self.loop_start is not None and not 0 <= self.loop_start < len(self.states):
            raise ValueError(f"loop_start {self.loop_start} is outside the path's {len(self.states)} states")

    def __len__(self) -> int:
        return len(self.actions)

    @property
    def last(self) -> Any:
        return self.states[-1]

    def action_reprs(self) -> list[str]:
        return [repr(a) for a in self.actions]

    # ----- renderings --------------------------------------------------------------
    def to_text(self) -> str:
        """One line per step: the action, then only the fields that changed."""
        describe = self.model.describe_state
        prev = describe(self.states[0])
        lines = ["init: " + _fmt_fields(prev)]
        loop = self.loop_start
        if loop == 0 and self.actions:
            lines.append(LOOP_MARK)
        for k, (a, s) in enumerate(zip(self.actions, self.states[1:], strict=True), 1):
            cur = describe(s)
            changed = {key: v for key, v in cur.items() if prev.get(key) != v}
            gone = [key for key in prev if key not in cur]
            diff = ", ".join(_fmt_change(key, prev.get(key), v) for key, v in changed.items()) or "(no change)"
            if gone:
                diff += " " + " ".join(f"-{g}" for g in gone)
            lines.append(f"{k:>3}. {a!r}  ->  {diff}")
            if k == loop and k < len(self.actions):
                lines.append(LOOP_MARK)
            prev = cur
        if loop is not None:
            lines.append(f"     back to state {loop}, forever" if loop < len(self.actions)
                         else "     stays in this state forever (no fair action is enabled here)")
        return "\n".join(lines)

    def to_json(self) -> list[dict[str, Any]]:
        """``[{"action": None, "state": ...}, {"action": "prepare(node='rm0')", ...}, ...]``."""
        describe = self.model.describe_state
        out: list[dict[str, Any]] = [{"action": None, "state": to_jsonable(describe(self.states[0]))}]
        for a, s in zip(self.actions, self.states[1:], strict=True):
            out.append({"action": repr(a), "state": to_jsonable(describe(s))})
        return out

    def to_python(self, prop: str | None = None) -> str:
        """A script that rebuilds this path through ``replay`` and, given the violated
        property, checks that the run still violates it (exit status 1 if not)."""
        root = root_model(type(self.model))
        lines = [
            *_import_lines(root),
            f"from {__name__} import replay",
            "",
            f"model = {model_expr(self.model)}",
            "path = replay(model, [",
            *(f"    {json.dumps(r)}," for r in self.action_reprs()),
            "]" + ("" if self.loop_start is None else f", loop_start={self.loop_start}") + ")",
            "print(path.to_text())",
        ]
        if prop is not None:
            lines += [
                f"why = path.violation({prop!r})",
                "if why is None:",
                f"    raise SystemExit('replayed, but {prop} holds: the model changed since this script was written')",
                "print(why)",
            ]
        return "\n".join(lines) + "\n"

    def violation(self, prop: str) -> str | None:
        """Why this run violates ``prop`` (an ``@always`` or ``@step`` property, a refinement,
        or ``deadlock``) at its end, in one line; None if it does not."""
        model, last = self.model, self.states[-1]
        for p in model.properties:
            if p.name != prop:
                continue
            if p.kind in LIVENESS:
                from .lasso import lasso_violation  # liveness builds on paths

                return lasso_violation(self, p)
            if p.kind == "always":
                return None if p.fn(last) else f"{prop} is false in the last state"
            if p.kind == "step" and self.actions:
                ok = p.fn(self.states[-2], self.actions[-1], last)
                return None if ok else f"{prop} fails on the last step, {self.actions[-1]!r}"
            return None  # a @sometimes property, or a step property of a run without steps
        for r in model.refinements():
            if r.name != prop:
                continue
            if not self.actions:
                inits = r.abstract.initial_states()
                return None if r.mapping(last) in inits else f"{prop}: the initial state maps to no initial state"
            x, y = r.mapping(self.states[-2]), r.mapping(last)
            if x == y or any(u == y for _b, u in r.abstract.successors(x)):
                return None
            return f"{prop}: the last step {self.actions[-1]!r} maps to {y!r}, no step of the abstract model from {x!r}"
        if prop == "deadlock":
            if next(iter(model.successors(last)), None) is not None or model.is_terminal(last):
                return None
            return "deadlock: no action is enabled at the end"
        names = [p.name for p in model.properties] + [r.name for r in model.refinements()] + ["deadlock"]
        raise ReplayError(f"{prop!r} is no property of {type(model).__name__}; its properties: {', '.join(names)}")


def _import_lines(cls: type) -> list[str]:
    """Python that binds ``cls.__name__`` to ``cls``: an import, or ``resolve`` for a user's file."""
    try:
        ref = dotted_path(cls)
    except RegistryError:  # a class defined inside a function: the script says where it was
        return [f"from {cls.__module__} import {cls.__name__}  # defined inside a function: edit this import"]
    module, _, qual = ref.rpartition(":")
    if module.endswith(".py") or "." in qual:
        return [f"from {registry.__name__} import resolve", "", f"{cls.__name__} = resolve({ref!r})"]
    return [f"from {module} import {qual}"]


def model_expr(model: Model[Any]) -> str:
    """Python that rebuilds ``model``: ``MyModel(n=3).with_variant('planted-bug')``."""
    args = ", ".join(f"{f.name}={getattr(model.config, f.name)!r}" for f in dataclasses.fields(model.config))
    expr = f"{root_model(type(model)).__name__}({args})"
    if model.variant_name:
        expr += f".with_variant({model.variant_name!r})"
    return expr


def _fmt_change(key: str, old: Any, new: Any) -> str:
    """Collections show what was added and removed; other values their new value."""
    if isinstance(old, (list, frozenset)) and isinstance(new, (list, frozenset)):
        added = [x for x in new if x not in old]
        removed = [x for x in old if x not in new]
        parts = [f"+{_short(x)}" for x in added] + [f"-{_short(x)}" for x in removed]
        if parts and len(parts) < len(new) + len(old):
            return f"{key} " + " ".join(parts)
    return f"{key}={_short(new)}"


def _fmt_fields(d: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_short(v)}" for k, v in d.items())


def _short(v: Any) -> str:
    if isinstance(v, frozenset):
        return "{" + ", ".join(sorted(map(_short, v))) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(map(_short, v)) + "]"
    return repr(v)


def replay(model: Model[Any], actions: Sequence[str | Action], init: Any = None,
           loop_start: int | None = None) -> Path:
    """Run the named actions (``repr`` strings or ``Action``s) from an initial state (a lasso
    when ``loop_start`` is given)."""
    inits = model.initial_states()
    state = inits[0] if init is None else init
    states, done = [state], []
    for k, want in enumerate(actions):
        key = want if isinstance(want, str) else repr(want)
        for a, t in model.successors(state):
            if repr(a) == key:
                states.append(t)
                done.append(a)
                state = t
                break
        else:
            enabled = ", ".join(repr(a) for a, _t in model.successors(state)) or "none"
            raise ReplayError(f"step {k + 1}: {key} is not enabled; enabled: {enabled}")
    return Path(model, states, done, loop_start)

