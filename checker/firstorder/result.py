"""What a parameterized proof reports: one line per z3 obligation, the tie to the model (one
``ConformResult`` per small instance), and the verdict that needs both.

Verdicts: ``proved`` when the tie held and every obligation is valid; ``proved-formulas-only``
when the obligations are valid and the tie was not run (nothing is claimed about the model);
``error`` when the tie found a mismatch (the formulas do not describe the model: a model error,
whatever the obligations say); ``unknown`` otherwise (a failed induction step is a
counterexample to induction, not a reachable violation, and a timeout is a timeout).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from ..verdict import ERROR, EXIT_BY_VERDICT, PROVED, PROVED_FORMULAS_ONLY, UNKNOWN

VALID, INVALID = "valid", "invalid"

#: Tie scopes: ``FULL`` runs checks (enc) (a) (b) (c) (d), ``EDGES`` only (enc) (a) (b) (for
#: instances too large for the invariant on every state).
FULL, EDGES = "full", "edges"
#: ``WALKS`` runs (enc) (a) (b) on the edges of seeded random walks from the initial states: for
#: an instance too large to walk whole, to reach edges deeper than any instance that is.
WALKS = "walks"


@dataclass
class Obligation:
    name: str
    result: str  # valid | invalid | unknown
    seconds: float
    stratified: bool = True
    detail: str = ""

    def line(self) -> str:
        s = f"  {self.name:<48} {self.result:<8} {self.seconds:7.3f}s"
        if not self.stratified:
            s += "  (quantifier alternation not stratified)"
        if self.detail:
            s += f"  {self.detail}"
        return s


class InstanceLike(Protocol):
    """One small instance the tie runs: the model's parameters and how much is checked."""

    @property
    def scope(self) -> str: ...

    @property
    def converse_sample(self) -> int: ...

    def model_params(self) -> dict[str, int]:
        """Keyword arguments of the model class (the defaults left out)."""
        ...

    def to_json(self) -> dict[str, Any]: ...

    def label(self) -> str:
        """``name=value`` pairs, for a conformance result's headline."""
        ...


@dataclass(frozen=True)
class Instance:
    """A tie instance given by the model's keyword parameters."""

    params: tuple[tuple[str, int], ...]
    scope: str = FULL
    converse_sample: int = 100
    walks: int = 0  # WALKS: how many random walks, of walk_length steps each
    walk_length: int = 0

    @staticmethod
    def of(scope: str = FULL, converse_sample: int = 100, **params: int) -> Instance:
        return Instance(tuple(params.items()), scope, converse_sample)

    @staticmethod
    def walking(walks: int, walk_length: int, **params: int) -> Instance:
        """An instance checked on ``walks`` seeded random walks of ``walk_length`` steps (``WALKS``)."""
        return Instance(tuple(params.items()), WALKS, 0, walks, walk_length)

    def model_params(self) -> dict[str, int]:
        return dict(self.params)

    def to_json(self) -> dict[str, Any]:
        walks = {"walks": self.walks, "walk_length": self.walk_length} if self.scope == WALKS else {}
        return {**dict(self.params), **walks}

    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.params)

    def __str__(self) -> str:
        walks = f", {self.walks} random walks of {self.walk_length} steps" if self.scope == WALKS else ""
        return ", ".join(f"{k} {v}" for k, v in self.params) + walks


