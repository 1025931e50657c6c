"""The tie of the parameterized Raft election formulas (``raft_param.py``) to ``models/raft.py``.

``conform_raft_param`` maps every reachable state of a Raft model class on one small instance to
a finite structure of the proof's vocabulary (term k is element k - 1; quorum k the k-th
majority) and runs the checks of ``checker/firstorder/tie.py``: (a) the initial state satisfies
``Init``; (b) every edge satisfies the formula of its action or is a stutter of the encoding
(ClientRequest, AdvanceCommitIndex, DuplicateMessage, a follower's log change); (c) every
reachable state satisfies the invariant, and the formula's ElectionSafety is the model's.
(d), the converse, holds only where logs play no part: the formulas forget logs and
votesResponded, so a vote the model denies for an out-of-date log, or a RequestVote to a server
that already answered, is one the formulas allow.  ``converse_sample`` is therefore 0 in
``TIE_INSTANCES`` (only the initial state gets (d)); (b) is the direction the proof needs.  A
``WALKS`` instance checks (enc) (a) (b) on seeded random walks only: edges found wrong there are
real mismatches, but edges no walk takes are not checked.
The encoding forgets on purpose what the formulas do not speak of; injectivity is checked with
it put back (the whole state).
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from typing import Any

from ..checker.firstorder import ConformResult as _ConformResult
from ..checker.firstorder import Encoding, FiniteLogic, Instance, RelState, model_name
from ..checker.firstorder import Struct as _Struct
from ..checker.firstorder import conform as _conform
from .raft_param import NODE, QUORUM, RAFT, TERM, RaftFormulas, Theory

_KINDS = (("restart(", "Restart"), ("timeout(", "Timeout"), ("request_vote(", "RequestVote"),
          ("become_leader(", "BecomeLeader"), ("append_entries(", "AppendEntries"), ("deliver(", "Receive"),
          ("drop(", "Drop"))


class Struct(_Struct):
    """A finite structure of the Raft election vocabulary."""

    signature = RAFT


def _edge_action(action: Any) -> str | None:
    """The formula of a model step; None (only a stutter fits) for the steps the formulas ignore."""
    label = repr(action)
    return next((kind for key, kind in _KINDS if label.startswith(key)), None)


def _witnesses(kind: str, pre: _Struct, post: _Struct) -> list[tuple[int, ...]]:
    """Parameters that may explain an edge, read off the two structures (a shortcut only: an
    edge none of them explains is decided by the full existential)."""
    cur, _cand, leader, _voted, _granted, rvq, _rvp, msg = pre.rels
    term: dict[int, int] = {i: t for i, t in cur}
    nodes = sorted(term)
    if kind == "Receive" or kind == "Drop":
        return [(i, j, tm, term[i])[: 4 if kind == "Receive" else 3] for i, tm in sorted(msg) for j in nodes]
    if kind == "Timeout":
        return [(i, term[i], t1) for i, t1 in sorted(post.rels[0] - cur)]
    if kind == "RequestVote":
        return sorted(post.rels[5] - rvq)
    if kind == "AppendEntries":
        return [(i, j, t) for (i,) in sorted(leader) for j, t in sorted(post.rels[7] - msg)]
    return []


def _encoding(model: Any, P: RaftFormulas, sizes: dict[str, int], qsets: list[frozenset[int]]) -> Encoding:
    from ..models.raft import CANDIDATE, LEADER, RequestVoteRequest, RequestVoteResponse

    n = model.config.servers

    def encode(s: Any) -> Struct:
        nodes = s.nodes[:n]
        rvq, rvp, msg = set(), set(), set()
        for e in model.in_flight(s):
            m, t = e.msg, e.msg.term - 1
            msg.add((e.dst, t))
            if type(m) is RequestVoteRequest:
                rvq.add((e.src, e.dst, t))
            elif type(m) is RequestVoteResponse and m.vote_granted:
                rvp.add((e.src, e.dst, t))
        return Struct((
            frozenset((i, ls.current_term - 1) for i, ls in enumerate(nodes)),
            frozenset((i,) for i, ls in enumerate(nodes) if ls.role == CANDIDATE),
            frozenset((i,) for i, ls in enumerate(nodes) if ls.role == LEADER),
            frozenset((i, ls.voted_for) for i, ls in enumerate(nodes) if ls.voted_for is not None),
            frozenset((i, j) for i, ls in enumerate(nodes) for j in ls.votes_granted),
            frozenset(rvq), frozenset(rvp), frozenset(msg),
        ))

    def forgotten(s: Any) -> Hashable:
        """Logs, commit indexes, nextIndex/matchIndex, votesResponded, the bag's counts."""
        return s

    def compare(ss: RelState, s: Any) -> list[str]:
        if (P.safety(ss) is True) != model.election_safety(s):
            return [f"(c) ElectionSafety differs between formula and model on {s!r}"]
        return []

    return Encoding(Struct, sizes, encode, _edge_action, _witnesses, forgotten, compare,
                    theory=f"quorums {[sorted(q) for q in qsets]}")


def conform_raft_param(inst: Instance, *, variant: str | None = None, formula_variant: str | None = None,
                       model_class: type | None = None, seed: int = 0,
                       max_mismatches: int = 20) -> _ConformResult:
    """Tie the formulas to a Raft model class (default ``models.raft.Raft``, ``variant`` one of
    its planted bugs) on one instance (``Instance.of(scope, converse_sample, servers=...)``)."""
    from ..models.raft import Raft

    cls = Raft if model_class is None else model_class
    if not (isinstance(cls, type) and issubclass(cls, Raft)):
        raise TypeError(f"model_class must be a subclass of models.raft.Raft, not {cls!r}")
    model: Any = cls(**inst.model_params())
    if variant is not None:
        model = model.with_variant(variant)
    c = model.config
    res = _ConformResult("raft", inst, variant, formula_variant, model_name(type(model)))
    majorities = [frozenset(q) for k in range(c.servers // 2 + 1, c.servers + 1)
                  for q in itertools.combinations(range(c.servers), k)]
    sizes = {NODE: c.servers, TERM: c.max_term, QUORUM: len(majorities)}
    th = Theory(le=lambda x, y: x <= y, lt=lambda x, y: x < y, next=lambda x, y: y == x + 1,
                member=lambda a, q: a in majorities[q])
    P = RaftFormulas(FiniteLogic(sizes), th, formula_variant)
    _conform(model, P, _encoding(model, P, sizes, majorities), res, seed=seed, max_mismatches=max_mismatches)
    return res
