"""Hostile input: malformed or unauthenticated frames on a thousand connections, then the node still serves."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
from pathlib import Path

from protoproof.impl.codec import HEADER, PREFIX, Codec, Link
from protoproof.impl.kv import KVClient, KVNode, paxos_cluster, wire_type
from protoproof.impl.transport import connect


class Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.n = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.n += 1


WIRE = wire_type(3)


def hostile_frames(secret: bytes, link: Link, count: int, rng: random.Random) -> list[bytes]:
    """Frames a node must refuse, for the connection of ``link``: wrong key, no key, bad JSON,
    unknown kinds, bad fields, bad ids (the well-signed ones signed with node 1's own key)."""
    out = []
    own = Codec(WIRE, secret, [0, 1, 2, 77], nodes=[0, 1, 2, 77])
    for k in range(count):
        kind = k % 8
        if kind == 0:  # random garbage (no valid MAC)
            body = rng.randbytes(rng.randrange(PREFIX + 2, 200))
            out.append(HEADER.pack(len(body)) + body)
            link.seq += 1
            continue
        frame = {"s": 1, "d": 0, "i": 0, "m": {"$": "OneA", "bal": 1}}
        key = secret
        if kind == 1:
            key = rng.randbytes(32)  # another cluster's secret
        elif kind == 2:
            frame["m"] = {"$": "Shutdown"}
        elif kind == 3:
            frame["m"] = {"$": "OneA", "bal": -5}
        elif kind == 4:
            frame["s"] = 77  # not in the cluster file
        elif kind == 5:
            frame["d"] = 2  # addressed to someone else
        elif kind == 6:
            frame["m"] = {"$": "TwoA", "bal": 1, "val": {"__reduce__": "os.system"}}
        raw = b"{not json" + rng.randbytes(8) if kind == 7 else json.dumps(frame).encode()
        src, dst = frame["s"], frame["d"]
        assert isinstance(src, int) and isinstance(dst, int)
        c = own if key == secret else Codec(WIRE, key, [0, 1, 2, 77], nodes=[0, 1, 2, 77])
        out.append(c.seal(src, dst, raw, link))
    return out


def test_bad_frames_are_rejected_each_connection_closed_after_three_and_the_node_keeps_serving(tmp_path: Path) -> None:
    counter = Count()
    logger = logging.getLogger("protoproof.impl")
    logger.addHandler(counter)
    old_level = logger.level
    logger.setLevel(logging.WARNING)
    logger.propagate = False

    async def main() -> None:
        cfg = paxos_cluster(str(tmp_path / "kv"), 3)
        nodes = [KVNode(cfg, i) for i in range(3)]
        for nd in nodes:
            await nd.start()
        target = nodes[0]
        addr = cfg.node(0)
        rng = random.Random(5)
        t0 = asyncio.get_running_loop().time()
        try:
            for _ in range(1000):  # each sends 6 bad frames; the node hangs up after the third
                r, w, link, _back = await connect(addr.host, addr.port)
                w.write(b"".join(hostile_frames(cfg.secret, link, 6, rng)))
                await w.drain()
                assert await asyncio.wait_for(r.read(), 5) == b""  # the node hung up
                w.close()
            for _ in range(10):  # a length prefix beyond the limit: refused, connection closed
                r, w, _l, _b = await connect(addr.host, addr.port)
                w.write(HEADER.pack(1 << 30) + b"x" * 100)
                await w.drain()
                assert await asyncio.wait_for(r.read(), 5) == b""  # the node hung up
                w.close()
            for _ in range(10):  # from a loopback address that is not in the cluster file
                s = socket.socket()
                s.bind(("127.0.0.2", 0))
                s.setblocking(False)
                await asyncio.get_running_loop().sock_connect(s, (addr.host, addr.port))
                r, w = await asyncio.open_connection(sock=s)
                assert await asyncio.wait_for(r.read(), 5) == b""
                w.close()
            await asyncio.sleep(0.1)
            assert target.transport.rejected == 3000 + 10 + 10, target.transport.rejected
            # (the only frames accepted meanwhile are the peers' periodic catch-up requests)
            # not a line per frame: per window of 10 s, a few first sightings and a few sums
            windows = 1 + (asyncio.get_running_loop().time() - t0) // target.transport.limits.log_window
            assert counter.n <= windows * (2 * target.transport.limits.log_lines + 1), counter.n
            assert all(nd.host.steps == 0 for nd in nodes)  # nothing reached a handler
            c = KVClient(cfg)
            await c.put("still", "serving")
            assert await c.get("still") == "serving"
            await c.close()
        finally:
            for nd in nodes:
                await nd.stop()

    try:
        asyncio.run(asyncio.wait_for(main(), 120))
    finally:
        logger.removeHandler(counter)
        logger.setLevel(old_level)
        logger.propagate = True


def test_frames_for_an_unreachable_peer_are_dropped_not_sent_late_and_it_is_reached_soon(tmp_path: Path) -> None:
    from protoproof.impl.cluster import free_ports
    from protoproof.impl.codec import Codec, Frame, Text
    from protoproof.impl.transport import Transport

    async def main() -> None:
        addrs = {k: ("127.0.0.1", p) for k, p in enumerate(free_ports(2))}
        codec = Codec(Text(64), b"s" * 32, [0, 1])
        got: list[str] = []
        a = Transport(0, codec, addrs, lambda f: None)
        b = Transport(1, codec, addrs, lambda f: got.append(f.msg))
        for k in range(5):
            a.send(Frame(0, 1, 0, f"early{k}"))  # node 1 is not listening yet
        await asyncio.sleep(0.15)
        assert a.peers[1].dropped == 5
        await b.listen()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        while not got and loop.time() - t0 < 2:
            a.send(Frame(0, 1, 0, "late"))
            await asyncio.sleep(0.02)
        assert got and set(got) == {"late"} and loop.time() - t0 < 0.5
        await a.close()
        await b.close()

    asyncio.run(main())