@dataclass
class ConformResult:
    """Counts of what was checked on one instance, and every mismatch found (empty: the model
    conforms)."""

    protocol: str
    config: InstanceLike
    variant: str | None = None
    formula_variant: str | None = None
    model: str = ""
    checks: dict[str, int] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)
    stopped: bool = False
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.mismatches

    @property
    def scope(self) -> str:
        return self.config.scope

    def instance(self) -> str:
        return str(self.config)

    def checked(self) -> str:
        if self.scope == FULL and self.config.converse_sample == 0:
            return "(enc) (a) (b) (c), (d) on the initial states only"
        return {FULL: "(enc) (a) (b) (c) (d)", WALKS: "(enc) (a) (b) on random walks"}.get(self.scope, "(enc) (a) (b)")

    def to_lines(self) -> list[str]:
        what = self.config.label()
        if self.variant:
            what += f" model variant {self.variant}"
        if self.formula_variant:
            what += f" formula variant {self.formula_variant}"
        head = f"conform {self.protocol}_param ({what}): {'ok' if self.ok else f'{len(self.mismatches)} mismatches'}"
        lines = [head, f"  model {self.model}, checks {self.checked()}",
                 "  " + ", ".join(f"{k} {v}" for k, v in self.checks.items()), f"  {self.elapsed_s:.2f}s"]
        lines += [f"  MISMATCH {m}" for m in self.mismatches]
        if self.stopped:
            lines.append(f"  (stopped after the first {len(self.mismatches)} mismatches)")
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.protocol,
            "engine": "conform-parameterized",
            "model_class": self.model,
            "params": self.config.to_json(),
            "variant": self.variant,
            "formula_variant": self.formula_variant,
            "scope": self.scope,
            "checked": self.checked(),
            "ok": self.ok,
            "checks": self.checks,
            "mismatches": self.mismatches,
            "stopped": self.stopped,
            "elapsed_s": round(self.elapsed_s, 6),
        }


R = TypeVar("R", bound=ConformResult)


@dataclass
class Tie(Generic[R]):
    """The tie of the formulas to one model class: where its source is, and each instance run."""

    model: str
    source: str
    commit: str
    dirty: bool | None
    instances: list[R] = field(default_factory=list)
    not_run: list[InstanceLike] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.instances) and all(r.ok for r in self.instances) and not self.not_run

    def commit_text(self) -> str:
        if self.commit == "unknown":
            return "commit unknown (not a git checkout)"
        return f"commit {self.commit}" + (" dirty (the file differs from the commit)" if self.dirty else "")

    def to_lines(self, mismatches: int = 5) -> list[str]:
        lines = [f"  tie: model {self.model} ({self.source}, {self.commit_text()}): "
                 f"{'ok' if self.ok else 'FAILED'}, {self.elapsed_s:.1f}s"]
        for r in self.instances:
            c = r.checks
            lines.append(f"  tie {r.instance()}: {r.checked()}: {c.get('states', 0):,} states, "
                         f"{c.get('edges', 0):,} edges checked, {len(r.mismatches)} mismatches"
                         f"{' (stopped at the first ones)' if r.stopped else ''}, {r.elapsed_s:.1f}s")
            lines += [f"    MISMATCH {m}" for m in r.mismatches[:mismatches]]
        lines += [f"  tie {x}: not run (the tie stopped at the mismatch above)" for x in self.not_run]
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "model_class": self.model,
            "source": self.source,
            "commit": self.commit,
            "dirty": self.dirty,
            "ok": self.ok,
            "instances": [
                {**r.config.to_json(), "scope": r.scope, "checked": r.checked(),
                 "states": r.checks.get("states", 0), "edges": r.checks.get("edges", 0), "checks": r.checks,
                 "mismatches": len(r.mismatches), "first_mismatches": r.mismatches[:5], "stopped": r.stopped,
                 "elapsed_s": round(r.elapsed_s, 6)}
                for r in self.instances
            ],
            "not_run": [str(x) for x in self.not_run],
            "elapsed_s": round(self.elapsed_s, 6),
        }


