"""Model-based test: Hypothesis drives real 2PC hosts and the codec over loopback sockets.

Every frame a host sends is parked by the fault injector; the rules deliver (over a real
TCP connection, through the codec), drop or duplicate parked frames, run the nodes' local
steps, crash a node (its memory is gone) and recover it from sqlite.  The model is stepped
alongside with the matching action; after every rule each real node's state must equal the
model's, and the model's ``@always`` properties must hold on the real states.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from protoproof.impl.codec import Frame
from protoproof.impl.faults import FaultInjector
from protoproof.impl.service import Service
from protoproof.impl.transport import connect
from protoproof.impl.tx import DurableRM, DurableTM, DurableTwoPhase, twophase_cluster, wire_type
from protoproof.models.actors import Node
from protoproof.models.schema import Type
from protoproof.models.twophase import TwoPhase, node_configs

RMS = 2
MAX_CRASHES = 6


class BareNode(Service):
    """Only the model's node behind a host: no service logic deciding anything."""

    def make_node(self) -> Node[Any]:
        cfg = node_configs(RMS)[self.id]
        return DurableTM(cfg) if self.id == RMS else DurableRM(cfg)

    def model_message_type(self) -> Type:
        return TwoPhase(rms=RMS).message_type()

    def wire_type(self) -> Type:
        return wire_type(RMS)


class TwoPhaseHosts(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.dir = tempfile.mkdtemp(prefix="pp-mbt-")
        self.cfg = twophase_cluster(self.dir, RMS)
        self.faults = FaultInjector(hold=True)
        self.nodes: list[BareNode | None] = [None] * (RMS + 1)
        self.last: list[Any] = [None] * (RMS + 1)
        for i in range(RMS + 1):
            self._boot(i)
        self.model = DurableTwoPhase(rms=RMS, max_crashes=MAX_CRASHES)
        self.steps = {(a.name, a.args): f for a, f in self.model._compiled()}
        self.s = self.model.initial_states()[0]
        self.names = [n.name for n in self.model.node_list]
        self.crashes = 0

    def _boot(self, i: int) -> None:
        node = BareNode(self.cfg, i, faults=self.faults)
        self.loop.run_until_complete(node.start())
        node.host.state(0)
        self.nodes[i] = node
        self.last[i] = node.host.states[0]

    def _model(self, name: str, args: tuple[tuple[str, Any], ...]) -> None:
        t = self.steps[(name, args)](self.s)
        if t is not None:
            self.s = t

    def teardown(self) -> None:
        for n in self.nodes:
            if n is not None:
                self.loop.run_until_complete(n.stop())
        self.loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ----- rules -----
    @rule(node=st.integers(0, RMS), step=st.sampled_from(["prepare", "choose_to_abort", "commit", "abort"]))
    def local_step(self, node: int, step: str) -> None:
        n = self.nodes[node]
        is_tm = node == RMS
        if n is None or is_tm != (step in ("commit", "abort")):
            return
        n.host.step(0, step)
        self._model(step, (("node", self.names[node]),))

    def _send(self, f: Frame) -> bool:
        """Deliver ``f`` over a fresh TCP connection through the codec; True once it was handled."""
        dst = self.nodes[f.dst]
        if dst is None:
            return False
        before = dst.transport.received

        async def go() -> None:
            addr = self.cfg.node(f.dst)
            _r, w, link, _back = await connect(addr.host, addr.port)
            w.write(dst.codec.encode(f, link))
            await w.drain()
            for _ in range(2000):
                if dst.transport.received > before:
                    break
                await asyncio.sleep(0.001)
            w.close()

        self.loop.run_until_complete(go())
        assert dst.transport.received == before + 1, "a well-formed frame was not received"
        msg = f.msg
        self._model("deliver", (("src", self.names[f.src]), ("dst", self.names[f.dst]), ("msg", msg)))
        return True

    @precondition(lambda self: bool(self.faults.held))
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        k = data.draw(st.integers(0, len(self.faults.held) - 1))
        f = self.faults.held[k]
        if self.nodes[f.dst] is not None:
            self.faults.held.pop(k)
            self._send(f)

    @precondition(lambda self: bool(self.faults.held))
    @rule(data=st.data())
    def duplicate(self, data: st.DataObject) -> None:
        f = data.draw(st.sampled_from(self.faults.held))
        self._send(f)  # the copy; the original stays in flight

    @precondition(lambda self: bool(self.faults.held))
    @rule(data=st.data())
    def drop(self, data: st.DataObject) -> None:
        self.faults.held.pop(data.draw(st.integers(0, len(self.faults.held) - 1)))

    @precondition(lambda self: self.crashes < MAX_CRASHES)
    @rule(node=st.integers(0, RMS))
    def crash(self, node: int) -> None:
        n = self.nodes[node]
        if n is None:
            return
        self.loop.run_until_complete(n.stop())
        self.nodes[node] = None
        self.crashes += 1
        self._model("crash", (("node", self.names[node]),))

    @rule(node=st.integers(0, RMS))
    def recover(self, node: int) -> None:
        if self.nodes[node] is not None:
            return
        self._boot(node)
        self._model("recover", (("node", self.names[node]),))

    # ----- checks -----
    @invariant()
    def real_states_equal_the_models(self) -> None:
        for i, n in enumerate(self.nodes):
            if n is not None:
                self.last[i] = n.host.states[0]
                assert self.last[i] == self.s.nodes[i], (self.names[i], self.last[i], self.s.nodes[i])

    @invariant()
    def model_invariants_hold_on_the_real_states(self) -> None:
        real = self.s._replace(nodes=tuple(self.last))
        for p in self.model.invariants:
            assert p.fn(real), f"{p.name} violated by the real node states {self.last}"


TwoPhaseHosts.TestCase.settings = settings(max_examples=20, stateful_step_count=25, deadline=None)
test_two_phase_hosts_follow_the_model = TwoPhaseHosts.TestCase
