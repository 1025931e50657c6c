"""Nodes are configured by a value (id, name, peers by role, parameters), not by their system."""

from __future__ import annotations

from typing import Any

import pytest

from protoproof.models.actors import ActorSystem, Broadcast, NodeConfig, Send, peers
from protoproof.models.paxos import Acceptor, Leader, OneA, OneB, Paxos, PaxosParams, majorities
from protoproof.models.schema import Int, OneOf, Record, Union
from protoproof.models.twophase import TwoPhase


def _refers_to_a_system(node: Any) -> bool:
    return any(isinstance(v, ActorSystem) for v in vars(node).values())


@pytest.mark.parametrize("model", [Paxos(), TwoPhase(rms=3)], ids=["paxos", "twophase"])
def test_nodes_are_configured_by_a_value_not_by_their_system(model: ActorSystem) -> None:
    for n in model.node_list:
        assert isinstance(n.config, NodeConfig) and n.config.id == n.id and n.config.name == n.name
        assert not _refers_to_a_system(n), f"{n.name} holds a reference to its system"


def test_a_node_built_outside_any_system_behaves_as_the_models() -> None:
    """What the runtime does: the same classes from a NodeConfig, with other peers and bounds."""
    m = Paxos(acceptors=3, max_ballot=1)
    acc_type = Record(m.acc_type.cls, max_bal=Int(-1, 99), max_vbal=Int(-1, 99),
                      max_val=Union(OneOf(None), Int(0, 9)))
    ids = peers(acceptor=range(3), leader=range(3))
    params = PaxosParams(majorities(3), range(10), acc_type)
    a1 = Acceptor(NodeConfig(1, "a1", ids, params))
    s0 = a1.on_start()[0]
    r = a1.on_message(s0, 2, OneA(5))
    assert r is not None and r[0].max_bal == 5
    assert r[1][-1] == Send(5 % 3, OneB(1, 5, -1, None))  # ballot 5's leader: three take turns
    assert a1.state_type() is acc_type
    leader = Leader(NodeConfig(2, "a2", ids, params), 5)
    out = leader.phase1a(leader.on_start()[0], frozenset())
    assert out is not None and out[1] == (Broadcast((0, 1, 2), OneA(5)),)
    with pytest.raises(KeyError, match="no peers of role 'tm'"):
        NodeConfig(0, "x", ids).ids("tm")
