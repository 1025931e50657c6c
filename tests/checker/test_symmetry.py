"""Symmetry reduction: one state per orbit, exactly; refused where it is not available or not sound."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest
import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof.checker.explore import explore
from protoproof.checker.path import replay
from protoproof.checker.symbolic import decode, eq, fresh, to_z3
from protoproof.checker.symmetry import (
    AsymmetricDefinition,
    Canonicalizer,
    SymmetryError,
    check_symmetric,
    space_sizes,
)
from protoproof.checker.symmetry_proof import (
    checked_on_every_state,
    generators,
    group_elements,
    justify,
    permute_symbolic,
)
from protoproof.models.actors import (
    ActorSystem,
    DuplicatingSet,
    Effect,
    Envelope,
    FifoChannels,
    Network,
    Node,
    Send,
    SysState,
    UnorderedBag,
)
from protoproof.models.base import Action, Model, Property, Refinement, always, require, sometimes, step, transition
from protoproof.models.paxos import Paxos
from protoproof.models.raft import Raft
from protoproof.models.registry import Protocol, registration
from protoproof.models.schema import Enum, Id, OneOf, Perm, Record, SetOf, Type, Union, Vec
from protoproof.models.tcommit import ABORTED, COMMITTED, PREPARED, TC, WORKING, TCommit
from protoproof.models.twophase import TwoPhase

# ----- brute force ---------------------------------------------------------------------


def all_perms(model: Model[Any]) -> list[Perm]:
    """Every permutation the declared symmetry allows (all groups of all spaces, independently)."""
    sym = model.symmetry()
    assert sym
    sizes = space_sizes(model.state_type)
    per_space: list[list[tuple[str, list[int]]]] = []
    for space, groups in sym.items():
        options = []
        for images in itertools.product(*(itertools.permutations(g) for g in groups)):
            p = list(range(sizes[space]))
            for g, img in zip(groups, images, strict=True):
                for old, new in zip(g, img, strict=True):
                    p[old] = new
            options.append((space, p))
        per_space.append(options)
    return [dict(combo) for combo in itertools.product(*per_space)]


def reachable(model: Model[Any]) -> list[Any]:
    r = explore(model, record_graph=10**6)
    assert r.graph is not None
    return list(r.graph.states.values())


def orbits_of(model: Model[Any], states: Sequence[Any]) -> set[frozenset[Any]]:
    """Each state's orbit: the set of its renamings under every permutation the symmetry allows."""
    t = model.state_type
    perms = all_perms(model)
    return {frozenset(t.permute(s, p) for p in perms) for s in states}


def assert_orbit_count(model: Model[Any]) -> tuple[int, int]:
    states = reachable(model)
    orbits = orbits_of(model, states)
    # The declared symmetry really is one: renaming a reachable state gives a reachable state.
    assert frozenset().union(*orbits) == set(states)
    reduced = explore(model, symmetry=True)
    assert reduced.symmetry is True
    assert reduced.verdict == "exhausted"
    assert reduced.stats.distinct_states == len(orbits)
    return len(states), len(orbits)


# ----- models with ids in many places ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    src: int
    dst: int


class Know(NamedTuple):
    knows: tuple[frozenset[int], ...]
    msgs: frozenset[Hello]


@dataclass(frozen=True)
class GossipConfig:
    n: int = 3
    group: tuple[tuple[int, ...], ...] | None = None  # None: all ids interchangeable
    across: bool = False  # only greetings from the first group to the others


class Gossip(Model[Know]):
    """Each process may greet each other once; a greeted process learns who greeted it."""

    name = "gossip"
    Config = GossipConfig

    def schema(self) -> Type:
        n = self.config.n
        hello = Record(Hello, src=Id("p", n), dst=Id("p", n))
        universe = [Hello(i, j) for i, j in self.pairs()]
        return Record(Know, knows=Vec(SetOf(Id("p", n)), n, index="p"), msgs=SetOf(hello, universe))

    def symmetry(self) -> dict[str, list[list[int]]]:
        g = self.config.group
        return {"p": [list(x) for x in g] if g is not None else [list(range(self.config.n))]}

    def init(self) -> list[Know]:
        return [Know((frozenset(),) * self.config.n, frozenset())]

    def ids(self) -> range:
        return range(self.config.n)

    def _validate_config(self) -> None:
        n, g = self.config.n, self.config.group or ()
        group_of = {i: k for k, grp in enumerate(g) for i in grp}
        self._pairs = [(i, j) for i in range(n) for j in range(n)
                       if i != j and not (self.config.across and (group_of.get(i) != 0 or group_of.get(j) == 0))]
        self._pair_set = frozenset(self._pairs)

    def pairs(self) -> list[tuple[int, int]]:
        return self._pairs

    @transition(src="ids", dst="ids")
    def greet(self, s: Know, src: int, dst: int) -> Know:
        require((src, dst) in self._pair_set and Hello(src, dst) not in s.msgs)
        return s._replace(msgs=s.msgs | {Hello(src, dst)})

    @transition(src="ids", dst="ids")
    def hear(self, s: Know, src: int, dst: int) -> Know:
        require(Hello(src, dst) in s.msgs and src not in s.knows[dst])
        k = s.knows
        return s._replace(knows=k[:dst] + (k[dst] | {src},) + k[dst + 1 :])

    @always
    def knows_only_greeters(self, s: Know) -> bool:
        return all(Hello(j, i) in s.msgs for i in self.ids() for j in s.knows[i])

    @sometimes
    def everyone_knows_everyone(self, s: Know) -> bool:
        return all(len(k) == sum(1 for _i, j in self.pairs() if j == d) for d, k in enumerate(s.knows))


