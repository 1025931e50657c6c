"""KV write throughput and latency: the 3-server Raft KV beside the 3-node Paxos KV, same run.

    .venv/bin/python benchmarks/runtime.py [--writes 960] [--clients 1 8 32] [--baseline] [--catchup 10000]

Each row does the same writes (unique keys, 16-byte values) from ``--clients`` concurrent
clients, each waiting for its put before the next, against real node processes over TCP on
127.0.0.1 with fsync on (sqlite ``synchronous=FULL``).  The Raft KV batches the commands of one
event-loop turn into one AppendEntries and one group commit (impl/raft.py); the Paxos KV runs a
full single-decree instance per command, its writes of one event-loop turn in one group commit
("group commit"; the row before it: one commit per write, ``--group-commit 0``).
``failover``: with 8 clients writing, kill -9 of the node the clients use (Raft: the leader),
then the time until a put sent after the kill is acknowledged.  ``abuse`` (Paxos, fsync on): a
flood of 1,100 idle connections to a node limited to 1,024 file descriptors, then how fast that
node still answers; a burst of 500 concurrent
requests to one node, answered with a value or "busy", and 500 concurrent puts through the
retrying client (``--abuse-only``: these figures alone).  ``--baseline`` adds the earlier
table: Paxos without fsync and a single local sqlite file (no network, one transaction per
write).  The machine is shared: the load average is printed with the figures.  ``catch-up``: a
Paxos node kill -9'd, ``--catchup`` writes made without it (32 clients), then restarted: the time
until it listens and until it answers a get itself (the value checked), and the decided-log rows
it then keeps (compaction bounds them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from protoproof.impl.client import Endpoint, Overloaded
from protoproof.impl.cluster import ClusterConfig, load_cluster
from protoproof.impl.kv import KVClient, Reply, Request, paxos_cluster, wire_type
from protoproof.impl.launcher import Cluster
from protoproof.impl.raft import RaftKVClient, raft_cluster

Client = Callable[[ClusterConfig, int], Any]
CLIENTS: dict[str, Client] = {
    "paxos": lambda cfg, c: KVClient(cfg, client_id=1000 + c, prefer=0),
    "paxos-ungrouped": lambda cfg, c: KVClient(cfg, client_id=1000 + c, prefer=0),
    "raft": lambda cfg, c: RaftKVClient(cfg, client_id=1000 + c),
}


NAMES = {"paxos-ungrouped": "3-node Paxos KV, a commit per write", "paxos": "3-node Paxos KV, group commit",
         "raft": "3-node Raft KV"}


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def make_cluster(kind: str, d: Path, fsync: bool) -> ClusterConfig:
    if kind.startswith("paxos"):
        cfg = paxos_cluster(str(d), 3, group_commit=kind == "paxos", fsync=fsync)
    else:
        cfg = raft_cluster(str(d), 3, fsync=fsync)
    cfg.save()
    return cfg


async def kv_load(kind: str, cfg: ClusterConfig, writes: int, clients: int) -> tuple[float, list[float]]:
    lat: list[float] = []
    per = max(1, writes // clients)
    kvs = [CLIENTS[kind](cfg, c) for c in range(clients)]
    await asyncio.gather(*(kv.put(f"warmup-{c}", "x") for c, kv in enumerate(kvs)))

    async def one(c: int, kv: Any) -> None:
        for j in range(per):
            t0 = time.perf_counter()
            await kv.put(f"key-{c}-{j}", f"value-{j:010d}")
            lat.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    try:
        await asyncio.gather(*(one(c, kv) for c, kv in enumerate(kvs)))
    finally:
        await asyncio.gather(*(kv.close() for kv in kvs))
    return time.perf_counter() - t0, lat


def bench(kind: str, tmp: Path, writes: int, clients: int, fsync: bool = True) -> tuple[float, list[float]]:
    cfg = make_cluster(kind, tmp / f"{kind}-{clients}-{fsync}", fsync)
    with Cluster(cfg) as cluster:
        cluster.start_all()
        return asyncio.run(kv_load(kind, cfg, writes, clients))


async def _failover(kind: str, cfg: ClusterConfig, cluster: Cluster) -> float:
    probe = CLIENTS[kind](cfg, 200)
    await probe.put("probe", "x")
    target = probe.node  # Raft: the leader (the client ends where it was answered); Paxos: node 0
    await probe.close()
    loop = asyncio.get_running_loop()
    killed: list[float] = []
    resumed: list[float] = []
    done = asyncio.Event()

    async def writer(c: int) -> None:
        kv = CLIENTS[kind](cfg, c)
        j = 0
        try:
            while not done.is_set():
                t0 = loop.time()
                await kv.put(f"f-{c}-{j}", "v")
                j += 1
                if killed and t0 > killed[0] and not resumed:
                    resumed.append(loop.time() - killed[0])
                    done.set()
        finally:
            await kv.close()

    async def killer() -> None:
        await asyncio.sleep(1.0)
        cluster.kill(target)
        killed.append(loop.time())
        await asyncio.wait_for(done.wait(), 30)

    await asyncio.gather(killer(), *(writer(c) for c in range(8)))
    return resumed[0]


def failover(kind: str, tmp: Path) -> float:
    cfg = make_cluster(kind, tmp / f"{kind}-failover", True)
    with Cluster(cfg) as cluster:
        cluster.start_all()
        return asyncio.run(_failover(kind, cfg, cluster))


async def _put_to_node0(ep: Endpoint, key: str, busy_retry: bool = True) -> float:
    cid = f"{ep.id}:{uuid.uuid4().hex}"  # command ids are bound to their client
    cmd = json.dumps({"id": cid, "op": "put", "k": key, "v": "v"})
    t0 = time.perf_counter()
    await ep.request(0, 0, Request(cmd), lambda f: type(f.msg) is Reply and f.msg.cid == cid, 20,
                     busy_retry=busy_retry)
    return time.perf_counter() - t0


def _closed_by_peer(s: socket.socket) -> bool:
    """The other end closed ``s`` (after whatever it sent: a node's nonce)."""
    s.setblocking(False)
    try:
        while s.recv(4096):
            pass
    except (BlockingIOError, InterruptedError):
        return False  # still open
    except OSError:
        return True  # reset (or never connected)
    return True


def connection_flood(tmp: Path, conns: int = 1100) -> str:
    """Idle connections to node 0 of a cluster whose nodes have 1,024 file descriptors."""
    cfg = make_cluster("paxos", tmp / "flood", True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with Cluster(cfg) as cluster:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
        try:
            cluster.start_all()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, conns + 1024)), hard))
        addr = cfg.node(0)
        socks = []
        t0 = time.perf_counter()
        for _ in range(conns):
            s = socket.socket()
            s.settimeout(0.5)
            with contextlib.suppress(OSError):
                s.connect((addr.host, addr.port))
            socks.append(s)
        opened = time.perf_counter() - t0

        async def probe() -> list[float]:
            ep = Endpoint(load_cluster(cfg.directory), wire_type(3), 1000)
            try:
                return [await _put_to_node0(ep, f"probe-{k}") for k in range(20)]
            finally:
                await ep.close()

        lat = asyncio.run(probe())
        closed = sum(_closed_by_peer(s) for s in socks)
        for s in socks:
            s.close()
        alive = cluster.alive(0)
    return (f"connection flood: {conns:,} idle connections to node 0 (its fd limit 1,024) opened in {opened:.1f} s; "
            f"node 0 {'alive' if alive else 'DEAD'}, {closed:,} of them already closed by it; 20 puts on node 0 "
            f"during the flood: p50 {statistics.median(lat) * 1e3:.0f} ms, max {max(lat) * 1e3:.0f} ms")


