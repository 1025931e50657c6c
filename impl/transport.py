"""TCP on loopback: one listening socket per node, one outgoing connection per peer.

Outgoing connections are write-only and reconnect with backoff; a frame that cannot be sent
is dropped (the models assume a lossy network, the services retry).  Inbound connections
are read-only, except that replies to a client go back on the connection it opened.  Every
rejected frame costs one log line and a counter increment; the connection survives unless
the length prefix itself is unusable (there is then no way to find the next frame).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from .codec import HEADER, Codec, Frame, FrameError
from .faults import FaultInjector

log = logging.getLogger("protoproof.impl")

#: Outgoing frames queued per peer before new ones are dropped.
QUEUE_LIMIT = 10_000


class _Peer:
    """The outgoing connection to one node."""

    def __init__(self, t: Transport, dst: int) -> None:
        self.t, self.dst = t, dst
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_LIMIT)
        self.dropped = 0
        self.task = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        addr = self.t.addrs[self.dst]
        backoff = 0.02
        while not self.t.closed:
            try:
                _r, w = await asyncio.wait_for(asyncio.open_connection(*addr), 1.0)
            except (TimeoutError, OSError):
                # The peer is unreachable: what was queued for it is lost (the network is lossy;
                # the protocols retransmit), rather than delivered late as a stale burst.
                self.dropped += self.queue.qsize()
                self.queue = asyncio.Queue(QUEUE_LIMIT)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 0.1)  # a refused connect on loopback costs nothing
                continue
            backoff = 0.02
            try:
                while not self.t.closed:
                    data = await self.queue.get()
                    w.write(data)
                    if self.queue.empty():
                        await w.drain()
            except (OSError, ConnectionError):
                pass  # the frame in hand is lost: the network is lossy
            finally:
                w.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(w.wait_closed(), 1.0)


class Transport:
    """Frames in and out of one node (or one client, which listens nowhere)."""

    def __init__(self, me: int, codec: Codec, addrs: dict[int, tuple[str, int]],
                 on_frame: Callable[[Frame], None], faults: FaultInjector | None = None,
                 allowed_hosts: frozenset[str] = frozenset({"127.0.0.1"})) -> None:
        self.me, self.codec, self.addrs, self.on_frame = me, codec, addrs, on_frame
        self.faults = faults
        if faults is not None:
            faults.on_heal = self._heal  # frames held across a partition go out when it heals
        self.allowed_hosts = allowed_hosts
        self.peers: dict[int, _Peer] = {}
        self.clients: dict[int, asyncio.StreamWriter] = {}
        self.server: asyncio.Server | None = None
        self.conns: set[asyncio.Task[Any]] = set()
        self.writers: set[asyncio.StreamWriter] = set()
        self.received = 0
        self.rejected = 0
        self.sent = 0
        self.closed = False

    async def listen(self) -> None:
        host, port = self.addrs[self.me]
        self.server = await asyncio.start_server(self._accept, host, port, reuse_address=True)

    def _reject(self, peer: Any, why: str) -> None:
        self.rejected += 1
        log.warning("node %s rejected a frame from %s: %s", self.me, peer, why)

    async def _accept(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.conns.add(task)
        self.writers.add(w)
        peer = w.get_extra_info("peername")
        who: int | None = None
        try:
            if not peer or peer[0] not in self.allowed_hosts:
                self._reject(peer, "connection from an address not in the cluster file")
                return
            who = await self.read_frames(r, peer, w)
        except asyncio.CancelledError:
            pass  # closing the node ends its connections
        finally:
            if who is not None and self.clients.get(who) is w:
                del self.clients[who]
            self.writers.discard(w)
            w.close()
            if task is not None:
                self.conns.discard(task)

    async def read_frames(self, r: asyncio.StreamReader, peer: Any, w: asyncio.StreamWriter | None) -> int | None:
        """Read frames until EOF; returns the authenticated sender of this connection."""
        who: int | None = None
        while not self.closed:
            try:
                head = await r.readexactly(HEADER.size)
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                return who
            (n,) = HEADER.unpack(head)
            try:
                self.codec.check_length(n)
            except FrameError as e:
                self._reject(peer, f"{e}; closing the connection")
                return who
            try:
                body = await r.readexactly(n)
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                return who
            try:
                f = self.codec.decode_body(body)
            except FrameError as e:
                self._reject(peer, str(e))
                continue
            if f.dst != self.me:
                self._reject(peer, f"frame addressed to {f.dst}, not to this node")
                continue
            if who is None:
                who = f.src
                if w is not None and f.src not in self.addrs:
                    self.clients[f.src] = w  # replies to a client go back on its connection
            elif f.src != who:
                self._reject(peer, f"frame claims sender {f.src} on a connection of {who}")
                continue
            self.received += 1
            try:
                self.on_frame(f)
            except Exception:
                log.exception("node %s: handling %r failed", self.me, f)
        return who

    def send(self, f: Frame) -> None:
        """Queue ``f`` for its addressee (through the fault injector); never blocks."""
        if self.closed:
            return
        if f.dst == self.me:
            asyncio.get_running_loop().call_soon(self._local, f)
            return
        delays = [0.0] if self.faults is None else self.faults.route(f)
        if not delays:
            return
        data = self.codec.encode(f)
        for d in delays:
            if d > 0:
                asyncio.get_running_loop().call_later(d, self._push, f.dst, data)
            else:
                self._push(f.dst, data)

    def send_raw(self, dst: int, data: bytes) -> None:
        """Push encoded bytes past the fault injector (the model-based tests deliver held frames)."""
        self._push(dst, data)

    def _heal(self, f: Frame) -> None:
        if not self.closed:
            self._push(f.dst, self.codec.encode(f))

    def _local(self, f: Frame) -> None:
        if not self.closed:
            self.on_frame(f)

    def _push(self, dst: int, data: bytes) -> None:
        if self.closed:
            return
        if dst in self.addrs:
            p = self.peers.get(dst)
            if p is None:
                p = self.peers[dst] = _Peer(self, dst)
            try:
                p.queue.put_nowait(data)
                self.sent += 1
            except asyncio.QueueFull:
                pass
            return
        w = self.clients.get(dst)
        if w is not None and not w.is_closing():
            w.write(data)
            self.sent += 1

    async def close(self) -> None:
        self.closed = True
        if self.server is not None:
            self.server.close()
        for p in self.peers.values():
            p.task.cancel()
        for w in list(self.writers):
            w.close()
        for t in list(self.conns):
            t.cancel()
        tasks = [p.task for p in self.peers.values()] + list(self.conns)
        if tasks:
            # bounded: Python 3.11's wait_for can swallow a cancellation (the loops also check `closed`)
            await asyncio.wait(tasks, timeout=2.0)
        if self.server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 1.0)