class Locks(NamedTuple):
    owner: tuple[int | None, ...]
    held: tuple[frozenset[int], ...]


@dataclass(frozen=True)
class LockConfig:
    procs: int = 3
    res: int = 2


class LockTable(Model[Locks]):
    """Processes take and release resources: two id spaces, p (processes) and r (resources)."""

    name = "locks"
    Config = LockConfig

    def schema(self) -> Type:
        p, r = self.config.procs, self.config.res
        return Record(
            Locks,
            owner=Vec(Union(OneOf(None), Id("p", p)), r, index="r"),
            held=Vec(SetOf(Id("r", r)), p, index="p"),
        )

    def symmetry(self) -> dict[str, list[list[int]]]:
        return {"p": [list(self.procs())], "r": [list(self.res())]}

    def procs(self) -> range:
        return range(self.config.procs)

    def res(self) -> range:
        return range(self.config.res)

    def init(self) -> list[Locks]:
        return [Locks((None,) * self.config.res, (frozenset(),) * self.config.procs)]

    @transition(p="procs", r="res")
    def acquire(self, s: Locks, p: int, r: int) -> Locks:
        require(s.owner[r] is None)
        return Locks(s.owner[:r] + (p,) + s.owner[r + 1 :], s.held[:p] + (s.held[p] | {r},) + s.held[p + 1 :])

    @transition(p="procs", r="res")
    def release(self, s: Locks, p: int, r: int) -> Locks:
        require(s.owner[r] == p)
        return Locks(s.owner[:r] + (None,) + s.owner[r + 1 :], s.held[:p] + (s.held[p] - {r},) + s.held[p + 1 :])

    @always
    def consistent(self, s: Locks) -> bool:
        return all((s.owner[r] == p) == (r in s.held[p]) for p in self.procs() for r in self.res())

    @sometimes
    def one_holds_two(self, s: Locks) -> bool:
        return any(len(h) >= 2 for h in s.held)


# An actor system whose messages carry ids: voters send Vote(voter) to a collector.


@dataclass(frozen=True, slots=True)
class Vote:
    voter: int


@dataclass(frozen=True, slots=True)
class Ack:
    pass


VOTER = Enum("Voter", "idle", "voted", "acked")
Out = tuple[Any, Sequence[Effect]] | None


class Voter(Node[str]):
    role = "voter"
    symmetric = True

    def __init__(self, node_id: int, collector: int) -> None:
        super().__init__(node_id)
        self.collector = collector

    def state_type(self) -> Type:
        return VOTER

    def on_start(self) -> tuple[str, Sequence[Effect]]:
        return "idle", ()

    @transition()
    def vote(self, s: str) -> Out:
        return ("voted", (Send(self.collector, Vote(self.id)),)) if s == "idle" else None

    def on_message(self, s: str, src: int, msg: Any) -> Out:
        return ("acked", ()) if type(msg) is Ack and s == "voted" else None


class Collector(Node[frozenset[int]]):
    role = "collector"

    def __init__(self, node_id: int, voters: int) -> None:
        super().__init__(node_id, "collector")
        self.voters = voters

    def state_type(self) -> Type:
        return SetOf(Id("node", self.voters))

    def on_start(self) -> tuple[frozenset[int], Sequence[Effect]]:
        return frozenset(), ()

    def on_message(self, s: frozenset[int], src: int, msg: Any) -> Out:
        if type(msg) is Vote and msg.voter not in s:
            return s | {msg.voter}, (Send(src, Ack()),)
        return None


class Election(ActorSystem):
    name = "election"

    def __init__(self, net: Callable[[], Network] = DuplicatingSet, voters: int = 3) -> None:
        self._make_net, self._n = net, voters
        super().__init__()

    def nodes(self) -> list[Node[Any]]:
        n = self._n
        return [*(Voter(i, n) for i in range(n)), Collector(n, n)]

    def message_type(self) -> Type:
        return Union(Record(Vote, voter=Id("node", self._n)), Record(Ack))

    def envelopes(self) -> list[Envelope]:
        n = self._n
        return [Envelope(i, n, Vote(i)) for i in range(n)] + [Envelope(n, i, Ack()) for i in range(n)]

    def network(self) -> Network:
        self.net_used = self._make_net()
        return self.net_used

    @always
    def acked_only_counted(self, s: SysState) -> bool:
        return all(s.nodes[i] != "acked" or i in s.nodes[self._n] for i in range(self._n))

    @sometimes
    def all_acked(self, s: SysState) -> bool:
        return all(x == "acked" for x in s.nodes[: self._n])