def request_burst(tmp: Path, n: int = 500) -> list[str]:
    """``n`` concurrent requests to node 0: once answered "value or busy", once through the
    retrying client."""
    cfg = make_cluster("paxos", tmp / "burst", True)
    out = []
    with Cluster(cfg) as cluster:
        cluster.start_all()
        view = load_cluster(cfg.directory)

        async def raw() -> tuple[dict[str, int], float]:
            eps = [Endpoint(view, wire_type(3), 1000 + k) for k in range(max(1, n // 10))]
            got = {"value": 0, "busy": 0, "none": 0}

            async def one(k: int) -> None:
                try:
                    await _put_to_node0(eps[k % len(eps)], f"raw-{k}", busy_retry=False)
                    got["value"] += 1
                except Overloaded:
                    got["busy"] += 1
                except TimeoutError:
                    got["none"] += 1

            t0 = time.perf_counter()
            await asyncio.gather(*(one(k) for k in range(n)))
            took = time.perf_counter() - t0
            await asyncio.gather(*(ep.close() for ep in eps))
            return got, took

        got, took = asyncio.run(raw())
        out.append(f"burst: {n} concurrent requests to node 0, every one answered within {took:.1f} s: "
                   f"{got['value']} with a value, {got['busy']} 'busy, retry', {got['none']} unanswered")

        async def retried() -> tuple[float, list[float], int, int]:
            cs = [KVClient(view, 1000 + k % 250, prefer=0) for k in range(n)]
            lat: list[float] = []

            async def one(k: int) -> None:
                t0 = time.perf_counter()
                await cs[k].put(f"retried-{k}", "v")
                lat.append(time.perf_counter() - t0)

            t0 = time.perf_counter()
            await asyncio.gather(*(one(k) for k in range(n)))
            el = time.perf_counter() - t0
            busy, retries = sum(c.ep.busy for c in cs), sum(c.retries for c in cs)
            await asyncio.gather(*(c.close() for c in cs))
            return el, lat, busy, retries

        el, lat, busy, retries = asyncio.run(retried())
        out.append(f"burst: {n} concurrent puts through the retrying client: all acknowledged in {el:.1f} s "
                   f"({n / el:.0f} writes/s, p50 {statistics.median(lat):.1f} s, max {max(lat):.1f} s; "
                   f"{busy:,} 'busy' answers waited out, {retries} tries on another node)")
    return out


def abuse_figures(tmp: Path) -> None:
    print(connection_flood(tmp), flush=True)
    for line in request_burst(tmp):
        print(line, flush=True)
async def _missed_writes(cfg: ClusterConfig, writes: int, clients: int) -> dict[str, str]:
    last: dict[str, str] = {}

    async def one(c: int) -> None:
        kv = KVClient(cfg, client_id=1000 + c, prefer=0, timeout=5.0, budget=60.0)
        try:
            for j in range(writes // clients):
                await kv.put(f"c-{c}", f"value-{j:010d}")
                last[f"c-{c}"] = f"value-{j:010d}"
        finally:
            await kv.close()

    await asyncio.gather(*(one(c) for c in range(clients)))
    return last


async def _first_answer(cfg: ClusterConfig, key: str) -> tuple[str | None, int]:
    kv = KVClient(cfg, client_id=1250, prefer=2, timeout=30.0, budget=30.0)  # no retry elsewhere
    try:
        return await kv.get(key), kv.retries
    finally:
        await kv.close()


def catchup(tmp: Path, writes: int) -> tuple[float, float, int]:
    """Node 2 misses ``writes`` writes: (s until it listens, s until it answered, its log rows)."""
    cfg = make_cluster("paxos", tmp / "paxos-catchup", True)
    with Cluster(cfg) as cluster:
        cluster.start_all()
        cluster.kill(2)
        last = asyncio.run(_missed_writes(cfg, writes, 32))
        t0 = time.perf_counter()
        cluster.start(2)
        listening = time.perf_counter() - t0
        got, retries = asyncio.run(_first_answer(cfg, "c-7"))
        answered = time.perf_counter() - t0
        if got != last["c-7"] or retries:
            raise SystemExit(f"catch-up: node 2 answered {got!r} ({retries} retries), expected {last['c-7']!r}")
    db = sqlite3.connect(cfg.node_dir(2) / "state.sqlite3")
    kept = int(db.execute("SELECT COUNT(*) FROM log").fetchone()[0])
    db.close()
    return listening, answered, kept


def bench_sqlite(tmp: Path, fsync: bool, writes: int) -> tuple[float, list[float]]:
    db = sqlite3.connect(str(tmp / f"base-{fsync}.sqlite3"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={'FULL' if fsync else 'OFF'}")
    db.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)")
    lat = []
    t0 = time.perf_counter()
    for j in range(writes):
        t = time.perf_counter()
        db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (f"key-{j}", f"value-{j:010d}"))
        lat.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - t0
    db.close()
    return elapsed, lat


def row(name: str, clients: int, el: float, lat: list[float]) -> str:
    return (f"{name:34} {clients:>7} {len(lat):>7} {len(lat) / el:>10.0f} {statistics.median(lat) * 1e3:>8.2f} "
            f"{pct(lat, 0.99) * 1e3:>8.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--writes", type=int, default=960, help="writes per row (split among the clients)")
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--no-failover", action="store_true")
    ap.add_argument("--baseline", action="store_true", help="also Paxos without fsync and local sqlite")
    ap.add_argument("--no-abuse", action="store_true", help="without the connection-flood and burst figures")
    ap.add_argument("--abuse-only", action="store_true", help="only the connection-flood and burst figures")
    ap.add_argument("--catchup", type=int, default=10000, metavar="N",
                    help="writes a restarted Paxos node missed (0: no catch-up figure)")
    ap.add_argument("--only-catchup", action="store_true", help="only the catch-up figure")
    a = ap.parse_args(argv)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    if a.abuse_only:
        with tempfile.TemporaryDirectory(prefix="pp-bench-") as d:
            abuse_figures(Path(d))
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return 0
    head = f"{'configuration (fsync on)':34} {'clients':>7} {'writes':>7} {'writes/s':>10} {'p50 ms':>8} {'p99 ms':>8}"
    ratios = []
    with tempfile.TemporaryDirectory(prefix="pp-bench-") as d:
        tmp = Path(d)
        if a.catchup:
            listening, answered, kept = catchup(tmp, a.catchup)
            print(f"catch-up after missing {a.catchup} writes (Paxos, kill -9 then restart): listening after "
                  f"{listening:.2f} s, first answer after {answered:.2f} s; {kept} decided-log rows kept", flush=True)
        if not a.only_catchup:
            print(head, flush=True)
        for c in [] if a.only_catchup else a.clients:
            got = {}
            for kind in ("paxos-ungrouped", "paxos", "raft"):
                el, lat = bench(kind, tmp, a.writes, c)
                got[kind] = len(lat) / el
                print(row(NAMES[kind], c, el, lat), flush=True)
            ratios.append((c, got["raft"] / got["paxos"], got["paxos"] / got["paxos-ungrouped"]))
        if ratios:
            print("Raft/Paxos throughput: " + ", ".join(f"{r:.1f}x at {c} client(s)" for c, r, _g in ratios))
            print("Paxos group commit/one commit per write: "
                  + ", ".join(f"{g:.1f}x at {c} client(s)" for c, _r, g in ratios))
        if not a.no_failover and not a.only_catchup:
            for kind in ("paxos", "raft"):
                print(f"failover after kill -9 ({kind}, 8 clients writing): {failover(kind, tmp):.2f} s", flush=True)
        if not a.no_abuse and not a.only_catchup:
            abuse_figures(tmp)
        if a.baseline and not a.only_catchup:
            el, lat = bench("paxos", tmp, a.writes, max(a.clients), fsync=False)
            print(row("3-node Paxos KV, no fsync", max(a.clients), el, lat))
            for fsync in (True, False):
                el, lat = bench_sqlite(tmp, fsync, a.writes)
                print(row(f"1-node sqlite, {'fsync' if fsync else 'no fsync'}", 1, el, lat))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
