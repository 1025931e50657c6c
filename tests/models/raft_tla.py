"""An independent, plain-Python transliteration of Ongaro's raft.tla (/work/wt/raft.tla), for pinning counts.

Written from the TLA+ alone (not from models/raft.py) so that the model's distinct-state count and depth can
be checked against a second reading of the spec, as tests/models/test_paxos.py does for Paxos.tla.

What it is, literally:
- the state is raft.tla's `vars` without the history variables `elections`, `allLogs`, `voterLog`, and
  without the `mlog` field that RequestVoteResponse and AppendEntriesRequest carry only for them (raft.tla:
  "mlog is used as a history variable for the proof"); `mlog=True` keeps that field;
- records are `Rec` (a hashable dict), functions over Server are tuples indexed 0..n-1, sets are frozensets,
  sequences are tuples, `Nil` is None, Value is range(values), terms and indexes are 1-based as in TLA+;
- `messages` is a `Rec` bag (message -> count). This raft.tla's WithoutMessage DELETES a message whose count
  is <= 1 (`[i \\in DOMAIN msgs \\ {m} |-> msgs[i]]`), so no count-0 entry is ever in DOMAIN messages; we do
  the same. (The older ongardie/raft.tla kept count-0 keys, which lets Receive/DropMessage fire on them and
  drive counts negative, an unbounded state space under any CONSTRAINT.)
- each action is a function named as in raft.tla returning its successor states (one per true disjunct);
- `tla_raft` is TLC's BFS with the CONSTRAINT
      (\\A i \\in Server : currentTerm[i] <= T /\\ Len(log[i]) <= L) /\\ (\\A m \\in DOMAIN messages : messages[m] <= C)
  with TLC's semantics: a successor violating it is neither counted nor expanded.
  It returns (distinct states, depth) where depth is the longest shortest path from Init in steps, the
  project's convention (TLC prints this + 1 as "the depth of the complete state graph search").

Measured (servers, values, max_term, max_log, max_copies) -> (distinct, depth), mlog=False:
(1,1,2,1,1) -> (36, 10); (1,1,2,1,2) -> (187, 16); (1,2,2,2,1) -> (122, 11); (1,2,3,2,1) -> (1774, 19)
[mlog=True: (2338, 19)]; (1,1,3,2,2) -> (20842, 30) in ~9 s; (2,1,2,0,1) -> (53253, 30) in ~55 s.
Two servers with max_log >= 1 run past 5 minutes here (the bag of distinct messages explodes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

FOLLOWER, CANDIDATE, LEADER = "Follower", "Candidate", "Leader"
RVQ, RVP, AEQ, AEP = "RequestVoteRequest", "RequestVoteResponse", "AppendEntriesRequest", "AppendEntriesResponse"
Nil = None


class Rec(dict[Any, Any]):
    """A TLA+ record or function value: a dict that is hashable (never mutated after construction)."""

    __slots__ = ("_hash",)

    def __hash__(self) -> int:  # type: ignore[override]
        try:
            return self._hash
        except AttributeError:
            self._hash: int = hash(frozenset(self.items()))
            return self._hash

    def ex(self, **kw: Any) -> Rec:
        """[r EXCEPT !.k = v, ...]"""
        return Rec({**self, **kw})


def at(f: tuple[Any, ...], i: int, v: Any) -> tuple[Any, ...]:
    """[f EXCEPT ![i] = v] for a function over Server."""
    return f[:i] + (v,) + f[i + 1 :]


class Raft:
    """raft.tla for Server = 0..n-1 and Value = 0..values-1."""

    def __init__(self, servers: int, values: int, mlog: bool = False, drop: bool = True, duplicate: bool = True,
                 restart: bool = True) -> None:
        self.Server = range(servers)
        self.Value = range(values)
        self.mlog = mlog
        # Next with (True) or without (False) its DropMessage / DuplicateMessage / Restart disjuncts.
        self.drop, self.duplicate, self.restart = drop, duplicate, restart

    # ---- helpers
    def Quorum(self, s: frozenset[int]) -> bool:
        return len(s) * 2 > len(self.Server)

    @staticmethod
    def LastTerm(xlog: tuple[Rec, ...]) -> int:
        return 0 if len(xlog) == 0 else xlog[-1]["term"]

    @staticmethod
    def WithMessage(m: Rec, msgs: Rec) -> Rec:
        return Rec({**msgs, m: msgs[m] + 1}) if m in msgs else Rec({**msgs, m: 1})

    @staticmethod
    def WithoutMessage(m: Rec, msgs: Rec) -> Rec:
        if m in msgs:
            if msgs[m] <= 1:
                return Rec({k: c for k, c in msgs.items() if k != m})
            return Rec({**msgs, m: msgs[m] - 1})
        return msgs

    def Send(self, s: Rec, m: Rec) -> Rec:
        return s.ex(messages=self.WithMessage(m, s["messages"]))

    def Discard(self, s: Rec, m: Rec) -> Rec:
        return s.ex(messages=self.WithoutMessage(m, s["messages"]))

    def Reply(self, s: Rec, response: Rec, request: Rec) -> Rec:
        return s.ex(messages=self.WithoutMessage(request, self.WithMessage(response, s["messages"])))

    def msg(self, **fields: Any) -> Rec:
        if not self.mlog:
            fields.pop("mlog", None)
        return Rec(fields)

    # ---- Init
    def Init(self) -> Rec:
        n = len(self.Server)
        return Rec(
            messages=Rec(),
            currentTerm=(1,) * n, state=(FOLLOWER,) * n, votedFor=(Nil,) * n,
            votesResponded=(frozenset(),) * n, votesGranted=(frozenset(),) * n,
            nextIndex=((1,) * n,) * n, matchIndex=((0,) * n,) * n,
            log=((),) * n, commitIndex=(0,) * n,
        )

    # ---- actions
    def Restart(self, s: Rec, i: int) -> list[Rec]:
        n = len(self.Server)
        return [s.ex(state=at(s["state"], i, FOLLOWER),
                     votesResponded=at(s["votesResponded"], i, frozenset()),
                     votesGranted=at(s["votesGranted"], i, frozenset()),
                     nextIndex=at(s["nextIndex"], i, (1,) * n),
                     matchIndex=at(s["matchIndex"], i, (0,) * n),
                     commitIndex=at(s["commitIndex"], i, 0))]

    def Timeout(self, s: Rec, i: int) -> list[Rec]:
        if s["state"][i] not in (FOLLOWER, CANDIDATE):
            return []
        return [s.ex(state=at(s["state"], i, CANDIDATE),
                     currentTerm=at(s["currentTerm"], i, s["currentTerm"][i] + 1),
                     votedFor=at(s["votedFor"], i, Nil),
                     votesResponded=at(s["votesResponded"], i, frozenset()),
                     votesGranted=at(s["votesGranted"], i, frozenset()))]

    def RequestVote(self, s: Rec, i: int, j: int) -> list[Rec]:
        if not (s["state"][i] == CANDIDATE and j not in s["votesResponded"][i]):
            return []
        return [self.Send(s, self.msg(mtype=RVQ, mterm=s["currentTerm"][i],
                                      mlastLogTerm=self.LastTerm(s["log"][i]),
                                      mlastLogIndex=len(s["log"][i]), msource=i, mdest=j))]

    def AppendEntries(self, s: Rec, i: int, j: int) -> list[Rec]:
        if not (i != j and s["state"][i] == LEADER):
            return []
        log_i, ni = s["log"][i], s["nextIndex"][i][j]
        prevLogIndex = ni - 1
        prevLogTerm = log_i[prevLogIndex - 1]["term"] if prevLogIndex > 0 else 0
        lastEntry = min(len(log_i), ni)
        entries = tuple(log_i[ni - 1 : lastEntry])  # SubSeq(log[i], nextIndex[i][j], lastEntry)
        return [self.Send(s, self.msg(mtype=AEQ, mterm=s["currentTerm"][i], mprevLogIndex=prevLogIndex,
                                      mprevLogTerm=prevLogTerm, mentries=entries, mlog=log_i,
                                      mcommitIndex=min(s["commitIndex"][i], lastEntry), msource=i, mdest=j))]

    def BecomeLeader(self, s: Rec, i: int) -> list[Rec]:
        if not (s["state"][i] == CANDIDATE and self.Quorum(s["votesGranted"][i])):
            return []
        n = len(self.Server)
        return [s.ex(state=at(s["state"], i, LEADER),
                     nextIndex=at(s["nextIndex"], i, (len(s["log"][i]) + 1,) * n),
                     matchIndex=at(s["matchIndex"], i, (0,) * n))]

    def ClientRequest(self, s: Rec, i: int, v: int) -> list[Rec]:
        if s["state"][i] != LEADER:
            return []
        entry = Rec(term=s["currentTerm"][i], value=v)
        return [s.ex(log=at(s["log"], i, s["log"][i] + (entry,)))]

    def AdvanceCommitIndex(self, s: Rec, i: int) -> list[Rec]:
        if s["state"][i] != LEADER:
            return []
        log_i = s["log"][i]

        def Agree(index: int) -> frozenset[int]:
            return frozenset({i} | {k for k in self.Server if s["matchIndex"][i][k] >= index})

        agreeIndexes = {index for index in range(1, len(log_i) + 1) if self.Quorum(Agree(index))}
        if agreeIndexes and log_i[max(agreeIndexes) - 1]["term"] == s["currentTerm"][i]:
            newCommitIndex = max(agreeIndexes)
        else:
            newCommitIndex = s["commitIndex"][i]
        return [s.ex(commitIndex=at(s["commitIndex"], i, newCommitIndex))]

    # ---- message handlers (i = recipient, j = sender)
    def HandleRequestVoteRequest(self, s: Rec, i: int, j: int, m: Rec) -> list[Rec]:
        log_i = s["log"][i]
        logOk = (m["mlastLogTerm"] > self.LastTerm(log_i)
                 or (m["mlastLogTerm"] == self.LastTerm(log_i) and m["mlastLogIndex"] >= len(log_i)))
        grant = m["mterm"] == s["currentTerm"][i] and logOk and s["votedFor"][i] in (Nil, j)
        if not m["mterm"] <= s["currentTerm"][i]:
            return []
        t = s.ex(votedFor=at(s["votedFor"], i, j)) if grant else s
        return [self.Reply(t, self.msg(mtype=RVP, mterm=s["currentTerm"][i], mvoteGranted=grant, mlog=log_i,
                                       msource=i, mdest=j), m)]

    def HandleRequestVoteResponse(self, s: Rec, i: int, j: int, m: Rec) -> list[Rec]:
        if m["mterm"] != s["currentTerm"][i]:
            return []
        t = s.ex(votesResponded=at(s["votesResponded"], i, s["votesResponded"][i] | {j}))
        if m["mvoteGranted"]:
            t = t.ex(votesGranted=at(s["votesGranted"], i, s["votesGranted"][i] | {j}))
        return [self.Discard(t, m)]

    def HandleAppendEntriesRequest(self, s: Rec, i: int, j: int, m: Rec) -> list[Rec]:
        log_i, term_i, state_i = s["log"][i], s["currentTerm"][i], s["state"][i]
        logOk = (m["mprevLogIndex"] == 0
                 or (0 < m["mprevLogIndex"] <= len(log_i)
                     and m["mprevLogTerm"] == log_i[m["mprevLogIndex"] - 1]["term"]))
        if not m["mterm"] <= term_i:
            return []
        out = []
        if m["mterm"] < term_i or (m["mterm"] == term_i and state_i == FOLLOWER and not logOk):  # reject
            out.append(self.Reply(s, self.msg(mtype=AEP, mterm=term_i, msuccess=False, mmatchIndex=0,
                                              msource=i, mdest=j), m))
        if m["mterm"] == term_i and state_i == CANDIDATE:  # return to follower state
            out.append(s.ex(state=at(s["state"], i, FOLLOWER)))
        if m["mterm"] == term_i and state_i == FOLLOWER and logOk:  # accept request
            index = m["mprevLogIndex"] + 1
            entries = m["mentries"]
            if entries == () or (len(log_i) >= index and log_i[index - 1]["term"] == entries[0]["term"]):
                # already done with request
                t = s.ex(commitIndex=at(s["commitIndex"], i, m["mcommitIndex"]))
                out.append(self.Reply(t, self.msg(mtype=AEP, mterm=term_i, msuccess=True,
                                                  mmatchIndex=m["mprevLogIndex"] + len(entries),
                                                  msource=i, mdest=j), m))
            if entries != () and len(log_i) >= index and log_i[index - 1]["term"] != entries[0]["term"]:
                # conflict: remove 1 entry
                out.append(s.ex(log=at(s["log"], i, log_i[: len(log_i) - 1])))
            if entries != () and len(log_i) == m["mprevLogIndex"]:  # no conflict: append entry
                out.append(s.ex(log=at(s["log"], i, log_i + (entries[0],))))
        return out

    def HandleAppendEntriesResponse(self, s: Rec, i: int, j: int, m: Rec) -> list[Rec]:
        if m["mterm"] != s["currentTerm"][i]:
            return []
        ni, mi = s["nextIndex"][i], s["matchIndex"][i]
        if m["msuccess"]:
            t = s.ex(nextIndex=at(s["nextIndex"], i, at(ni, j, m["mmatchIndex"] + 1)),
                     matchIndex=at(s["matchIndex"], i, at(mi, j, m["mmatchIndex"])))
        else:
            t = s.ex(nextIndex=at(s["nextIndex"], i, at(ni, j, max(ni[j] - 1, 1))))
        return [self.Discard(t, m)]

    def UpdateTerm(self, s: Rec, i: int, j: int, m: Rec) -> list[Rec]:
        if not m["mterm"] > s["currentTerm"][i]:
            return []
        return [s.ex(currentTerm=at(s["currentTerm"], i, m["mterm"]), state=at(s["state"], i, FOLLOWER),
                     votedFor=at(s["votedFor"], i, Nil))]

    def DropStaleResponse(self, s: Rec, i: int, j: int, m: Rec) -> list[Rec]:
        if not m["mterm"] < s["currentTerm"][i]:
            return []
        return [self.Discard(s, m)]

    def Receive(self, s: Rec, m: Rec) -> list[Rec]:
        i, j = m["mdest"], m["msource"]
        out = self.UpdateTerm(s, i, j, m)
        if m["mtype"] == RVQ:
            out += self.HandleRequestVoteRequest(s, i, j, m)
        if m["mtype"] == RVP:
            out += self.DropStaleResponse(s, i, j, m) + self.HandleRequestVoteResponse(s, i, j, m)
        if m["mtype"] == AEQ:
            out += self.HandleAppendEntriesRequest(s, i, j, m)
        if m["mtype"] == AEP:
            out += self.DropStaleResponse(s, i, j, m) + self.HandleAppendEntriesResponse(s, i, j, m)
        return out

    # ---- network
    def DuplicateMessage(self, s: Rec, m: Rec) -> list[Rec]:
        return [self.Send(s, m)]

    def DropMessage(self, s: Rec, m: Rec) -> list[Rec]:
        return [self.Discard(s, m)]

    def Next(self, s: Rec) -> Iterator[tuple[str, Rec]]:
        """(action family, successor) for every disjunct of Next enabled in s."""
        S, msgs = self.Server, tuple(s["messages"])
        steps: list[tuple[str, Callable[..., list[Rec]], tuple[Any, ...]]] = (
            [("Restart", self.Restart, (i,)) for i in S if self.restart]
            + [("Timeout", self.Timeout, (i,)) for i in S]
            + [("RequestVote", self.RequestVote, (i, j)) for i in S for j in S]
            + [("BecomeLeader", self.BecomeLeader, (i,)) for i in S]
            + [("ClientRequest", self.ClientRequest, (i, v)) for i in S for v in self.Value]
            + [("AdvanceCommitIndex", self.AdvanceCommitIndex, (i,)) for i in S]
            + [("AppendEntries", self.AppendEntries, (i, j)) for i in S for j in S]
            + [("Receive", self.Receive, (m,)) for m in msgs]
            + [("DuplicateMessage", self.DuplicateMessage, (m,)) for m in msgs if self.duplicate]
            + [("DropMessage", self.DropMessage, (m,)) for m in msgs if self.drop]
        )
        for name, action, args in steps:
            for t in action(s, *args):
                yield name, t


def tla_raft(servers: int, values: int, max_term: int, max_log: int, max_copies: int,
             mlog: bool = False, drop: bool = True, duplicate: bool = True, restart: bool = True,
             max_depth: int | None = None, max_messages: int | None = None) -> tuple[int, int]:
    """TLC's BFS of raft.tla under the CONSTRAINT in the module docstring: (distinct states, depth).
    ``drop``/``duplicate``/``restart`` False: Next without DropMessage/DuplicateMessage/Restart.
    ``max_depth``: only the states within that many steps of Init (TLC's ``-depth`` is for
    simulation; this is BFS cut after that many levels), for sizes whose whole space is too large.
    ``max_messages`` M: the CONSTRAINT also has ``BagCardinality(messages) <= M`` (Bags: the sum of
    the counts)."""
    spec = Raft(servers, values, mlog, drop, duplicate, restart)

    def BagCardinality(b: Rec) -> int:
        return sum(b.values())

    def constraint(s: Rec) -> bool:
        return (all(s["currentTerm"][i] <= max_term and len(s["log"][i]) <= max_log for i in spec.Server)
                and all(c <= max_copies for c in s["messages"].values())
                and (max_messages is None or BagCardinality(s["messages"]) <= max_messages))

    init = spec.Init()
    assert constraint(init)
    seen, level, depth = {init}, [init], 0
    while level and (max_depth is None or depth < max_depth):
        nxt = []
        for s in level:
            for _, t in spec.Next(s):
                if t not in seen and constraint(t):
                    seen.add(t)
                    nxt.append(t)
        if nxt:
            depth += 1
        level = nxt
    return len(seen), depth


if __name__ == "__main__":  # python tests/models/raft_tla.py N V T L C [no-drop] [no-duplicate] [no-restart] [M]
    import sys

    n, v, t, lg, c = (int(a) for a in sys.argv[1:6])
    off = set(sys.argv[6:])
    bound = [int(a) for a in off if a.isdigit()]
    print(tla_raft(n, v, t, lg, c, drop="no-drop" not in off, duplicate="no-duplicate" not in off,
                   restart="no-restart" not in off, max_messages=bound[0] if bound else None))