# ----- the number of states with symmetry is the number of orbits --------------------------


@pytest.mark.parametrize(
    ("make", "pinned"),
    [
        (lambda: TCommit(rms=3), (34, 13)),
        (lambda: TCommit(rms=4), (96, 19)),
        (lambda: TwoPhase(rms=2), (56, 34)),
        (lambda: TwoPhase(rms=3), (288, 80)),
        (lambda: TwoPhase(rms=4), (1568, 166)),
    ],
    ids=["tcommit-3", "tcommit-4", "twophase-2", "twophase-3", "twophase-4"],
)
def test_symmetry_counts_the_orbits_of_the_protocols(make: Callable[[], Model[Any]], pinned: tuple[int, int]) -> None:
    assert assert_orbit_count(make()) == pinned


@pytest.mark.parametrize(
    "make",
    [
        lambda: Gossip(n=3),
        lambda: Gossip(n=3, group=((0, 1),)),
        lambda: Gossip(n=4, group=((0, 1), (2, 3)), across=True),
        LockTable,
        Election,
        lambda: LockTable(procs=2, res=3),
        lambda: LockTable(procs=3, res=3),
    ],
    ids=["gossip, ids in messages and sets", "gossip, two of three ids interchangeable",
         "gossip, two groups of two", "locks, two id spaces", "election, ids inside actor messages",
         "locks, 2 processes and 3 resources", "locks, 3 processes and 3 resources"],
)
def test_symmetry_counts_the_orbits_of_models_with_ids_everywhere(make: Callable[[], Model[Any]]) -> None:
    full, orbits = assert_orbit_count(make())
    assert orbits < full


def test_orbit_counts_of_small_models_are_pinned() -> None:
    assert explore(LockTable(), symmetry=True).stats.distinct_states == 4  # free, one held, one holds both, each one
    assert explore(Gossip(n=3)).stats.distinct_states == 3**6  # per ordered pair: silent, greeted, heard
    assert explore(Election(), symmetry=True).stats.distinct_states == 20


def test_a_violation_found_with_symmetry_is_a_real_shortest_path() -> None:
    m = TwoPhase(rms=3).with_variant("commit-without-votes")
    plain = explore(m, properties=["atomicity"])
    reduced = explore(m, properties=["atomicity"], symmetry=True)
    assert (reduced.verdict, reduced.property) == ("violated", "atomicity")
    assert reduced.path is not None and plain.path is not None
    assert len(reduced.path) == len(plain.path) == 3
    again = replay(m, reduced.path.action_reprs())
    assert again.states == reduced.path.states
    assert not m.atomicity(again.last)  # type: ignore[attr-defined]


def test_examples_found_with_symmetry_are_real_paths() -> None:
    m = Gossip(n=3)
    r = explore(m, symmetry=True)
    p = r.examples["everyone_knows_everyone"]
    assert p is not None and len(p) == 12  # six greetings, six hearings
    assert m.everyone_knows_everyone(replay(m, p.action_reprs()).last)


# ----- the canonical key --------------------------------------------------------------------

CANON_MODELS: dict[str, Callable[[], Model[Any]]] = {
    "tcommit-4": lambda: TCommit(rms=4),
    "twophase-3": lambda: TwoPhase(rms=3),
    "gossip-3": lambda: Gossip(n=3),
    "gossip-4 in two groups": lambda: Gossip(n=4, group=((0, 1), (2, 3)), across=True),
    "election": Election,
}
_BUILT: dict[str, tuple[Model[Any], Canonicalizer, list[Perm]]] = {}


def built(name: str) -> tuple[Model[Any], Canonicalizer, list[Perm]]:
    if name not in _BUILT:
        m = CANON_MODELS[name]()
        _BUILT[name] = (m, Canonicalizer(m), all_perms(m))
    return _BUILT[name]


