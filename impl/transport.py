"""TCP on loopback: one listening socket per node, one outgoing connection per peer.

Outgoing connections are write-only and reconnect with backoff; a frame that cannot be sent
is dropped (the models assume a lossy network, the services retry).  Inbound connections
are read-only, except that replies to a client go back on the connection it opened.  The
accepting side speaks first: a random nonce, which every frame's MAC on that connection covers
with the frame's position (``codec.Link``), so frames cannot be replayed from one connection
to another.

The inbound side is bounded (``Limits``), so that no peer, signed or not, can exhaust the
node: connections that have not yet sent a valid frame are few (the oldest is closed for a new
one) and must authenticate soon; client connections are capped (the least recently active is
closed) and closed when idle; a frame's rest must follow its length prefix promptly, and the
prefix is checked before any of the body is read; a connection is closed after a few rejected
frames; a client frame the service cannot take now is answered ``Busy`` (``admit``).
Rejections are counted, and logged per source and reason at most a few lines per window
(``RejectLog``), never a line per frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import re
import resource
import time
from collections.abc import Callable
from typing import Any

from .codec import HEADER, NONCE_LEN, Busy, Codec, Frame, FrameError, Link
from .faults import FaultInjector

log = logging.getLogger("protoproof.impl")

#: Outgoing frames queued per peer before new ones are dropped.
QUEUE_LIMIT = 10_000
#: Bytes queued for a client that does not read its replies before its connection is closed.
CLIENT_BUFFER = 4 << 20


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one node's inbound side holds at most, and for how long."""

    #: Connections that have not yet sent a valid frame (the oldest is closed for a new one).
    max_pending: int = 128
    #: Client connections (the least recently active is closed for a new one).
    max_clients: int = 512
    #: Seconds a new connection has to send its first valid frame.
    auth_timeout: float = 5.0
    #: Seconds a client connection may stay silent.
    idle_timeout: float = 300.0
    #: Seconds the rest of a frame may take once its length prefix has arrived.
    frame_timeout: float = 5.0
    #: Rejected frames after which a connection is closed.
    max_bad: int = 3
    #: Rejection log lines are aggregated over windows of this many seconds...
    log_window: float = 10.0
    #: ... with at most this many lines of each kind (first sightings, then sums) per window.
    log_lines: int = 5

    def fitted(self) -> Limits:
        """These limits, lowered so the connections fit the process's file descriptors."""
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return self
        room = max(16, soft - 128)  # sqlite, logs, peers, the listening socket
        pending = min(self.max_pending, max(4, room // 4))
        return dataclasses.replace(self, max_pending=pending, max_clients=min(self.max_clients, room - pending))


def _where(peer: Any, port: bool = True) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}" if port else str(peer[0])
    return f"client {peer}" if isinstance(peer, int) else str(peer)


class RejectLog:
    """Rejected frames, logged without flooding: the first of each (source host, reason) in a window
    is logged at once (at most ``lines`` of them); the others are counted and summed up in one line
    per source and reason when the window ends ("rejected 1,234 frames from 127.0.0.1 in the last
    10 s: bad HMAC"), the least frequent in one line more."""

    def __init__(self, me: int, window: float, lines: int) -> None:
        self.me, self.window, self.lines = me, window, lines
        self.start = 0.0
        self.seen: set[tuple[str, str]] = set()
        self.counts: dict[tuple[str, str], int] = {}
        self.handle: asyncio.TimerHandle | None = None
        self.written = 0

    def note(self, peer: Any, why: str) -> None:
        now = time.monotonic()
        if now - self.start >= self.window:
            self.flush()
            self.start = now
        key = (_where(peer, port=False), re.sub(r"\d+", "N", why)[:100])
        if key not in self.seen and len(self.seen) < self.lines:
            self.seen.add(key)
            self._line("node %s rejected a frame from %s: %s", self.me, _where(peer), why)
            return
        self.counts[key] = self.counts.get(key, 0) + 1
        if self.handle is None:
            with contextlib.suppress(RuntimeError):  # no loop: summed up at the next flush
                self.handle = asyncio.get_running_loop().call_later(self.start + self.window - now, self.flush)

    def flush(self) -> None:
        """Log the sums of the window that ends, and start a new one."""
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        span = time.monotonic() - self.start
        top = sorted(self.counts.items(), key=lambda kv: -kv[1])
        for (where, why), n in top[: self.lines]:
            self._line("node %s rejected %s frame%s from %s in the last %.0f s: %s",
                       self.me, f"{n:,}", "" if n == 1 else "s", where, span, why)
        rest = top[self.lines :]
        if rest:
            self._line("node %s rejected %s more frames from %s other sources in the last %.0f s",
                       self.me, f"{sum(n for _k, n in rest):,}", f"{len(rest):,}", span)
        self.counts.clear()
        self.seen.clear()
        self.start = time.monotonic()

    def _line(self, fmt: str, *args: Any) -> None:
        self.written += 1
        log.warning(fmt, *args)


async def connect(host: str, port: int, timeout: float = 1.0) -> tuple[asyncio.StreamReader, asyncio.StreamWriter,
                                                                        Link, Link]:
    """Open a connection to a node and read its nonce: the reader and writer, the link frames
    are sent on and the link replies are read from."""
    r, w = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        nonce = await asyncio.wait_for(r.readexactly(NONCE_LEN), timeout)
    except BaseException:
        w.close()
        raise
    return r, w, Link(nonce, inbound=True), Link(nonce, inbound=False)


class _Peer:
    """The outgoing connection to one node."""

    def __init__(self, t: Transport, dst: int) -> None:
        self.t, self.dst = t, dst
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_LIMIT)
        self.dropped = 0
        self.task = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        host, port = self.t.addrs[self.dst]
        codec, me = self.t.codec, self.t.me
        backoff = 0.02
        while not self.t.closed:
            body = await self.queue.get()  # connect when there is something to send
            try:
                _r, w, link, _back = await connect(host, port)
            except (TimeoutError, OSError, asyncio.IncompleteReadError):
                # The peer is unreachable: what was queued for it is lost (the network is lossy;
                # the protocols retransmit), rather than delivered late as a stale burst.
                self.dropped += 1 + self.queue.qsize()
                self.queue = asyncio.Queue(QUEUE_LIMIT)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 0.1)  # a refused connect on loopback costs nothing
                continue
            backoff = 0.02
            try:
                while not self.t.closed:
                    w.write(codec.seal(me, self.dst, body, link))
                    if self.queue.empty():
                        await w.drain()
                    body = await self.queue.get()
            except (OSError, ConnectionError):
                pass  # the frame in hand is lost: the network is lossy
            finally:
                w.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(w.wait_closed(), 1.0)


