"""The mutants of 2PC, Paxos and the replicated log: each a small subclass of the shipped model, applied in memory.

A mutant is one plausible mistake (a dropped or weakened guard, a wrong quorum size, a wrong
vote selection, a state regression, missing persistence, a property written with ``is`` or
``isinstance``), written as a node or model subclass that overrides one method, the way the
planted variants at the bottom of ``models/twophase.py`` and ``models/paxos.py`` are.  Nothing
is text-patched, so a mutant cannot rot silently: if the method it overrides is renamed, the
mutant stops compiling or stops being caught, and the suite says so.

Every mutant names the ``@always`` property it breaks and the configuration (always explicit:
defaults move) at which ``check`` finds the violation.  Benign mutants keep the protocol correct
and must still be proved: they test that the engines do not cry wolf.  Neither kind is registered
with ``@variant``, so ``protoproof list`` does not show them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from protoproof.models.actors import Broadcast, Effect, Envelope, Persist, Send
from protoproof.models.base import Model, always, transition
from protoproof.models.environment import Clock
from protoproof.models.paxos import Acc, Acceptor, Ldr, Leader, OneA, OneB, Paxos, TwoA, TwoB
from protoproof.models.replog import RL, Replog, is_prefix
from protoproof.models.replog_nodes import Append, Follower, FollowerState, LeaderState, NewEpoch, ReplogNodes
from protoproof.models.replog_nodes import Leader as LogLeader
from protoproof.models.tcommit import ABORTED, COMMITTED, PREPARED, WORKING
from protoproof.models.twophase import INIT, TM, Abort, Prepared, ResourceManager, TransactionManager, TwoPhase
from protoproof.tests.models.envmodels import LeakyPartitions, Leases

Out = tuple[Any, Sequence[Effect]] | None

#: Engines, in table order.  ``prove`` uses the shipped strengthening (``proofs.strengthening_for``),
#: ``prove-sym`` the same up to symmetry (``prove --symmetry``: one query per orbit of actions),
#: ``prove-bare`` none (``prove --no-strengthening``), ``param`` is ``prove paxos --parameterized``
#: tied to the mutant (``prove_paxos_param(model_class=...)``).
CHECK, BMC, PROVE, PROVE_SYM, PROVE_BARE, PARAM = "check", "bmc", "prove", "prove-sym", "prove-bare", "param"
#: ``bmc --one-query``: every step unrolled to the bug's depth, one query for any depth.
BMC_ONCE = "bmc-once"
#: ``bmc --waypoint True``: leg 1 ends in an initial state, leg 2 is BMC from that one state to the
#: bug's depth (the legs' own unrolling, blocking and replay; another state tried on a miss).
BMC_WAY = "bmc-way"
ENGINES = (CHECK, BMC, BMC_ONCE, BMC_WAY, PROVE, PROVE_SYM, PROVE_BARE, PARAM)
TWOPHASE_ENGINES = (CHECK, BMC, BMC_ONCE, BMC_WAY, PROVE, PROVE_SYM, PROVE_BARE)
PAXOS_ENGINES = ENGINES
#: The replicated log declares no symmetry: no ``prove --symmetry``.
REPLOG_ENGINES = (CHECK, BMC, BMC_ONCE, BMC_WAY, PROVE, PROVE_BARE)
#: The parameterized proof models Paxos.tla, which has no crashes: it cannot speak of persistence.
PAXOS_CRASH_ENGINES = TWOPHASE_ENGINES

#: Kinds of mistake.  Only for PROPERTY mutants does a z3 engine's model error count as a catch:
#: refusing a property it cannot evaluate (``x is CONST``) is exactly the right answer there.
GUARD, QUORUM, VOTES, REGRESSION, PERSISTENCE, PROPERTY = (
    "guard", "quorum", "vote selection", "state regression", "persistence", "property")
#: A mistake in the framework's environment (clocks, partitions), shown on the models of
#: ``tests/models/envmodels.py`` that depend on it.
ENVIRONMENT = "environment"
#: A wrong index or slice bound into a log (``Seq`` state: the z3 engines index symbolically).
SEQUENCE = "sequence index"


@dataclass(frozen=True)
class Mutant:
    """One mistake: the class that makes it, where ``check`` finds it, which engines must refute it."""

    name: str
    bug: str  # one line
    model: type[Model[Any]]
    params: dict[str, int]  # the configuration at which ``check`` finds the violation
    breaks: str  # the @always property
    kind: str
    engines: tuple[str, ...]
    #: bmc is unrolled on z3 at most this deep (None: to the length of check's counterexample).  A
    #: bug deeper than the cap is unrolled on CaDiCaL instead (``bmc --solver cadical``).
    bmc_cap: int | None = None
    #: Whether the CI's fast subset runs bmc too (every mutant gets check, prove, prove-bare, param).
    #: False where bmc to the bug's depth took over ~5 s on a loaded 2-core machine (Paxos at depth
    #: 10..13 took 6..48 s; with a crash, depth 14 more than 3 minutes).
    bmc_in_ci: bool = True

    def build(self) -> Model[Any]:
        return self.model(**self.params)


@dataclass(frozen=True)
class Benign:
    """A change that keeps the protocol correct: ``check`` must exhaust it and ``must_prove`` prove it."""

    name: str
    change: str
    why_correct: str
    model: type[Model[Any]]
    params: dict[str, int]
    must_prove: tuple[str, ...] = (PROVE,)
    #: Engines run and shown but not required (with the reason a "not proved" is honest there).
    reported: dict[str, str] = field(default_factory=dict)
    bmc_depth: int = 8

    def build(self) -> Model[Any]:
        return self.model(**self.params)


# ======================================================================================
# 2PC
# ======================================================================================

TP = {"rms": 3, "max_crashes": 0}
TP_CRASH = {"rms": 2, "max_crashes": 1}


class _TmNoVotes(TransactionManager):
    def can_commit(self, s: TM) -> bool:
        return s.state == INIT


class TmCommitsWithoutVotes(TwoPhase):
    tm_class = _TmNoVotes


class _TmMajority(TransactionManager):
    def can_commit(self, s: TM) -> bool:
        return s.state == INIT and 2 * len(s.prepared) > self.rms


class TmCommitsOnMajority(TwoPhase):
    tm_class = _TmMajority


class _TmOneShort(TransactionManager):
    def can_commit(self, s: TM) -> bool:
        return s.state == INIT and len(s.prepared) >= self.rms - 1


class TmCommitsOneVoteShort(TwoPhase):
    tm_class = _TmOneShort


class _TmCommitAfterAbort(TransactionManager):
    def can_commit(self, s: TM) -> bool:
        return len(s.prepared) == self.rms


class TmCommitsAfterAborting(TwoPhase):
    tm_class = _TmCommitAfterAbort


class _TmAbortAfterCommit(TransactionManager):
    def abort(self, s: TM) -> Out:
        return TM(ABORTED, s.prepared), (Persist(), Broadcast(tuple(range(self.rms)), Abort()))


class TmAbortsAfterCommitting(TwoPhase):
    tm_class = _TmAbortAfterCommit


class _TmOneVoteForAll(TransactionManager):
    def on_message(self, s: TM, src: int, msg: Any) -> Out:
        if type(msg) is Prepared and s.state == INIT:
            return TM(s.state, frozenset(range(self.rms))), ()
        return None


class TmCountsOneVoteForAll(TwoPhase):
    tm_class = _TmOneVoteForAll


class _RmAbortsPrepared(ResourceManager):
    def choose_to_abort(self, s: str) -> Out:
        if s not in (WORKING, PREPARED):
            return None
        return ABORTED, (Persist(),)


class RmAbortsAfterVoting(TwoPhase):
    rm_class = _RmAbortsPrepared


class _RmWithdraws(ResourceManager):
    @transition()
    def withdraw(self, s: str) -> Out:
        if s != PREPARED:
            return None
        return WORKING, (Persist(),)


class RmReturnsToWorking(TwoPhase):
    rm_class = _RmWithdraws


class _RmCommitsEarly(ResourceManager):
    def prepare(self, s: str) -> Out:
        if s != WORKING:
            return None
        return COMMITTED, (Persist(), Send(self.tm, Prepared(self.id)))


class RmCommitsWhenVoting(TwoPhase):
    rm_class = _RmCommitsEarly


class _RmVolatileVote(ResourceManager):
    def prepare(self, s: str) -> Out:
        if s != WORKING:
            return None
        return PREPARED, (Send(self.tm, Prepared(self.id)),)


class RmVoteNotPersisted(TwoPhase):
    rm_class = _RmVolatileVote


class _RmAmnesiac(ResourceManager):
    def on_recover(self, disk: str) -> tuple[str, Sequence[Effect]]:
        return WORKING, ()


class RmRecoversAsWorking(TwoPhase):
    rm_class = _RmAmnesiac


class _TmVolatileDecision(TransactionManager):
    def durable(self, s: TM) -> TM:
        return TM(INIT, frozenset())


class TmDecisionNotPersisted(TwoPhase):
    tm_class = _TmVolatileDecision


# ----- 2PC property mutants: the TM commits without votes, and atomicity is miswritten -----


class AtomicityWithIs(TmCommitsWithoutVotes):
    @always
    def atomicity(self, s: Any) -> bool:
        """No RM committed while another aborted (written with `is`)."""
        rms = self.rm_states(s)
        return not (any(r is ABORTED for r in rms) and any(r is COMMITTED for r in rms))


class AtomicityWithIsNot(TmCommitsWithoutVotes):
    @always
    def atomicity(self, s: Any) -> bool:
        """No RM committed while another aborted (written with `is not`)."""
        rms = self.rm_states(s)
        return all(r is not ABORTED for r in rms) or all(r is not COMMITTED for r in rms)


class AtomicityWithIsinstance(TmCommitsWithoutVotes):
    @always
    def atomicity(self, s: Any) -> bool:
        """No RM committed while another aborted (guarded by isinstance)."""
        rms = self.rm_states(s)
        aborted = any(isinstance(r, str) and r == ABORTED for r in rms)
        committed = any(isinstance(r, str) and r == COMMITTED for r in rms)
        return not (aborted and committed)


class AtomicitySwallowsTypeError(TmCommitsWithoutVotes):
    @always
    def atomicity(self, s: Any) -> bool:
        """No RM committed while another aborted (a set of the states, unhashable ones skipped)."""
        try:
            seen = set(self.rm_states(s))
        except TypeError:  # the mistake: it swallowed the engine's refusal when SymbolicError was a TypeError
            return True
        return not (ABORTED in seen and COMMITTED in seen)


# ======================================================================================
# Paxos
# ======================================================================================

PX = {"acceptors": 3, "values": 2, "max_ballot": 1, "max_crashes": 0}
#: Where a 1b can report votes of two different ballots: the vote-selection mutants need it.
PX2 = {"acceptors": 3, "values": 2, "max_ballot": 2, "max_crashes": 0}
#: bmc at PX2 to depth 17 (where the vote-selection bugs are) ran 9 minutes without an answer on
#: integers; on bit-vectors z3 takes 168 s wall and CaDiCaL 37 s (``benchmarks/bmc_solvers.py --deep``),
#: so beyond the cap the runner unrolls on CaDiCaL.
PX2_BMC_CAP = 12
#: bmc at PX_CRASH to depth 14 (acceptor-vote-not-persisted) took 562 s on integers; on bit-vectors z3
#: takes 11.5 s and CaDiCaL 7.6 s (``benchmarks/bmc_solvers.py``), on CaDiCaL beyond the cap.
PX_CRASH_BMC_CAP = 12
PX_CRASH = {"acceptors": 3, "values": 2, "max_ballot": 1, "max_crashes": 1}
PX0_CRASH = {"acceptors": 3, "values": 2, "max_ballot": 0, "max_crashes": 1}


class _LowestVote(Leader):
    def value_ok(self, votes: list[Any], v: int) -> bool:
        return not votes or any(m.mval == v and all(m.mbal <= mm.mbal for mm in votes) for m in votes)


class LeaderPicksLowestVote(Paxos):
    leader_class = _LowestVote


class _AnyVote(Leader):
    def value_ok(self, votes: list[Any], v: int) -> bool:
        return not votes or any(m.mval == v for m in votes)


class LeaderPicksAnyVote(Paxos):
    leader_class = _AnyVote


class _IgnoresBallot0(Leader):
    def quorum_allows(self, ones: list[Any], q: frozenset[int], v: int) -> bool:
        q1b = [m for m in ones if m.acc in q]
        return {m.acc for m in q1b} == q and self.value_ok([m for m in q1b if m.mbal >= 1], v)


class LeaderIgnoresBallot0Votes(Paxos):
    leader_class = _IgnoresBallot0


class _IgnoresVotes(Leader):
    def value_ok(self, votes: list[Any], v: int) -> bool:
        return True


class LeaderIgnoresVotes(Paxos):
    leader_class = _IgnoresVotes


class _NoQuorum(Leader):
    def quorum_allows(self, ones: list[Any], q: frozenset[int], v: int) -> bool:
        q1b = [m for m in ones if m.acc in q]
        return self.value_ok([m for m in q1b if m.mbal >= 0], v)


class LeaderProposesWithoutQuorum(Paxos):
    leader_class = _NoQuorum


class _OneShort(Leader):
    def quorum_allows(self, ones: list[Any], q: frozenset[int], v: int) -> bool:
        q1b = [m for m in ones if m.acc in q]
        return len({m.acc for m in q1b}) >= len(q) - 1 and self.value_ok([m for m in q1b if m.mbal >= 0], v)


class LeaderWaitsForOne1bTooFew(Paxos):
    leader_class = _OneShort


class QuorumsOfHalf(Paxos):
    check_quorums = False

    def quorums(self) -> list[frozenset[int]]:
        import itertools

        n = self.config.acceptors
        return [frozenset(q) for q in itertools.combinations(range(n), n // 2)]


class _Twice(Leader):
    def may_propose(self, s: Ldr) -> bool:
        return True


class LeaderProposesTwice(Paxos):
    leader_class = _Twice


class _Eager(Acceptor):
    def accepts(self, s: Acc, bal: int) -> bool:
        return True


class AcceptorAcceptsBelowPromise(Paxos):
    acceptor_class = _Eager


class _ForgetsPromise(Acceptor):
    def on_message(self, s: Acc, src: int, msg: Any) -> Out:
        if type(msg) is OneA:
            if msg.bal > s.max_bal:
                reply = OneB(self.id, msg.bal, s.max_vbal, s.max_val)
                return s, (*self.persist(), Send(self.leader(msg.bal), reply))
            return None
        return super().on_message(s, src, msg)


class AcceptorDoesNotRecordPromise(Paxos):
    acceptor_class = _ForgetsPromise


class _LowersPromise(Acceptor):
    def on_message(self, s: Acc, src: int, msg: Any) -> Out:
        if type(msg) is OneA and msg.bal < s.max_bal:
            return Acc(msg.bal, s.max_vbal, s.max_val), (*self.persist(),)
        return super().on_message(s, src, msg)


class AcceptorLowersPromise(Paxos):
    acceptor_class = _LowersPromise


class _HidesVote(Acceptor):
    def on_message(self, s: Acc, src: int, msg: Any) -> Out:
        if type(msg) is OneA:
            if msg.bal > s.max_bal:
                reply = OneB(self.id, msg.bal, -1, None)
                return Acc(msg.bal, s.max_vbal, s.max_val), (*self.persist(), Send(self.leader(msg.bal), reply))
            return None
        return super().on_message(s, src, msg)


class AcceptorReportsNoVote(Paxos):
    acceptor_class = _HidesVote


class _VolatileAcceptor(Acceptor):
    def persist(self) -> tuple[Effect, ...]:
        return ()


class AcceptorNotPersisted(Paxos):
    acceptor_class = _VolatileAcceptor


class _ForgetsVote(Acceptor):
    def durable(self, s: Acc) -> Acc:
        return Acc(s.max_bal, -1, None)


class AcceptorVoteNotPersisted(Paxos):
    acceptor_class = _ForgetsVote


class _ForgetsProposal(Leader):
    def durable(self, s: Ldr) -> Ldr:
        return Ldr(False)


class LeaderProposalNotPersisted(Paxos):
    leader_class = _ForgetsProposal


class AgreementWithIsTrue(LeaderIgnoresVotes):
    @always
    def agreement(self, s: Any) -> bool:
        """No two different values are chosen (votes tested with `is True`)."""
        values = range(self.config.values)

        def voted(a: int, b: int, v: int) -> bool:
            return (Envelope(a, self.leader(b), TwoB(a, b, v)) in s.net) is True

        chosen = [v for v in values
                  if any(all(voted(a, b, v) for a in q) for q in self.quorum_list for b in self.ballots())]
        return len(chosen) <= 1


# ----- the environment ------------------------------------------------------------------

LEASES = {"clients": 2, "lease": 5, "margin": 4, "drift": 1, "max_time": 4}


@dataclass(frozen=True)
class _NoFloor(Clock):
    def floor(self, now: Any) -> Any:
        return 0


class TickLeavesClocksBehind(Leases):
    def clock(self) -> Clock:
        return _NoFloor(self.config.max_time, self.config.drift)


@dataclass(frozen=True)
class _NoCeiling(Clock):
    def may_advance(self, clock: Any, now: Any) -> Any:
        return True


class ClockRunsAhead(Leases):
    def clock(self) -> Clock:
        return _NoCeiling(self.config.max_time, self.config.drift)


# ======================================================================================
# The catalogue
# ======================================================================================
# the replicated log (Seq state)
# ======================================================================================

RLOG = {"followers": 2, "maxlen": 3, "values": 2}


class CopyIndexOffByOne(Replog):
    def next_entry(self, s: RL, f: int) -> int:
        return s.leader[len(s.logs[f]) - 1]


class CopySliceSkipsAnEntry(Replog):
    def copy(self, s: RL, f: int) -> RL | None:
        log = s.logs[f]
        if not (len(log) < len(s.leader) and is_prefix(log, s.leader)):
            return None
        return self._acked(s, f, log + s.leader[len(log) + 1 : len(log) + 2])


# ----- the replicated log as nodes (epochs) -----

RNODES = {"followers": 1, "maxlen": 2, "values": 2, "max_epoch": 1}


class _FollowerAppendsStaleEntries(Follower):
    def on_message(self, s: FollowerState, src: int, msg: Any) -> Out:
        if type(msg) is Append and msg.epoch < s.epoch:  # an entry of an epoch it left, as if current
            msg = Append(s.epoch, msg.idx, msg.val)
        return super().on_message(s, src, msg)


class FollowerAppendsStaleEntries(ReplogNodes):
    follower_class = _FollowerAppendsStaleEntries


class _FollowerAppendsPastItsEnd(Follower):
    def on_message(self, s: FollowerState, src: int, msg: Any) -> Out:
        if type(msg) is Append and msg.epoch == s.epoch and msg.idx > len(s.log):  # leaves a gap
            msg = Append(s.epoch, len(s.log), msg.val)
        return super().on_message(s, src, msg)


class FollowerAppendsPastItsEnd(ReplogNodes):
    follower_class = _FollowerAppendsPastItsEnd


class _LeaderAnnouncesItsLength(LogLeader):
    def announce(self, s: LeaderState, f: int) -> Out:
        if s.epoch == 0:
            return None
        return s, (Send(f, NewEpoch(s.epoch, len(s.log))),)  # the log's length, not the commit index


class LeaderAnnouncesItsLength(ReplogNodes):
    leader_class = _LeaderAnnouncesItsLength


class _FollowerCutsToNothing(Follower):
    def cut(self, log: tuple[Any, ...], commit: int) -> tuple[Any, ...]:
        return ()


class FollowerCutsToNothing(ReplogNodes):
    follower_class = _FollowerCutsToNothing


class _FollowerDoesNotReack(Follower):
    def on_message(self, s: FollowerState, src: int, msg: Any) -> Out:
        if type(msg) is Append and msg.epoch == s.epoch and msg.idx < len(s.log):
            return None
        return super().on_message(s, src, msg)


class FollowerDoesNotReack(ReplogNodes):
    follower_class = _FollowerDoesNotReack


# ======================================================================================

MUTANTS: list[Mutant] = [
    # ----- 2PC -----
    Mutant("tm-commits-without-votes", "the TM commits without waiting for any Prepared",
           TmCommitsWithoutVotes, TP, "atomicity", GUARD, TWOPHASE_ENGINES),
    Mutant("tm-commits-on-majority", "the TM commits once a majority of RMs prepared",
           TmCommitsOnMajority, TP, "atomicity", QUORUM, TWOPHASE_ENGINES),
    Mutant("tm-commits-one-vote-short", "the TM commits with all but one RM prepared (off by one)",
           TmCommitsOneVoteShort, TP, "atomicity", QUORUM, TWOPHASE_ENGINES),
    Mutant("tm-commits-after-aborting", "the TM's commit guard drops `state == init`: it commits after aborting",
           TmCommitsAfterAborting, TP, "atomicity", GUARD, TWOPHASE_ENGINES),
    Mutant("tm-aborts-after-committing", "the TM's abort guard is dropped: it aborts after committing",
           TmAbortsAfterCommitting, TP, "atomicity", GUARD, TWOPHASE_ENGINES),
    Mutant("tm-counts-one-vote-for-all", "on one Prepared the TM records every RM as prepared",
           TmCountsOneVoteForAll, TP, "atomicity", QUORUM, TWOPHASE_ENGINES),
    Mutant("rm-aborts-after-voting", "an RM may choose to abort while prepared, not only while working",
           RmAbortsAfterVoting, TP, "atomicity", GUARD, TWOPHASE_ENGINES),
    Mutant("rm-returns-to-working", "a prepared RM may withdraw its vote and go back to working",
           RmReturnsToWorking, TP, "atomicity", REGRESSION, TWOPHASE_ENGINES),
    Mutant("rm-commits-when-voting", "an RM commits at once when it votes Prepared",
           RmCommitsWhenVoting, TP, "atomicity", REGRESSION, TWOPHASE_ENGINES),
    Mutant("rm-vote-not-persisted", "an RM sends Prepared without persisting it; after a crash it may abort",
           RmVoteNotPersisted, TP_CRASH, "atomicity", PERSISTENCE, TWOPHASE_ENGINES),
    Mutant("rm-recovers-as-working", "an RM ignores its disk on recovery and restarts working",
           RmRecoversAsWorking, TP_CRASH, "atomicity", PERSISTENCE, TWOPHASE_ENGINES),
    Mutant("tm-decision-not-persisted", "the TM's disk keeps no decision; after a crash it may decide again",
           TmDecisionNotPersisted, TP_CRASH, "atomicity", PERSISTENCE, TWOPHASE_ENGINES),
    Mutant("atomicity-written-with-is", "TM commits without votes; atomicity tests `r is ABORTED`",
           AtomicityWithIs, TP, "atomicity", PROPERTY, TWOPHASE_ENGINES),
    Mutant("atomicity-written-with-is-not", "TM commits without votes; atomicity tests `r is not ABORTED`",
           AtomicityWithIsNot, TP, "atomicity", PROPERTY, TWOPHASE_ENGINES),
    Mutant("atomicity-written-with-isinstance", "TM commits without votes; atomicity tests `isinstance(r, str)`",
           AtomicityWithIsinstance, TP, "atomicity", PROPERTY, TWOPHASE_ENGINES),
    Mutant("atomicity-swallows-type-error", "TM commits without votes; atomicity returns True on a TypeError",
           AtomicitySwallowsTypeError, TP, "atomicity", PROPERTY, TWOPHASE_ENGINES),
    # ----- Paxos -----
    Mutant("leader-picks-lowest-vote", "the leader proposes the value of the lowest-ballot reported vote",
           LeaderPicksLowestVote, PX2, "agreement", VOTES, PAXOS_ENGINES, bmc_cap=PX2_BMC_CAP, bmc_in_ci=False),
    Mutant("leader-picks-any-vote", "the leader proposes the value of any reported vote",
           LeaderPicksAnyVote, PX2, "agreement", VOTES, PAXOS_ENGINES, bmc_cap=PX2_BMC_CAP, bmc_in_ci=False),
    Mutant("leader-ignores-ballot-0-votes", "the leader disregards reported votes of ballot 0",
           LeaderIgnoresBallot0Votes, PX, "agreement", VOTES, PAXOS_ENGINES, bmc_in_ci=False),
    Mutant("leader-ignores-votes", "the leader proposes any value whatever the 1bs report",
           LeaderIgnoresVotes, PX, "agreement", VOTES, PAXOS_ENGINES, bmc_in_ci=False),
    Mutant("leader-proposes-without-quorum", "phase 2a does not wait for a quorum of 1bs",
           LeaderProposesWithoutQuorum, PX, "agreement", GUARD, PAXOS_ENGINES),
    Mutant("leader-waits-for-one-1b-too-few", "phase 2a waits for one 1b fewer than a quorum",
           LeaderWaitsForOne1bTooFew, PX, "agreement", QUORUM, PAXOS_ENGINES, bmc_in_ci=False),
    Mutant("quorums-of-half", "quorums have n // 2 acceptors instead of n // 2 + 1",
           QuorumsOfHalf, PX, "agreement", QUORUM, PAXOS_ENGINES),
    Mutant("leader-proposes-twice", "a leader may send a second 2a in its ballot",
           LeaderProposesTwice, PX, "agreement", GUARD, PAXOS_ENGINES),
    Mutant("acceptor-accepts-below-promise", "an acceptor accepts a 2a whose ballot is below its promise",
           AcceptorAcceptsBelowPromise, PX, "agreement", GUARD, PAXOS_ENGINES, bmc_in_ci=False),
    Mutant("acceptor-does-not-record-promise", "an acceptor answers a 1a without raising max_bal",
           AcceptorDoesNotRecordPromise, PX, "agreement", REGRESSION, PAXOS_ENGINES, bmc_in_ci=False),
    Mutant("acceptor-lowers-promise", "an acceptor lowers max_bal to the ballot of a stale 1a",
           AcceptorLowersPromise, PX, "agreement", REGRESSION, PAXOS_ENGINES, bmc_in_ci=False),
    Mutant("acceptor-reports-no-vote", "an acceptor's 1b never reports its vote",
           AcceptorReportsNoVote, PX, "agreement", VOTES, PAXOS_ENGINES, bmc_in_ci=False),
    Mutant("acceptor-not-persisted", "an acceptor keeps promise and vote in memory only",
           AcceptorNotPersisted, PX_CRASH, "agreement", PERSISTENCE, PAXOS_CRASH_ENGINES,
           bmc_cap=PX_CRASH_BMC_CAP, bmc_in_ci=False),
    Mutant("acceptor-vote-not-persisted", "an acceptor persists its promise but not its vote",
           AcceptorVoteNotPersisted, PX_CRASH, "agreement", PERSISTENCE, PAXOS_CRASH_ENGINES,
           bmc_cap=PX_CRASH_BMC_CAP, bmc_in_ci=False),
    Mutant("leader-proposal-not-persisted", "a leader forgets across a crash that it proposed",
           LeaderProposalNotPersisted, PX0_CRASH, "agreement", PERSISTENCE, PAXOS_CRASH_ENGINES),
    Mutant("agreement-written-with-is-true", "leader ignores votes; agreement tests `(... in net) is True`",
           AgreementWithIsTrue, PX, "agreement", PROPERTY, PAXOS_ENGINES),
    # ----- the environment (clocks, partitions) -----
    Mutant("tick-leaves-clocks-behind", "a tick never drags a lagging clock: clocks fall behind the drift bound",
           TickLeavesClocksBehind, LEASES, "lease_safety", ENVIRONMENT, (CHECK, BMC, BMC_ONCE, BMC_WAY),
           bmc_in_ci=False),
    Mutant("clock-runs-past-the-drift-bound", "a node's clock may run ahead of real time beyond the drift bound",
           ClockRunsAhead, LEASES, "lease_safety", ENVIRONMENT, (CHECK, BMC, BMC_ONCE, BMC_WAY),
           bmc_in_ci=False),
    Mutant("partition-still-delivers", "a message is delivered across a standing partition",
           LeakyPartitions, {"n": 3, "partitions": 1}, "nothing_crosses_a_partition", ENVIRONMENT, (CHECK,)),
    # ----- the replicated log -----
    Mutant("log-copy-index-off-by-one", "a follower copies leader[len(log) - 1] instead of leader[len(log)]",
           CopyIndexOffByOne, RLOG, "followers_agree_on_committed", SEQUENCE, REPLOG_ENGINES),
    Mutant("log-copy-slice-start-off-by-one", "a follower copies leader[len(log) + 1 : len(log) + 2]",
           CopySliceSkipsAnEntry, RLOG, "followers_agree_on_committed", SEQUENCE, REPLOG_ENGINES),
    Mutant("log-follower-appends-stale-entries", "a follower appends an entry of an epoch it has left",
           FollowerAppendsStaleEntries, RNODES, "followers_agree_on_committed", GUARD, REPLOG_ENGINES),
    Mutant("log-follower-appends-past-its-end", "a follower appends entry idx > len(log) at len(log)",
           FollowerAppendsPastItsEnd, RNODES, "followers_agree_on_committed", SEQUENCE, REPLOG_ENGINES),
    Mutant("log-leader-announces-its-length", "a new epoch is announced with the log's length, not the commit index",
           LeaderAnnouncesItsLength, RNODES, "followers_agree_on_committed", SEQUENCE, REPLOG_ENGINES),
    Mutant("log-follower-cuts-to-nothing", "a follower empties its log on a new epoch, committed entries too",
           FollowerCutsToNothing, RNODES, "followers_agree_on_committed", REGRESSION, REPLOG_ENGINES),
]


# ----- benign mutants ------------------------------------------------------------------


class _TmAbortsOnlyWhileWaiting(TransactionManager):
    def abort(self, s: TM) -> Out:
        if s.state != INIT or len(s.prepared) == self.rms:
            return None
        return TM(ABORTED, s.prepared), (Persist(), Broadcast(tuple(range(self.rms)), Abort()))


class TmAbortsOnlyWhileWaiting(TwoPhase):
    tm_class = _TmAbortsOnlyWhileWaiting


class _TmRecordsLateVotes(TransactionManager):
    def on_message(self, s: TM, src: int, msg: Any) -> Out:
        if type(msg) is Prepared:
            return TM(s.state, s.prepared | {msg.rm}), ()
        return None


class TmRecordsLateVotes(TwoPhase):
    tm_class = _TmRecordsLateVotes


class _ResendsOneB(Acceptor):
    def on_message(self, s: Acc, src: int, msg: Any) -> Out:
        if type(msg) is OneA and msg.bal == s.max_bal:
            reply = OneB(self.id, msg.bal, s.max_vbal, s.max_val)
            return s, (*self.persist(), Send(self.leader(msg.bal), reply))
        return super().on_message(s, src, msg)


class AcceptorResendsOneB(Paxos):
    acceptor_class = _ResendsOneB


class _EveryOneB(Leader):
    def quorum_allows(self, ones: list[Any], q: frozenset[int], v: int) -> bool:
        q1b = [m for m in ones if m.acc in q]
        return {m.acc for m in q1b} == q and self.value_ok([m for m in ones if m.mbal >= 0], v)


class LeaderWeighsEveryOneB(Paxos):
    leader_class = _EveryOneB


class _NoMax(Acceptor):
    def on_message(self, s: Acc, src: int, msg: Any) -> Out:
        if type(msg) is TwoA:
            if self.accepts(s, msg.bal):
                vote = TwoB(self.id, msg.bal, msg.val)
                return Acc(msg.bal, msg.bal, msg.val), (*self.persist(), Send(self.leader(msg.bal), vote))
            return None
        return super().on_message(s, src, msg)


class AcceptorSetsMaxBalToVote(Paxos):
    acceptor_class = _NoMax


class _OneAToQuorum(Leader):
    def phase1a(self, s: Ldr, inbox: frozenset[Any]) -> Out:
        return s, (Broadcast(tuple(sorted(self.quorum_list[0])), OneA(self.bal)),)


class LeaderPreparesOneQuorum(Paxos):
    leader_class = _OneAToQuorum


_TIE_EDGES = ("the tie compares the model's reachable edges with Paxos.tla's formulas; this change adds or "
              "removes edges, so a tie that refuses it is right, and a proof is not owed")

BENIGN: list[Benign] = [
    Benign("tm-aborts-only-while-waiting", "the TM aborts only while some RM's vote is missing",
           "a stronger guard removes behaviours; every remaining run is a run of 2PC",
           TmAbortsOnlyWhileWaiting, TP, must_prove=(PROVE,)),
    Benign("tm-records-late-votes", "the TM keeps recording Prepared after it decided",
           "`prepared` is read only by the commit guard, which also needs `state == init`",
           TmRecordsLateVotes, TP, must_prove=(PROVE,)),
    Benign("acceptor-resends-1b", "an acceptor answers a duplicate 1a of its promised ballot with a 1b again",
           "the 1b reports the same promise and its last vote; a vote at that ballot means its leader has "
           "already proposed", AcceptorResendsOneB, PX, must_prove=(PROVE,), reported={PARAM: _TIE_EDGES}),
    Benign("leader-weighs-every-1b", "the leader takes the highest vote among all 1bs of its ballot, not one quorum's",
           "every 1b of ballot b is a promise for b, so any superset of a quorum's 1bs keeps SafeAt",
           LeaderWeighsEveryOneB, PX, must_prove=(PROVE,), reported={PARAM: _TIE_EDGES}),
    Benign("acceptor-sets-max-bal-to-vote", "on a 2a an acceptor sets max_bal to the 2a's ballot (no max())",
           "it accepts only if bal >= max_bal, so max(bal, max_bal) == bal: the same relation, other code",
           AcceptorSetsMaxBalToVote, PX, must_prove=(PROVE, PARAM)),
    Benign("leader-prepares-one-quorum", "the leader sends its 1a only to the first quorum",
           "fewer 1as only remove behaviours; every remaining run is a run of Paxos",
           LeaderPreparesOneQuorum, PX, must_prove=(PROVE,), reported={PARAM: _TIE_EDGES}),
    Benign("log-follower-does-not-reack", "a follower ignores an entry it already holds instead of acknowledging again",
           "fewer acks only remove behaviours (a lost ack is then never repaired: liveness, not safety)",
           FollowerDoesNotReack, RNODES, must_prove=(PROVE,)),
]
