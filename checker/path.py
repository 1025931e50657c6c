"""A run of a model: states and the actions between them; replay and text renderings."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..models.base import Action, Model
from ..models.schema import to_jsonable


class ReplayError(Exception):
    """A path does not replay through the model's transitions."""


@dataclass
class Path:
    """``states[0] -actions[0]-> states[1] ... -> states[-1]``."""

    model: Model[Any]
    states: list[Any]
    actions: list[Action] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.states) != len(self.actions) + 1:
            raise ValueError("a path has one more state than actions")

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
        for k, (a, s) in enumerate(zip(self.actions, self.states[1:], strict=True), 1):
            cur = describe(s)
            changed = {key: v for key, v in cur.items() if prev.get(key) != v}
            gone = [key for key in prev if key not in cur]
            diff = ", ".join(_fmt_change(key, prev.get(key), v) for key, v in changed.items()) or "(no change)"
            if gone:
                diff += " " + " ".join(f"-{g}" for g in gone)
            lines.append(f"{k:>3}. {a!r}  ->  {diff}")
            prev = cur
        return "\n".join(lines)

    def to_json(self) -> list[dict[str, Any]]:
        """``[{"action": None, "state": ...}, {"action": "prepare(node='rm0')", ...}, ...]``."""
        describe = self.model.describe_state
        out: list[dict[str, Any]] = [{"action": None, "state": to_jsonable(describe(self.states[0]))}]
        for a, s in zip(self.actions, self.states[1:], strict=True):
            out.append({"action": repr(a), "state": to_jsonable(describe(s))})
        return out

    def to_python(self, prop: str | None = None) -> str:
        """A script that rebuilds this path through ``replay`` (and checks the property)."""
        root = _root_class(self.model)
        pkg = type(self.model).__module__.split(".")[0]
        lines = [
            f"from {root.__module__} import {root.__name__}",
            f"from {pkg}.checker.path import replay",
            "",
            f"model = {model_expr(self.model)}",
            "path = replay(model, [",
            *(f"    {json.dumps(r)}," for r in self.action_reprs()),
            "])",
        ]
        if prop is not None:
            lines += [
                f"prop = next(p for p in model.properties if p.name == {prop!r})",
                "if prop.kind == 'always':",
                "    assert not prop.fn(path.last), 'expected the last state to violate ' + prop.name",
            ]
        lines.append("print(path.to_text())")
        return "\n".join(lines) + "\n"


def _root_class(model: Model[Any]) -> type:
    """The registered model class (variants are reached through ``with_variant``)."""
    return next((k for k in type(model).__mro__ if k.__dict__.get("name")), type(model))


def model_expr(model: Model[Any]) -> str:
    """Python that rebuilds ``model``: ``TwoPhase(rms=3).with_variant('commit-on-majority')``."""
    args = ", ".join(f"{f.name}={getattr(model.config, f.name)!r}" for f in dataclasses.fields(model.config))
    expr = f"{_root_class(model).__name__}({args})"
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


def replay(model: Model[Any], actions: Sequence[str | Action], init: Any = None) -> Path:
    """Run the named actions (``repr`` strings or ``Action``s) from an initial state."""
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
    return Path(model, states, done)