@dataclass
class ParamProofResult:
    """The verdict, one line per obligation, and the tie to the model (``None``: not run).

    ``covers`` says what the proof is for, by parameter (``{"acceptors": "any", ...}``); the
    ones that are ``"any"`` make the headline's "any number of ...".
    """

    verdict: str
    protocol: str
    covers: Mapping[str, str]
    obligations: list[Obligation] = field(default_factory=list)
    conjuncts: list[str] = field(default_factory=list)
    reason: str = ""
    variant: str | None = None
    timeout_s: float = 60.0
    elapsed_s: float = 0.0
    counterexample: list[str] = field(default_factory=list)
    formulas: str = UNKNOWN  # the verdict on the formulas alone: proved or unknown
    tie: Tie[Any] | None = None

    def to_lines(self) -> list[str]:
        anys = ", ".join(k for k, v in self.covers.items() if v == "any")
        head = f"prove {self.protocol} (parameterized: any number of {anys}): " + self.verdict
        if self.variant:
            head += f" [formula variant {self.variant}]"
        if self.reason:
            head += f" ({self.reason})"
        lines = [head]
        if self.tie is None:
            lines.append("  tie: not run (--no-tie): the verdict is about the formulas; nothing is claimed "
                         "about the model")
        else:
            lines += self.tie.to_lines()
        lines.append(f"  invariant: {' & '.join(self.conjuncts)}")
        lines += [o.line() for o in self.obligations]
        lines.append(f"  total {self.elapsed_s:.3f}s ({len(self.obligations)} z3 queries, "
                     f"timeout {self.timeout_s:g}s each)")
        if self.counterexample:
            lines.append("  counterexample to induction (first failing obligation):")
            lines += ["    " + x for x in self.counterexample]
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.protocol,
            "engine": "prove-parameterized",
            "params": dict(self.covers),
            "variant": self.variant,
            "verdict": self.verdict,
            "reason": self.reason or None,
            "formulas": self.formulas,
            "tied": self.tie is not None and self.tie.ok,
            "tie": None if self.tie is None else self.tie.to_json(),
            "conjuncts": self.conjuncts,
            "obligations": [
                {"name": o.name, "result": o.result, "seconds": round(o.seconds, 6), "stratified": o.stratified}
                for o in self.obligations
            ],
            "counterexample": self.counterexample or None,
            "timeout_s": self.timeout_s,
            "elapsed_s": round(self.elapsed_s, 6),
        }


def with_tie(result: ParamProofResult, tie: Tie[Any] | None) -> ParamProofResult:
    """The verdict on the formulas (``result``) joined with the tie's: a failed tie is ``error``
    whatever z3 said, an untied proof at best ``proved-formulas-only``."""
    result.formulas, result.tie = result.verdict, tie
    if tie is not None and not tie.ok:
        bad = next(r for r in tie.instances if not r.ok)
        args = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in bad.config.model_params().items())
        result.verdict = ERROR
        result.reason = (f"the tie failed: the formulas do not describe {tie.model} at {bad.instance()}; "
                         f"`protoproof check {result.protocol} {args}` on it looks for a reachable violation")
    elif result.formulas == PROVED and tie is None:
        result.verdict = PROVED_FORMULAS_ONLY
        result.reason = "proved for the formulas only: the tie to the model was not run"
    return result


def prove_tied(protocol: str, covers: Mapping[str, str], tie: Callable[[], Tie[Any]] | None,
               formulas: Callable[[], ParamProofResult], *, variant: str | None, timeout_s: float,
               stop_at_first_failure: bool) -> ParamProofResult:
    """A parameterized proof's run: the tie first (``None``: not run), then the z3 obligations
    (``formulas``) unless the tie failed and ``stop_at_first_failure``; the verdict needs both."""
    t0 = time.perf_counter()
    tied = None if tie is None else tie()
    if tied is not None and not tied.ok and stop_at_first_failure:
        result = ParamProofResult(UNKNOWN, protocol, covers, variant=variant, timeout_s=timeout_s)
    else:
        result = formulas()
    with_tie(result, tied)
    result.elapsed_s = time.perf_counter() - t0
    return result


def main_of(prove: Callable[..., ParamProofResult]) -> int:
    """``python -m`` a proof module: the tie's progress on stderr, the result, its exit status."""
    r = prove(progress=lambda line: print(line, file=sys.stderr, flush=True))
    print("\n".join(r.to_lines()))
    return EXIT_BY_VERDICT[r.verdict]