@settings(max_examples=40, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize("name", list(CANON_MODELS))
def test_the_canonical_key_is_the_same_for_every_renaming_of_a_state(name: str, data: st.DataObject) -> None:
    m, canon, perms = built(name)
    t = m.state_type
    s = t.unpack(data.draw(st.integers(0, t.size - 1), label="code"))  # any type-correct state
    p = data.draw(st.sampled_from(perms), label="perm")
    k = canon.key(s)
    assert canon.key(t.permute(s, p)) == k
    assert k in {t.pack(t.permute(s, q)) for q in perms}  # the key is the code of a renaming


@settings(max_examples=40, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize("name", ["twophase-3", "gossip-3", "election"])
def test_states_in_different_orbits_get_different_keys(name: str, data: st.DataObject) -> None:
    m, canon, perms = built(name)
    t = m.state_type
    a = t.unpack(data.draw(st.integers(0, t.size - 1)))
    b = t.unpack(data.draw(st.integers(0, t.size - 1)))
    same_orbit = any(t.permute(a, p) == b for p in perms)
    assert (canon.key(a) == canon.key(b)) == same_orbit


def test_the_canonical_key_is_the_same_for_renamings_in_two_id_spaces() -> None:
    m = LockTable(procs=2, res=3)
    canon, t = Canonicalizer(m), m.state_type
    s = Locks((0, 1, None), (frozenset({0}), frozenset({1})))  # reachable
    swap_r = t.permute(s, {"p": [0, 1], "r": [1, 0, 2]})
    swap_p = t.permute(s, {"p": [1, 0], "r": [0, 1, 2]})
    assert swap_r == swap_p == Locks((1, 0, None), (frozenset({1}), frozenset({0})))
    assert canon.key(swap_r) == canon.key(s)


def test_generators_are_the_adjacent_transpositions_inside_declared_groups() -> None:
    _m, canon, _perms = built("gossip-4 in two groups")
    assert [list(g["p"]) for g in generators(canon)] == [[1, 0, 2, 3], [0, 1, 3, 2]]
    assert len(group_elements(canon)) == 3  # 2! * 2! renamings but the identity


# ----- refusals and the soundness gate -----------------------------------------------------


def test_a_model_without_symmetry_is_refused() -> None:
    class Plain(TCommit):
        def symmetry(self) -> None:  # type: ignore[override]
            return None

    with pytest.raises(SymmetryError, match="declares no symmetry"):
        Canonicalizer(Plain(rms=2))
    with pytest.raises(SymmetryError, match="declares no symmetry"):
        explore(Plain(rms=2), symmetry=True)


def test_symmetry_over_an_id_space_no_field_uses_is_refused() -> None:
    class Elsewhere(TCommit):
        def symmetry(self) -> dict[str, list[list[int]]]:
            return {"node": [[0, 1]]}

    with pytest.raises(SymmetryError, match="id space 'node', which no state field uses"):
        explore(Elsewhere(rms=2), symmetry=True)


class Favoured(TCommit):
    """Declares the RMs interchangeable, yet one property singles out RM 0."""

    @sometimes
    def rm0_ahead(self, s: Any) -> bool:
        return s.rm[0] == PREPARED and s.rm[1] == WORKING


class Lopsided(TCommit):
    """Declares the RMs interchangeable, yet RM 0 can never prepare."""

    @transition(rm="rm_ids")
    def prepare(self, s: Any, rm: int) -> Any:
        require(rm != 0)
        return TCommit.prepare(self, s, rm)


def test_the_soundness_gate_catches_an_asymmetric_property() -> None:
    assert explore(Favoured(rms=3)).verdict == "exhausted"
    with pytest.raises(SymmetryError, match="property rm0_ahead is not symmetric"):
        explore(Favoured(rms=3), symmetry=True)


def test_the_soundness_gate_catches_asymmetric_transitions() -> None:
    with pytest.raises(SymmetryError, match="transitions of tcommit are not symmetric"):
        explore(Lopsided(rms=3), symmetry=True)


class LateStarter(TCommit):
    """An id-dependent step property: no RM prepares while RM 0 is working and RM 2 is prepared."""

    @step
    def rm0_not_last(self, s: Any, a: Action, t: Any) -> bool:
        return not (s.rm[0] == WORKING and s.rm[2] == PREPARED and a.name == "prepare")


def test_the_soundness_gate_catches_an_asymmetric_step_property() -> None:
    assert explore(LateStarter(rms=3)).verdict == "violated"
    try:
        r = explore(LateStarter(rms=3), symmetry=True)
    except SymmetryError:
        return
    assert r.verdict == "violated"


def _true_renaming(model: Election, s: SysState, p: Perm) -> SysState:
    """Rename node ids everywhere, including the envelopes a bag or FIFO network holds."""
    t = model.state_type.permute(s, p)
    perm = p["node"]
    k = len(model.node_list)
    env_t = Record(Envelope, src=Id("node", k), dst=Id("node", k), msg=model.message_type())
    if isinstance(model.net_used, UnorderedBag):
        universe = model.envelopes()
        net = [0] * len(universe)
        for e, count in zip(universe, s.net[:], strict=True):
            net[universe.index(env_t.permute(e, p))] = count
        return t._replace(net=tuple(net))
    chans = sorted({(e.src, e.dst) for e in model.envelopes()})
    net2: list[tuple[Any, ...]] = [()] * len(chans)
    for (a, b), q in zip(chans, s.net[:], strict=True):
        net2[chans.index((perm[a], perm[b]))] = tuple(model.message_type().permute(x, p) for x in q)
    return t._replace(net=tuple(net2))


@pytest.mark.parametrize("make", [UnorderedBag, lambda: FifoChannels(capacity=1)], ids=["bag", "fifo"])
def test_election_on_bag_and_fifo_networks_is_symmetric_under_a_full_renaming(make: Callable[[], Network]) -> None:
    m = Election(make)
    states = reachable(m)
    seen = set(states)
    for s in states:
        for p in all_perms(m):
            assert _true_renaming(m, s, p) in seen


@pytest.mark.parametrize("make", [UnorderedBag, lambda: FifoChannels(capacity=1)], ids=["bag", "fifo"])
def test_symmetry_reduction_works_on_bag_and_fifo_networks(make: Callable[[], Network]) -> None:
    m = Election(make)
    states = reachable(m)
    perms = all_perms(m)
    orbits = {min(m.state_type.pack(_true_renaming(m, s, p)) for p in perms) for s in states}
    assert explore(m, symmetry=True).stats.distinct_states == len(orbits)



# ----- the gate: proved with z3, or checked on every renaming of every evaluated state ----------


PERM_MODELS: dict[str, Callable[[], Model[Any]]] = {
    "twophase-3": lambda: TwoPhase(rms=3),
    "paxos 3/2/1": lambda: Paxos(acceptors=3, values=2, max_ballot=1),
    "gossip-4 in two groups": lambda: Gossip(n=4, group=((0, 1), (2, 3)), across=True),
    "locks, two id spaces": lambda: LockTable(procs=3, res=2),
    "election": Election,
    "election on a bag": lambda: Election(UnorderedBag),
    # logs (Seq) whose entries hold value ids: each slot is renamed, the length kept
    "raft logs, two value ids": lambda: Raft(servers=2, values=2, max_term=2, max_log=1, lossy=False,
                                             duplicating=False, restarts=False),
}
_PERM_BUILT: dict[str, tuple[Model[Any], Any, list[Perm]]] = {}


def perm_built(name: str) -> tuple[Model[Any], Any, list[Perm]]:
    if name not in _PERM_BUILT:
        m = PERM_MODELS[name]()
        _PERM_BUILT[name] = (m, fresh(m.state_type, "x"), all_perms(m))
    return _PERM_BUILT[name]


@settings(max_examples=15, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize("name", list(PERM_MODELS))
def test_the_symbolic_renaming_of_a_state_decodes_to_the_concrete_renaming(name: str, data: st.DataObject) -> None:
    m, x, perms = perm_built(name)
    t = m.state_type
    s = t.unpack(data.draw(st.integers(0, t.size - 1), label="code"))  # any type-correct state
    p = data.draw(st.sampled_from(perms), label="perm")
    solver = z3.Solver()
    solver.add(to_z3(eq(t, x, s)))
    assert solver.check() == z3.sat
    assert decode(t, permute_symbolic(t, x, p), solver.model()) == t.permute(s, p)


class NamesRms(TwoPhase):
    """RMs 0 and 1 never abort while RM 2 is prepared and RMs 3 and 4 still work: it names RMs."""

    @always
    def rms_in_order(self, s: Any) -> bool:
        return s.nodes[:5] != (ABORTED, ABORTED, PREPARED, WORKING, WORKING)


def test_a_property_naming_ids_is_refused_under_symmetry_with_a_state_and_a_renaming() -> None:
    m = NamesRms(rms=5)
    assert explore(m, properties=["rms_in_order"]).verdict == "violated"
    with pytest.raises(SymmetryError, match=r"property rms_in_order is not symmetric: .* after renaming node \d"):
        explore(m, properties=["rms_in_order"], symmetry=True)


def test_check_with_symmetry_does_not_exhaust_a_model_whose_property_names_ids() -> None:
    from protoproof.cli import main as cli_main

    out, err = io.StringIO(), io.StringIO()
    with registration(Protocol("names-rms", NamesRms)):
        plain = cli_main(["check", "names-rms", "--rms", "5", "--quiet"], out, err)
        assert plain == 1 and "VIOLATED: rms_in_order" in out.getvalue()
        out, err = io.StringIO(), io.StringIO()
        code = cli_main(["check", "names-rms", "--rms", "5", "--symmetry", "--quiet"], out, err)
    assert code != 0 and "exhausted" not in out.getvalue()
    assert "rms_in_order is not symmetric" in err.getvalue()


@pytest.mark.parametrize(
    "make",
    [lambda: TwoPhase(rms=3), lambda: TwoPhase(rms=4), lambda: TwoPhase(rms=5),
     *(lambda b=b: Paxos(acceptors=3, values=2, max_ballot=b) for b in (0, 1))],
    ids=["twophase-3", "twophase-4", "twophase-5", "paxos 3/2/0", "paxos 3/2/1"],
)
def test_the_shipped_models_properties_refinements_and_transitions_are_proved_symmetric(
    make: Callable[[], Model[Any]],
) -> None:
    m = make()
    j = justify(m, Canonicalizer(m), [*m.invariants, *m.sometimes_properties], m.refinements(), [])
    assert j.checked == {} and j.transitions_proved
    assert sorted(j.proved) == sorted([p.name for p in m.invariants + m.sometimes_properties]
                                      + [r.name for r in m.refinements()])


#: Looking a state field up in a dict: the z3 backend refuses it (a symbolic value cannot be
#: hashed), so the gate must check concretely.  (A tuple indexed by a state field runs on z3.)
_BALLOT = {-1: "none", 0: "b0", 1: "b1"}


class LooksUpBallots(Paxos):
    @always
    def ballots_named(self, s: Any) -> bool:
        """Symmetric, but not runnable on z3 values."""
        return all(_BALLOT[s.nodes[a].max_bal] != "" for a in range(self.config.acceptors))

    @always
    def a0_votes_after_a1(self, s: Any) -> bool:
        """Names acceptors: acceptor 0 never votes in ballot 1 unless acceptor 1 promised it."""
        return _BALLOT[s.nodes[0].max_vbal] != "b1" or s.nodes[1].max_bal >= 1


def test_a_property_z3_cannot_run_is_checked_on_every_state_and_passes_when_symmetric() -> None:
    m = LooksUpBallots(acceptors=3, values=2, max_ballot=1)
    r = explore(m, properties=["ballots_named", "agreement"], symmetry=True)
    assert r.verdict == "exhausted" and r.stats.distinct_states == 443  # the orbits of tests/models/test_paxos.py
    assert r.justification is not None
    assert list(r.justification.checked) == ["ballots_named"] and r.justification.proved == ["agreement"]
    assert r.justification.summary() == "symmetry: proved (z3) for agreement; checked on every state for ballots_named"


def test_an_asymmetric_property_z3_cannot_run_is_a_definition_error_on_a_deep_state() -> None:
    m = LooksUpBallots(acceptors=3, values=2, max_ballot=1)
    plain = explore(m, properties=["a0_votes_after_a1"])
    assert plain.verdict == "violated" and plain.path is not None and len(plain.path) >= 5
    with pytest.raises(AsymmetricDefinition, match="property a0_votes_after_a1 is not symmetric") as e:
        explore(m, properties=["a0_votes_after_a1"], symmetry=True)
    # First seen where some acceptor voted in ballot 1: several steps deep.
    assert any(a.max_vbal == 1 for a in e.value.state.nodes[:3])


def test_generators_agreeing_on_a_state_do_not_make_a_property_symmetric() -> None:
    """Why the fallback renames by the whole group: (0 1) and (1 2) keep P, (0 2) does not."""
    m = TCommit(rms=3)
    canon = Canonicalizer(m)
    s = TC((WORKING, WORKING, PREPARED))

    def p(x: TC) -> bool:
        return x.rm[0] == PREPARED

    t = m.state_type
    assert all(p(t.permute(s, g)) == p(s) for g in generators(canon))
    guarded = checked_on_every_state(Property("p", "always", p, ""), m, canon, group_elements(canon))
    with pytest.raises(AsymmetricDefinition, match=r"property p is not symmetric"):
        guarded.fn(s)


def test_a_group_too_large_to_enumerate_is_refused_when_a_property_needs_the_fallback() -> None:
    m = Gossip(n=7)  # 7! renamings; knows_only_greeters iterates a set, which z3 values refuse
    with pytest.raises(SymmetryError, match="more than the 720"):
        justify(m, Canonicalizer(m), m.invariants, [], [])


class MisreportsRm0(TwoPhase):
    """The mapping to TCommit reports RM 0 committed as soon as it prepares: it names an RM."""

    def refinements(self) -> list[Refinement]:
        def mapping(s: Any) -> TC:
            rms = self.rm_states(s)
            return TC(tuple(COMMITTED if i == 0 and r == PREPARED else r for i, r in enumerate(rms)))

        return [Refinement("refines_tcommit", TCommit(rms=self.config.rms), mapping)]


def test_an_asymmetric_refinement_is_not_proved_and_is_checked_on_every_transition() -> None:
    m = MisreportsRm0(rms=3)
    assert explore(m, properties=["refines_tcommit"]).verdict == "violated"
    with pytest.raises(AsymmetricDefinition, match="refinement check refines_tcommit is not symmetric"):
        explore(m, properties=["refines_tcommit"], symmetry=True)


def test_the_run_says_how_symmetry_was_justified() -> None:
    from protoproof.cli import main as cli_main

    out, err = io.StringIO(), io.StringIO()
    assert cli_main(["check", "twophase", "--rms", "3", "--symmetry", "--quiet"], out, err) == 0
    assert "symmetry: proved (z3) for atomicity, all_committed, all_aborted, refines_tcommit" in out.getvalue()
    out = io.StringIO()
    assert cli_main(["check", "twophase", "--rms", "3", "--symmetry", "--quiet", "--json"], out, err) == 0
    d = json.loads(out.getvalue())["symmetry_justification"]
    assert d["proved"] == ["atomicity", "all_committed", "all_aborted", "refines_tcommit"]
    assert d["checked_on_every_state"] == {}


_LETTER = {WORKING: "w", PREPARED: "p", COMMITTED: "c", ABORTED: "a"}


class SpellsRms(TwoPhase):
    @always
    def not_aapww(self, s: Any) -> bool:
        """Names RMs, through a dict lookup z3 values refuse: the gate must check it concretely."""
        return "".join(_LETTER[r] for r in s.nodes[:5]) != "aapww"


def test_an_asymmetric_property_z3_cannot_run_is_caught_where_a_sampled_gate_exhausted() -> None:
    m = SpellsRms(rms=5)
    assert explore(m, properties=["not_aapww"]).verdict == "violated"
    with pytest.raises(AsymmetricDefinition, match=r"property not_aapww is not symmetric: .* after renaming node"):
        explore(m, properties=["not_aapww"], symmetry=True)


def test_an_asymmetric_property_is_a_model_error_naming_the_state_without_a_traceback() -> None:
    from protoproof.cli import main as cli_main

    out, err = io.StringIO(), io.StringIO()
    with registration(Protocol("spells-rms", SpellsRms)):
        code = cli_main(["check", "spells-rms", "--rms", "5", "--symmetry", "--quiet"], out, err)
    assert code == 4 and out.getvalue() == ""
    assert err.getvalue().startswith("MODEL ERROR in twophase: property not_aapww is not symmetric")
    assert "the state below: SysState(" in err.getvalue() and "Traceback" not in err.getvalue()


class LateLopsided(TCommit):
    """RM 0 cannot prepare in one situation only: RMs 1 and 2 aborted, RMs 3 and 4 prepared."""

    @transition(rm="rm_ids")
    def prepare(self, s: Any, rm: int) -> Any:
        require(not (rm == 0 and s.rm[1:] == (ABORTED, ABORTED, PREPARED, PREPARED)))
        return TCommit.prepare(self, s, rm)


def test_transitions_asymmetric_on_a_single_state_are_refused() -> None:
    with pytest.raises(SymmetryError, match=r"transitions of tcommit are not symmetric: .* after renaming rm 0→1, 1→0"):
        explore(LateLopsided(rms=5), symmetry=True)


def test_a_model_z3_cannot_encode_is_exhausted_with_its_transitions_checked_on_every_state() -> None:
    r = explore(Election(lambda: FifoChannels(capacity=1)), symmetry=True)  # FIFO queues have no z3 encoding
    assert r.verdict == "exhausted" and r.justification is not None
    assert sorted(r.justification.checked) == ["acked_only_counted", "all_acked"] and not r.justification.proved
    assert not r.justification.transitions_proved and r.justification.transitions_status == "checked"
    assert r.justification.transitions.startswith("not proved (z3 cannot encode them")
    assert "checked under every renaming at every expanded state" in r.justification.transitions


#: Looking a state field up in a dict: z3 cannot encode an action that does (no symbolic hashing).
_RANK = {WORKING: 0, PREPARED: 1, COMMITTED: 2, ABORTED: 3}


class Backwards(TCommit):
    """A planted asymmetry: RM 2 commits while RM 0 has aborted, only where RMs 0..2 are (a, w, p).

    The canonical representative of that orbit is (w, p, a), and its generator renamings are
    (p, w, a) and (w, a, p): only the 3-cycle reaches (a, w, p), so comparing successors under
    the generators, even at every expanded state, passes, and the reduced search never fires it.
    """

    @transition()
    def glitch(self, s: TC) -> TC:
        require([_RANK[x] for x in s.rm[:3]] == [3, 0, 1])
        return self._set(s, 2, COMMITTED)

    @sometimes
    def mixed(self, s: TC) -> bool:
        """Symmetric: one RM committed and another aborted (only the glitch gets there)."""
        return COMMITTED in s.rm and ABORTED in s.rm


class Harmless(TCommit):
    """Symmetric, but z3 cannot encode its extra action (a stutter while every RM works)."""

    @transition()
    def idle(self, s: TC) -> TC:
        require(all(_RANK[x] == 0 for x in s.rm))
        return s


def test_generators_agreeing_on_every_expanded_state_do_not_make_the_transitions_symmetric() -> None:
    """Why the transitions are compared under the whole group: the generators pass at every orbit's
    representative of Backwards, the whole group does not."""
    m = Backwards(rms=3)
    canon = Canonicalizer(m)
    t, expand = m.state_type, m.expander()
    reps = {canon.key(s) for s in reachable(m)}
    for c in reps:
        check_symmetric(m, canon, t.unpack(c), generators(canon), expand)
    with pytest.raises(SymmetryError, match=r"transitions of tcommit are not symmetric at TC\(rm=\('working', "
                       r"'prepared', 'aborted'\)\): renaming rm 0→1, 1→2, 2→0 changes the successors"):
        for c in sorted(reps):
            check_symmetric(m, canon, t.unpack(c), group_elements(canon), expand)


def test_an_asymmetry_the_assumed_symmetry_hid_is_caught_when_z3_cannot_prove_the_transitions() -> None:
    m = Backwards(rms=3)
    assert explore(m, properties=["atomicity"]).verdict == "violated"  # the full search, after the glitch
    with pytest.raises(SymmetryError, match="transitions of tcommit are not symmetric"):
        explore(m, properties=["atomicity"], symmetry=True)  # was exhausted: 13 orbits, the glitch never fired


def test_a_symmetric_model_z3_cannot_encode_is_exhausted_with_every_orbit() -> None:
    m = Harmless(rms=3)
    r = explore(m, symmetry=True)
    assert r.verdict == "exhausted" and r.justification is not None
    assert r.justification.transitions_status == "checked"
    assert r.stats.distinct_states == len(orbits_of(m, reachable(m)))


def test_a_group_too_large_to_check_ends_bounded_where_the_transitions_are_assumed() -> None:
    m = Backwards(rms=7)  # 5,040 renamings: more than GROUP_LIMIT
    assert explore(m, properties=["atomicity"]).verdict == "violated"
    r = explore(m, properties=["atomicity"], symmetry=True)
    assert r.verdict == "bounded" and r.property is None and r.justification is not None
    assert r.justification.transitions_status == "assumed"
    assert r.bound is not None and "(symmetry assumed, not proved)" in r.bound and "5,040 renamings" in r.bound


def test_an_unreached_sometimes_is_not_called_violated_where_the_transitions_are_assumed() -> None:
    m = Backwards(rms=7)
    assert explore(m, properties=["mixed"]).verdict == "exhausted"  # the full search reaches it
    r = explore(m, properties=["mixed"], symmetry=True)  # the reduced one does not: no promise either way
    assert r.verdict == "bounded" and r.unreached() == ["mixed"]


def test_a_symmetric_model_too_large_to_check_is_bounded_not_exhausted_in_the_cli() -> None:
    from protoproof.cli import main as cli_main

    out, err = io.StringIO(), io.StringIO()
    with registration(Protocol("harmless", Harmless)):
        code = cli_main(["check", "harmless", "--rms", "7", "--symmetry"], out, err)
        assert code == 3, err.getvalue()
        assert "BOUNDED: no violation found within a symmetry-reduced search that assumes the transitions " \
               "symmetric" in out.getvalue()
        out = io.StringIO()
        assert cli_main(["check", "harmless", "--rms", "3", "--symmetry", "--json"], out, err) == 0
    d = json.loads(out.getvalue())
    assert d["verdict"] == "exhausted" and d["symmetry_justification"]["transitions_justified"] == "checked"


class SpellsRmsWithIs(TwoPhase):
    @always
    def not_aapww_by_identity(self, s: Any) -> bool:
        """Names RMs with ``is``, which is constant on z3 values: its formula is trivially symmetric."""
        r = s.nodes
        return not (r[0] is ABORTED and r[1] is ABORTED and r[2] is PREPARED and r[3] is WORKING and r[4] is WORKING)


def test_a_property_naming_ids_with_is_is_not_exhausted_under_symmetry() -> None:
    """Today its formula is constant, z3 proves that invariant and the cross-check on the first states
    catches the Python; once the twin rewrites or refuses ``is``, z3 refutes it or the fallback catches it."""
    m = SpellsRmsWithIs(rms=5)
    assert explore(m, properties=["not_aapww_by_identity"]).verdict == "violated"
    with pytest.raises(SymmetryError, match="property not_aapww_by_identity is not symmetric"):
        explore(m, properties=["not_aapww_by_identity"], symmetry=True)


def _named_flags(rms: Sequence[Any]) -> Any:
    """A generator has no twin: on z3 values its `is` tests are plain identity, always False."""
    yield rms[0] is PREPARED
    yield rms[1] is COMMITTED


class NamesRmsWithoutATwin(TwoPhase):
    @always
    def never_rm0_prepared_while_rm1_committed(self, s: Any) -> bool:
        return not all(_named_flags(self.rm_states(s)))


def test_a_property_whose_formula_is_untied_is_not_proved_symmetric() -> None:
    # Its formula is the constant True, which z3 "proves" symmetric; the Python names RMs 0 and 1.
    m = NamesRmsWithoutATwin(rms=5)
    assert explore(m, properties=["never_rm0_prepared_while_rm1_committed"]).verdict == "violated"
    j = justify(m, Canonicalizer(m), list(m.invariants), [], [])
    assert "never_rm0_prepared_while_rm1_committed" in j.checked
    assert "runs without a twin" in j.checked["never_rm0_prepared_while_rm1_committed"]
    with pytest.raises(AsymmetricDefinition, match="never_rm0_prepared_while_rm1_committed"):
        explore(m, properties=["never_rm0_prepared_while_rm1_committed"], symmetry=True)