class _Conn:
    """One inbound connection: its links, who it authenticated as, its deadline."""

    __slots__ = ("bad", "deadline", "last", "peer", "rx", "tx", "w", "who")

    def __init__(self, w: asyncio.StreamWriter, peer: Any, nonce: bytes) -> None:
        self.w, self.peer = w, peer
        self.rx, self.tx = Link(nonce, inbound=True), Link(nonce, inbound=False)
        self.who: int | None = None
        self.bad = 0
        self.deadline = float("inf")
        self.last = time.monotonic()

    def abort(self) -> None:
        self.w.transport.abort()


class Transport:
    """Frames in and out of one node (or one client, which listens nowhere).

    ``admit``: asked for each client frame before it is handled; False answers the client
    ``Busy`` (it may send it again later) and drops the frame.
    """

    def __init__(self, me: int, codec: Codec, addrs: dict[int, tuple[str, int]],
                 on_frame: Callable[[Frame], None], faults: FaultInjector | None = None,
                 allowed_hosts: frozenset[str] = frozenset({"127.0.0.1"}), limits: Limits | None = None) -> None:
        self.me, self.codec, self.addrs, self.on_frame = me, codec, addrs, on_frame
        self.faults = faults
        if faults is not None:
            faults.on_heal = self._heal  # frames held across a partition go out when it heals
        self.allowed_hosts = allowed_hosts
        self.limits = (limits or Limits()).fitted()
        self.admit: Callable[[Frame], bool] | None = None
        self.peers: dict[int, _Peer] = {}
        self.clients: dict[int, _Conn] = {}
        self.server: asyncio.Server | None = None
        self.conns: set[asyncio.Task[Any]] = set()
        self.pending: dict[_Conn, None] = {}  # in accept order
        self.client_conns: dict[_Conn, None] = {}
        self.node_conns: set[_Conn] = set()
        self.rejects = RejectLog(me, self.limits.log_window, self.limits.log_lines)
        self._sweeper: asyncio.TimerHandle | None = None
        self.received = 0
        self.rejected = 0
        self.sent = 0
        self.busy = 0
        self.evicted = 0
        self.timed_out = 0
        self.closed = False

    async def listen(self) -> None:
        host, port = self.addrs[self.me]
        self.server = await asyncio.start_server(self._accept, host, port, reuse_address=True)
        self._sweep()

    def _reject(self, peer: Any, why: str) -> None:
        self.rejected += 1
        self.rejects.note(peer, why)

    # ----- inbound -----
    def _sweep(self) -> None:
        """Close the connections whose deadline passed (a silent one, a half frame)."""
        now = time.monotonic()
        for c in [*self.pending, *self.client_conns]:
            if c.deadline < now:
                self.timed_out += 1
                c.abort()
        if not self.closed:
            every = max(0.05, min(self.limits.auth_timeout, self.limits.frame_timeout) / 4)
            self._sweeper = asyncio.get_running_loop().call_later(every, self._sweep)

    async def _accept(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.conns.add(task)
        peer = w.get_extra_info("peername")
        nonce = os.urandom(NONCE_LEN)
        c = _Conn(w, peer, nonce)
        try:
            if not peer or peer[0] not in self.allowed_hosts:
                self._reject(peer, "connection from an address not in the cluster file")
                return
            if len(self.pending) >= self.limits.max_pending:
                old = next(iter(self.pending))
                del self.pending[old]
                self.evicted += 1
                old.abort()
            self.pending[c] = None
            c.deadline = time.monotonic() + self.limits.auth_timeout
            w.write(nonce)
            await self._read(r, c)
        except (asyncio.CancelledError, OSError, ConnectionError):
            pass  # closing the node ends its connections; a peer gone is gone
        finally:
            self.pending.pop(c, None)
            self.client_conns.pop(c, None)
            self.node_conns.discard(c)
            if c.who is not None and self.clients.get(c.who) is c:
                del self.clients[c.who]
            w.close()
            if task is not None:
                self.conns.discard(task)

    def _authenticated(self, c: _Conn, who: int) -> None:
        c.who = who
        self.pending.pop(c, None)
        if who in self.addrs:
            self.node_conns.add(c)
            c.deadline = float("inf")
            return
        if len(self.client_conns) >= self.limits.max_clients:
            old = min(self.client_conns, key=lambda x: x.last)
            del self.client_conns[old]
            self.evicted += 1
            old.abort()
        self.client_conns[c] = None
        self.clients[who] = c  # replies to a client go back on its connection

    async def _read(self, r: asyncio.StreamReader, c: _Conn) -> None:
        """Read frames until EOF, a timeout, an unusable length or too many rejected frames."""
        lim = self.limits
        while not self.closed:
            try:
                head = await r.readexactly(HEADER.size)
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                return
            (n,) = HEADER.unpack(head)
            try:
                self.codec.check_length(n)  # before any of the body is read
            except FrameError as e:
                self._reject(c.peer, f"{e}; closing the connection")
                return
            idle = c.deadline
            c.deadline = time.monotonic() + lim.frame_timeout
            try:
                body = await r.readexactly(n)
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                return
            now = c.last = time.monotonic()
            c.deadline = idle
            try:
                f = self.codec.decode_body(body, c.rx)
                if f.dst != self.me:
                    raise FrameError(f"frame addressed to {f.dst}, not to this node")
                if type(f.msg) is Busy:
                    raise FrameError("a busy answer sent to a node")
                if c.who is not None and f.src != c.who:
                    raise FrameError(f"frame claims sender {f.src} on a connection of {c.who}")
            except FrameError as e:
                c.bad += 1
                closing = c.bad >= lim.max_bad
                self._reject(c.peer, f"{e}; closing the connection" if closing else str(e))
                if closing:
                    return
                continue
            if c.who is None:
                self._authenticated(c, f.src)
            if c.who not in self.addrs:
                c.deadline = now + lim.idle_timeout
                if self.admit is not None and not self.admit(f):
                    self.busy += 1
                    self._write(c, f.src, self.codec.body(Frame(self.me, f.src, f.inst, Busy(c.rx.seq - 1))))
                    continue
            self.received += 1
            try:
                self.on_frame(f)
            except Exception:
                log.exception("node %s: handling %r failed", self.me, f)

    # ----- outbound -----
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
        body = self.codec.body(f)
        for d in delays:
            if d > 0:
                asyncio.get_running_loop().call_later(d, self._push, f.dst, body)
            else:
                self._push(f.dst, body)

    def _heal(self, f: Frame) -> None:
        if not self.closed:
            self._push(f.dst, self.codec.body(f))

    def _local(self, f: Frame) -> None:
        if not self.closed:
            self.on_frame(f)

    def _push(self, dst: int, body: bytes) -> None:
        if self.closed:
            return
        if dst in self.addrs:
            p = self.peers.get(dst)
            if p is None:
                p = self.peers[dst] = _Peer(self, dst)
            try:
                p.queue.put_nowait(body)
                self.sent += 1
            except asyncio.QueueFull:
                pass
            return
        self._to_client(dst, body)

    def _to_client(self, dst: int, body: bytes) -> None:
        c = self.clients.get(dst)
        if c is not None:
            self._write(c, dst, body)

    def _write(self, c: _Conn, dst: int, body: bytes) -> None:
        if c.w.is_closing():
            return
        if c.w.transport.get_write_buffer_size() > CLIENT_BUFFER:
            self._reject(c.peer, "a client that does not read its replies; closing the connection")
            c.abort()
            return
        c.w.write(self.codec.seal(self.me, dst, body, c.tx))
        self.sent += 1

    async def close(self) -> None:
        self.closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        self.rejects.flush()
        if self.server is not None:
            self.server.close()
        for p in self.peers.values():
            p.task.cancel()
        for c in [*self.pending, *self.client_conns, *self.node_conns]:
            c.w.close()
        for t in list(self.conns):
            t.cancel()
        tasks = [p.task for p in self.peers.values()] + list(self.conns)
        if tasks:
            # bounded: Python 3.11's wait_for can swallow a cancellation (the loops also check `closed`)
            await asyncio.wait(tasks, timeout=2.0)
        if self.server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 1.0)
