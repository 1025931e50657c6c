"""The tie of the parameterized Paxos formulas (``paxos_param.py``) to ``models/paxos.py``.

``conform_paxos_param`` maps every reachable state of a Paxos model class on one small
instance to a finite structure of the proof's vocabulary and runs the checks of
``checker/firstorder/tie.py``: (enc) the abstraction is injective and faithful (1a/2a are
broadcast to every acceptor at once, a leader's ``proposed`` flag is "a 2a for my ballot was
sent"), (a) the initial state satisfies ``Init``, (b) every edge satisfies the formula of its
action (or is a stutter), (c) every reachable state satisfies the invariant, and the formula's
``chosen``/``Agreement`` agree with the model's, (d) conversely, for a sample of reachable
states, every successor the transition formulas allow on the finite structure (enumerated with
z3) is the encoding of a concrete successor.  ``paxos_param.TIE_INSTANCES`` says which checks
run at which size: all of them up to 3 acceptors, 2 values, ballots 0..1; (enc), (a) and (b)
at 3 acceptors, 2 values, ballots 0..2 (185,369 states), the smallest size where a quorum's
1bs report votes of two ballots with different values, so that a leader taking the lowest or
any reported vote fails (b); and with one crash, where recovery must be a stutter (acceptors
and leaders persist).  Together they take every guard of the model's handlers both ways.
Every planted-bug variant of the model fails the tie.  On a finite structure (b) evaluates an
action's formula at the parameters the edge's message gives (else the whole existential) and
decides frame conditions by comparing sets; both are exact (``RelState.sets``).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from ..checker.firstorder import EDGES, FULL, Encoding, FiniteLogic, model_name
from ..checker.firstorder import ConformResult as _ConformResult
from ..checker.firstorder import Struct as _Struct
from ..checker.firstorder import conform as _conform
from .paxos_param import (
    ACCEPTOR,
    ACTION_SENDS,
    BALLOT,
    PAXOS,
    QUORUM,
    SYMBOLS,
    VALUE,
    PaxosFormulas,
    State,
    Theory,
    TieInstance,
)


class Struct(_Struct):
    """A finite structure of the Paxos vocabulary.  Element indices: acceptor a is a; ballot k is
    b = k - 1 and value k is v = k - 1, index 0 standing for -1 / None; quorum k is the
    model's k-th quorum."""

    signature = PAXOS


class ConformResult(_ConformResult):
    """The tie on one Paxos instance, with its size as attributes."""

    config: TieInstance

    @property
    def acceptors(self) -> int:
        return self.config.acceptors

    @property
    def values(self) -> int:
        return self.config.values

    @property
    def max_ballot(self) -> int:
        return self.config.max_ballot

    @property
    def ballots(self) -> int:
        return self.config.max_ballot + 1

    @property
    def max_crashes(self) -> int:
        return self.config.max_crashes


_ACTION_OF_EDGE = (("phase1a(", "Phase1a"), ("phase2a(", "Phase2a"), ("msg=OneA(", "Phase1b"), ("msg=TwoA(", "Phase2b"))


def _edge_action(action: Any) -> str | None:
    label = repr(action)
    for key, act in _ACTION_OF_EDGE:
        if key in label:
            return act
    return None


def _witnesses(kind: str, pre: _Struct, post: _Struct) -> list[tuple[int, ...]]:
    """Parameters of ``kind`` that may explain the edge: the message it added (and for Phase1b
    each ballot r with maxBal[a] <= r < b).  Only a shortcut: an edge none of them explains is
    decided by the full existential."""
    i = SYMBOLS.index(ACTION_SENDS[kind])
    added = post.rels[i] - pre.rels[i]
    if kind != "Phase1b":
        return sorted(added)
    bal_gt = pre.rels[SYMBOLS.index("bal_gt")]
    return [(a, b, r, vb, vv) for a, b, vb, vv in sorted(added) for r in range(b) if (a, r) not in bal_gt]


