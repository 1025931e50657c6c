"""Bounded resources: idle and half-open connections, oversize frames, junk, and bursts of
requests leave a node serving, its log short, and every request answered."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import resource
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from protoproof.impl.client import Endpoint, Overloaded
from protoproof.impl.cluster import ClusterConfig, NodeAddr, free_ports, load_cluster
from protoproof.impl.codec import HEADER, MAX_FRAME, Codec, Frame, Keys, Text
from protoproof.impl.kv import KVClient, Reply, Request, paxos_cluster, wire_type
from protoproof.impl.launcher import Cluster
from protoproof.impl.transport import Limits, RejectLog, Transport, connect

SECRET = b"s" * 32
#: The keys of a node 0 whose default client pool is 1000..1009, as ``ClusterConfig(..., clients=10)`` derives them.
KEYS = Keys.from_master(SECRET, [0], pool_ids=range(1000, 1010))


def with_transport(limits: Limits, body: Callable[[Transport, tuple[str, int]], Awaitable[None]],
                   admit: Callable[[Frame], bool] | None = None) -> None:
    """A lone node 0 (of ids 0 and 1, clients from 1000) that answers "pong" to every client frame."""

    async def main() -> None:
        addrs = {0: ("127.0.0.1", free_ports(1)[0])}
        codec = Codec(Text(64), KEYS, [0, *range(1000, 1010)])
        t: Transport

        def on_frame(f: Frame) -> None:
            t.send(Frame(0, f.src, f.inst, "pong"))

        t = Transport(0, codec, addrs, on_frame, limits=limits)
        t.admit = admit
        await t.listen()
        try:
            await body(t, addrs[0])
        finally:
            await t.close()

    asyncio.run(asyncio.wait_for(main(), 60))


async def ping(addr: tuple[str, int], client: int = 1000) -> str:
    codec = Codec(Text(64), KEYS, [0, *range(1000, 1010)])
    r, w, out, back = await connect(*addr)
    w.write(codec.encode(Frame(client, 0, 0, "ping"), out))
    head = await asyncio.wait_for(r.readexactly(HEADER.size), 5)
    f = codec.decode_body(await r.readexactly(HEADER.unpack(head)[0]), back)
    w.close()
    return str(f.msg)


async def closed_within(r: asyncio.StreamReader, seconds: float) -> bool:
    """The node hung up within ``seconds`` (whatever it wrote before)."""
    try:
        await asyncio.wait_for(r.read(), seconds)
    except TimeoutError:
        return False
    return r.at_eof()


def test_a_half_frame_held_open_is_closed_after_the_frame_timeout() -> None:
    async def body(t: Transport, addr: tuple[str, int]) -> None:
        r, w, _o, _b = await connect(*addr)
        w.write(HEADER.pack(200) + b"x" * 50)  # a length, then a quarter of the frame, then nothing
        await w.drain()
        t0 = time.monotonic()
        assert await closed_within(r, 3)
        assert 0.3 <= time.monotonic() - t0 < 2 and t.timed_out == 1
        assert await ping(addr) == "pong"

    with_transport(Limits(frame_timeout=0.4, auth_timeout=30), body)


def test_a_connection_that_sends_nothing_is_closed_after_the_auth_timeout_and_a_client_after_the_idle_one() -> None:
    async def body(t: Transport, addr: tuple[str, int]) -> None:
        r, w, _o, _b = await connect(*addr)
        assert await closed_within(r, 3) and t.timed_out == 1
        codec = Codec(Text(64), KEYS, [0, *range(1000, 1010)])
        r, w, out, _b = await connect(*addr)
        w.write(codec.encode(Frame(1000, 0, 0, "ping"), out))
        assert await closed_within(r, 4) and t.timed_out == 2  # authenticated, then silent

    with_transport(Limits(auth_timeout=0.4, idle_timeout=1.0), body)


def test_an_oversize_length_prefix_is_rejected_before_any_of_its_body_is_read() -> None:
    async def body(t: Transport, addr: tuple[str, int]) -> None:
        r, w, _o, _b = await connect(*addr)
        w.write(HEADER.pack(MAX_FRAME + 1))  # and no body at all: the node must not wait for it
        await w.drain()
        assert await closed_within(r, 1) and t.rejected == 1 and t.timed_out == 0

    with_transport(Limits(frame_timeout=30, auth_timeout=30), body)


def test_unauthenticated_connections_beyond_the_cap_close_the_oldest_and_clients_still_get_in() -> None:
    async def body(t: Transport, addr: tuple[str, int]) -> None:
        silent = [await connect(*addr) for _ in range(20)]
        for r, *_rest in silent[:12]:
            assert await closed_within(r, 2)  # the oldest twelve made room
        assert t.evicted == 12 and len(t.pending) == 8
        assert await ping(addr) == "pong"
        for _r, w, *_rest in silent:
            w.close()

    with_transport(Limits(max_pending=8, auth_timeout=30), body)


def test_client_connections_beyond_the_cap_close_the_least_recently_active() -> None:
    async def body(t: Transport, addr: tuple[str, int]) -> None:
        codec = Codec(Text(64), KEYS, [0, *range(1000, 1010)])
        conns = []
        for c in range(6):
            r, w, out, _b = await connect(*addr)
            w.write(codec.encode(Frame(1000 + c, 0, 0, "ping"), out))
            await w.drain()
            await asyncio.sleep(0.05)
            conns.append((r, w))
        assert len(t.client_conns) == 4 and t.evicted == 2
        for _r, w in conns:
            w.close()

    with_transport(Limits(max_clients=4), body)


def test_a_busy_node_answers_busy_and_the_client_retries_with_growing_pauses_then_gives_up() -> None:
    admitted: list[int] = []

    def admit(f: Frame) -> bool:
        admitted.append(f.src)
        return len(admitted) > 4  # busy for the first four frames

    async def body(t: Transport, addr: tuple[str, int]) -> None:
        ep = Endpoint(ClusterConfig("x", (NodeAddr(0, "n0", *addr),), SECRET, clients=10), Text(64), 1000)
        with pytest.raises(Overloaded):
            await ep.request(0, 0, "ping", lambda f: f.msg == "pong", 2.0, busy_retry=False)
        t0 = time.monotonic()
        f = await ep.request(0, 0, "ping", lambda f: f.msg == "pong", 2.0)  # busy three times, then taken
        assert f.msg == "pong" and ep.busy == 4 and t.busy == 4
        assert time.monotonic() - t0 >= 0.02 * (0.5 + 1 + 2) * 0.5  # it paused, more each time
        admitted.clear()
        ep.busy_budget = 0.05
        with pytest.raises(TimeoutError, match="busy"):
            await ep.request(0, 0, "ping", lambda f: f.msg == "pong", 0.05)
        await ep.close()

    with_transport(Limits(), body, admit)


def test_a_request_whose_connection_the_node_closes_is_sent_again_on_a_new_one_at_once() -> None:
    seen: list[int] = []
    t_ref: list[Transport] = []

    def admit(f: Frame) -> bool:
        seen.append(f.src)
        if len(seen) == 1:
            t_ref[0].clients[f.src].abort()  # as a cap or a timeout would
            return False
        return True

    async def body(t: Transport, addr: tuple[str, int]) -> None:
        t_ref.append(t)
        ep = Endpoint(ClusterConfig("x", (NodeAddr(0, "n0", *addr),), SECRET, clients=10), Text(64), 1000)
        t0 = time.monotonic()
        f = await ep.request(0, 0, "ping", lambda f: f.msg == "pong", 5.0)
        assert f.msg == "pong" and ep.dropped == 1 and len(seen) == 2 and time.monotonic() - t0 < 1
        await ep.close()

    with_transport(Limits(), body, admit)


def test_rejections_are_logged_once_per_source_and_reason_then_summed_per_window(
        caplog: pytest.LogCaptureFixture) -> None:
    rl = RejectLog(0, window=0.2, lines=2)
    with caplog.at_level(logging.WARNING, logger="protoproof.impl"):
        for k in range(1234):
            rl.note(("127.0.0.1", 5000 + k % 7), "bad HMAC (not signed with the sender's key for this connection)")
        for k in range(10):
            rl.note(("127.0.0.1", 6000), f"unknown sender {k}")
        for _ in range(5):
            rl.note(("127.0.0.9", 6000), "not JSON: ValueError")
        time.sleep(0.25)
        rl.note(("127.0.0.1", 1), "bad HMAC")  # a new window: the last one's sums first
    lines = [r.getMessage() for r in caplog.records]
    assert lines[:2] == ["node 0 rejected a frame from 127.0.0.1:5000: bad HMAC (not signed with the sender's key "
                         "for this connection)", "node 0 rejected a frame from 127.0.0.1:6000: unknown sender 0"]
    assert lines[2].startswith("node 0 rejected 1,233 frames from 127.0.0.1 in the last 0 s: bad HMAC")
    assert lines[3].startswith("node 0 rejected 9 frames from 127.0.0.1 in the last 0 s: unknown sender N")
    assert lines[4].startswith("node 0 rejected 5 more frames from 1 other sources")
    assert lines[5] == "node 0 rejected a frame from 127.0.0.1:1: bad HMAC" and len(lines) == 6


# ----- real node processes ---------------------------------------------------------------


async def put_to(ep: Endpoint, node: int, key: str, timeout: float = 10, busy_retry: bool = True) -> Frame:
    """A KV put sent to ``node`` only (no failing over to another node): its reply."""
    cid = f"{ep.id}:{uuid.uuid4().hex}"  # command ids are bound to their client
    cmd = json.dumps({"id": cid, "op": "put", "k": key, "v": "v"})
    return await ep.request(node, 0, Request(cmd), lambda f: type(f.msg) is Reply and f.msg.cid == cid, timeout,
                            busy_retry=busy_retry)


def test_eleven_hundred_idle_connections_leave_a_node_with_1024_descriptors_serving(tmp_path: Path) -> None:
    cfg = paxos_cluster(str(tmp_path / "kv"), 3, fsync=False)
    cfg.save()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with Cluster(cfg) as cluster:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))  # the usual default, for the nodes
        try:
            cluster.start_all()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
        addr = cfg.node(0)
        socks = []
        try:
            for _ in range(1100):
                s = socket.socket()
                s.settimeout(0.5)
                with contextlib.suppress(OSError):  # the backlog is full for a moment: the node closes the oldest
                    s.connect((addr.host, addr.port))
                socks.append(s)
            time.sleep(1.0)
            view = load_cluster(cfg.directory)

            async def use_node0() -> None:
                ep = Endpoint(view, wire_type(3), 1000)
                for k in range(5):
                    f = await put_to(ep, 0, f"k{k}")
                    assert f.src == 0
                await ep.close()

            asyncio.run(use_node0())
            assert cluster.alive(0)
        finally:
            for s in socks:
                s.close()
        log = (cfg.node_dir(0) / "node.log").read_text()
        assert "Traceback" not in log and "Too many open files" not in log, log[-2000:]


def test_junk_from_unauthenticated_connections_closes_each_after_three_frames_and_logs_a_few_lines(
        tmp_path: Path) -> None:
    cfg = paxos_cluster(str(tmp_path / "kv"), 3, fsync=False)
    cfg.save()
    with Cluster(cfg) as cluster:
        cluster.start_all()
        logf = cfg.node_dir(0) / "node.log"
        before = logf.read_text().count("\n")

        async def flood() -> None:
            addr = cfg.node(0)
            for k in range(100):
                r, w, _o, _b = await connect(addr.host, addr.port)
                junk = HEADER.pack(200) + bytes([k % 256]) * 200
                w.write(junk * 50)  # 50 frames with no valid MAC
                assert await closed_within(r, 5)
                w.close()

        t0 = time.monotonic()
        asyncio.run(flood())
        time.sleep(0.3)
        grown = logf.read_text().count("\n") - before
        windows = 1 + (time.monotonic() - t0) // Limits().log_window
        assert grown <= windows * (2 * Limits().log_lines + 1), logf.read_text()[-3000:]
        assert cluster.alive(0)


def _burst(cfg: ClusterConfig, n: int) -> tuple[dict[str, int], float]:
    """``n`` concurrent puts to node 0 that take "busy" for an answer: how they were answered."""

    async def main() -> tuple[dict[str, int], float]:
        view = load_cluster(cfg.directory)
        eps = [Endpoint(view, wire_type(3), 1000 + k) for k in range(max(1, n // 10))]
        got = {"value": 0, "busy": 0, "none": 0}
        t0 = time.monotonic()

        async def one(k: int) -> None:
            try:
                await put_to(eps[k % len(eps)], 0, f"k{k}", timeout=20, busy_retry=False)
                got["value"] += 1
            except Overloaded:
                got["busy"] += 1
            except TimeoutError:
                got["none"] += 1

        await asyncio.gather(*(one(k) for k in range(n)))
        took = time.monotonic() - t0
        for ep in eps:
            await ep.close()
        return got, took

    return asyncio.run(main())


def test_200_and_500_concurrent_requests_to_one_node_are_all_answered_and_retried_ones_all_succeed(
        tmp_path: Path) -> None:
    cfg = paxos_cluster(str(tmp_path / "kv"), 3)
    cfg.save()
    with Cluster(cfg) as cluster:
        cluster.start_all()
        for n in (200, 500):
            got, took = _burst(cfg, n)
            assert got["none"] == 0 and got["value"] + got["busy"] == n and got["value"] > 0, got
            assert took < 20, took

        async def retried() -> int:  # the client library retries "busy" with backoff: all succeed
            view = load_cluster(cfg.directory)
            cs = [KVClient(view, 1000 + k, prefer=0) for k in range(200)]
            await asyncio.gather(*(c.put(f"r{k}", "v") for k, c in enumerate(cs)))
            busy = sum(c.ep.busy for c in cs)
            assert await cs[0].get("r199") == "v"
            for c in cs:
                await c.close()
            return busy

        assert asyncio.run(retried()) > 0  # over the limit: some were told to wait, and then got in


def test_a_faults_file_that_cannot_be_read_for_a_moment_keeps_the_plan_and_the_node_running(tmp_path: Path) -> None:
    from protoproof.impl.faults import FAULTS_FILE, FaultInjector, FaultPlan

    fi = FaultInjector()
    plan = FaultPlan(blocked=frozenset({(0, 1)}))
    plan.save(tmp_path)
    fi.reload(tmp_path)
    (tmp_path / FAULTS_FILE).unlink()
    (tmp_path / FAULTS_FILE).mkdir()  # reading it fails with an OSError, as EMFILE does
    fi.reload(tmp_path)
    assert fi.plan.blocked == plan.blocked