def _encoding(model: Any, miss: list[str], sizes: dict[str, int], qsets: list[frozenset[int]],
              P: PaxosFormulas) -> Encoding:
    """The abstraction of one Paxos instance, checked to be faithful (nothing of the concrete
    state is lost): 1a/2a are broadcast to every acceptor at once, a leader's ``proposed`` flag
    is "a 2a for my ballot was sent", and a down node is an idle one."""
    from ..models.paxos import OneA, OneB, TwoA, TwoB

    n, ballots, values = model.config.acceptors, model.config.max_ballot + 1, model.config.values
    leader = model.leader
    shared: dict[Any, Any] = {}  # one copy of each tuple and relation (185k states fit in memory)

    def intern(x: Any) -> Any:
        return shared.setdefault(x, x)

    def encode_net(s: Any) -> tuple[frozenset[tuple[int, ...]], ...]:
        """one_a, one_b, two_a, two_b and the ballots with a 2a, from the message set."""
        one_a, one_b, two_a, two_b = set(), set(), set(), set()
        one_a_to: dict[int, set[int]] = {}
        two_a_to: dict[tuple[int, int], set[int]] = {}
        for e in s.net:
            m = e.msg
            if type(m) is OneA:
                one_a.add((m.bal + 1,))
                one_a_to.setdefault(m.bal, set()).add(e.dst)
                ok = e.src == leader(m.bal)
            elif type(m) is OneB:
                one_b.add((m.acc, m.bal + 1, m.mbal + 1, 0 if m.mval is None else m.mval + 1))
                ok = e.src == m.acc and e.dst == leader(m.bal)
            elif type(m) is TwoA:
                two_a.add((m.bal + 1, m.val + 1))
                two_a_to.setdefault((m.bal, m.val), set()).add(e.dst)
                ok = e.src == leader(m.bal)
            elif type(m) is TwoB:
                two_b.add((m.acc, m.bal + 1, m.val + 1))
                ok = e.src == m.acc and e.dst == leader(m.bal)
            else:
                ok = False
            if not ok:
                miss.append(f"(enc) envelope {e!r} is not one the encoding expects, in {s!r}")
        full = set(range(n))
        for b, dsts in one_a_to.items():
            if dsts != full:
                miss.append(f"(enc) 1a({b}) sent to {sorted(dsts)} only, not to every acceptor, in {s!r}")
        for bv, dsts in two_a_to.items():
            if dsts != full:
                miss.append(f"(enc) 2a{bv} sent to {sorted(dsts)} only, not to every acceptor, in {s!r}")
        proposed = frozenset((b,) for b, _v in two_a_to)
        return tuple(intern(frozenset(intern(x) for x in r)) for r in (one_a, one_b, two_a, two_b, proposed))

    def encode(s: Any) -> Struct:
        one_a, one_b, two_a, two_b, proposed = encode_net(s)
        for b in range(ballots):
            if s.nodes[leader(b)].proposed != ((b,) in proposed):
                miss.append(f"(enc) leader b{b}: proposed={s.nodes[leader(b)].proposed} but 2a for b{b} sent: "
                            f"{(b,) in proposed}, in {s!r}")
        if any(s.timers):
            miss.append(f"(enc) timers in a Paxos state: {s!r}")
        accs = s.nodes[:n]
        mine = (
            frozenset(intern((a, r)) for a in range(n) for r in range(accs[a].max_bal + 1)),
            frozenset(intern((a, accs[a].max_vbal + 1)) for a in range(n)),
            frozenset(intern((a, 0 if accs[a].max_val is None else accs[a].max_val + 1)) for a in range(n)),
        )
        return Struct((*(intern(r) for r in mine), one_a, one_b, two_a, two_b))

    def forgotten(s: Any) -> Hashable:
        """Paxos.tla has no crashes: crash and recovery must be stutters, which holds when a
        node's durable state is all of its state; which nodes are down and what is on disk are
        put back for the injectivity check."""
        return s.down, s.crashes, s.disk

    def compare(ss: State, s: Any) -> list[str]:
        """The formula's ``chosen`` and ``Agreement`` are the model's."""
        out = []
        chosen = frozenset(v for v in range(values) if P.chosen(ss, v + 1) is True)
        if chosen != model.chosen(s):
            out.append(f"(c) chosen = {sorted(chosen)} by the formula but {sorted(model.chosen(s))} "
                       f"in the model, state {s!r}")
        if (P.agreement(ss) is True) != model.agreement(s):
            out.append(f"(c) agreement differs between formula and model on {s!r}")
        return out

    return Encoding(Struct, sizes, encode, _edge_action, _witnesses, forgotten, compare,
                    theory=f"quorums {[sorted(q) for q in qsets]}")


def conform_paxos_param(acceptors: int = 3, values: int = 2, max_ballot: int = 1, *, variant: str | None = None,
                        formula_variant: str | None = None, converse_sample: int = 150, seed: int = 0,
                        max_successors: int = 64, scope: str = FULL, max_mismatches: int = 20,
                        max_crashes: int = 0, model_class: type | None = None) -> ConformResult:
    """Tie the parameterized formulas to a Paxos model on one small instance.

    ``model_class`` is the ``Paxos`` subclass tied (default ``models.paxos.Paxos``), ``variant``
    one of its planted-bug variants, ``formula_variant`` a wrong transition formula.
    ``scope=EDGES`` checks only the encoding, (a) and (b) (for instances too large for the
    invariant on every state).  ``converse_sample`` reachable states (all if fewer; always the
    initial one) get check (d).  The walk stops after ``max_mismatches`` mismatches.
    ``max_crashes`` > 0 checks that crash and recovery are stutters (the acceptors persist);
    only with ``scope=EDGES``, since a down acceptor has fewer successors than the formulas allow.
    """
    from ..models.paxos import Paxos

    cls = Paxos if model_class is None else model_class
    if not (isinstance(cls, type) and issubclass(cls, Paxos)):
        raise TypeError(f"model_class must be a subclass of models.paxos.Paxos, not {cls!r}")
    if scope not in (FULL, EDGES):
        raise ValueError(f"scope must be {FULL!r} or {EDGES!r}, not {scope!r}")
    if max_crashes and scope != EDGES:
        raise ValueError("max_crashes > 0 needs scope=EDGES: a down acceptor does less than the formulas allow")
    model: Any = cls(acceptors=acceptors, values=values, max_ballot=max_ballot, max_crashes=max_crashes)
    if variant is not None:
        model = model.with_variant(variant)
    inst = TieInstance(acceptors, values, max_ballot, scope, max_crashes, converse_sample)
    res = ConformResult("paxos", inst, variant, formula_variant, model_name(type(model)))
    quorums = list(model.quorum_list)
    sizes = {ACCEPTOR: acceptors, BALLOT: max_ballot + 2, VALUE: values + 1, QUORUM: len(quorums)}
    qsets = [frozenset(q) for q in quorums]
    th = Theory(le=lambda x, y: x <= y, lt=lambda x, y: x < y, member=lambda a, q: a in qsets[q], minus1=0, none=0)
    P = PaxosFormulas(FiniteLogic(sizes), th, formula_variant)
    enc = _encoding(model, res.mismatches, sizes, qsets, P)
    _conform(model, P, enc, res, seed=seed, max_successors=max_successors, max_mismatches=max_mismatches)
    return res
