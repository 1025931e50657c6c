"""The client side of the wire: a client id from the cluster file, one connection per node.

Clients sign their frames with their own key, bound to their id (a pool id's, derived from the
pool key in ``cluster.json``, or one issued by ``cluster add-client``: it cannot sign a frame
between nodes nor one of another client), and read replies on the connection they opened
(clients listen nowhere).  A node too busy to take a request answers ``Busy``; the request is
then sent again after a growing, jittered pause, within a budget; a request whose connection
the node closed (a cap on connections, an idle timeout) is sent again on a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from typing import Any

from ..models.schema import Type
from .cluster import ClusterConfig
from .codec import HEADER, Busy, Codec, Frame, FrameError, Link
from .transport import connect


class NoReply(Exception):
    """No node answered within the client's budget."""


class Overloaded(Exception):
    """The node answered that it is too busy to take the request now (try again later)."""


class Dropped(Exception):
    """The node closed the connection a request was sent on (a cap, a timeout): send it again."""


class Endpoint:
    """Request/response over the cluster's frames, as client ``client_id``."""

    #: The first pause after a ``Busy`` answer (doubled at each, up to ``busy_pause_max``).
    busy_pause = 0.02
    busy_pause_max = 1.0
    #: How long ``Busy`` answers from one node are retried before giving up on it.
    busy_budget = 30.0

    def __init__(self, cfg: ClusterConfig, wire: Type, client_id: int | None = None) -> None:
        self.cfg = cfg
        if cfg.credentials is not None:  # a client issued its own id and key (``cluster add-client``)
            if client_id is not None and client_id != cfg.credentials[0]:
                raise ValueError(f"these credentials are client {cfg.credentials[0]}'s, not {client_id}'s")
            client_id = cfg.credentials[0]
        ids = cfg.pool_ids
        self.id = client_id if client_id is not None else random.randrange(ids.start, ids.stop)
        if self.id not in cfg.client_ids:
            raise ValueError(f"client id {self.id} is not in the cluster's client range {cfg.client_ids}")
        self.codec = Codec(wire, cfg.keys.client_view(), cfg.all_ids)
        self.conns: dict[int, tuple[asyncio.StreamWriter, asyncio.Task[None], Link]] = {}
        self.waiters: list[tuple[Callable[[Frame], bool], asyncio.Future[Frame]]] = []
        self.sent: dict[tuple[int, int], asyncio.Future[Frame]] = {}
        self._connecting: dict[int, asyncio.Lock] = {}
        self.busy = 0
        self.dropped = 0
        self.closed = False

    async def _conn(self, node: int) -> tuple[asyncio.StreamWriter, Link]:
        # One connection per node: two requests racing on a fresh endpoint must not both connect
        # (the second would replace the first, whose writer, dropped, closes and loses its reply).
        async with self._connecting.setdefault(node, asyncio.Lock()):
            c = self.conns.get(node)
            if c is not None and not c[0].is_closing() and not c[1].done():
                return c[0], c[2]
            addr = self.cfg.node(node)
            r, w, out, back = await connect(addr.host, addr.port)
            task = asyncio.get_running_loop().create_task(self._read(node, r, back))
            self.conns[node] = (w, task, out)
            return w, out

    async def _read(self, node: int, r: asyncio.StreamReader, link: Link) -> None:
        try:
            await self._frames(node, r, link)
        finally:  # the node closed the connection: what waits on it is sent again (``request``)
            for (n, _seq), fut in list(self.sent.items()):
                if n == node and not fut.done() and not self.closed:
                    fut.set_exception(Dropped(f"node {node} closed the connection"))

    async def _frames(self, node: int, r: asyncio.StreamReader, link: Link) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, OSError, FrameError):
            while True:
                head = await r.readexactly(HEADER.size)
                (n,) = HEADER.unpack(head)
                self.codec.check_length(n)
                try:
                    f = self.codec.decode_body(await r.readexactly(n), link)
                except FrameError:
                    continue
                if type(f.msg) is Busy:
                    fut = self.sent.get((node, f.msg.seq))
                    if fut is not None and not fut.done():
                        fut.set_exception(Overloaded(f"node {node} is busy"))
                    continue
                for match, fut in list(self.waiters):
                    if not fut.done() and match(f):
                        fut.set_result(f)

    async def send(self, node: int, inst: int, msg: Any) -> int:
        """Send ``msg`` to ``node``; the frame's position on the connection (a ``Busy`` names it)."""
        w, link = await self._conn(node)
        seq = link.seq
        w.write(self.codec.encode(Frame(self.id, node, inst, msg), link))
        await w.drain()
        return seq

    async def request(self, node: int, inst: int, msg: Any, match: Callable[[Frame], bool],
                      timeout: float, busy_retry: bool = True) -> Frame:
        """Send ``msg`` to ``node`` and wait up to ``timeout`` for the first frame ``match``
        accepts.  A ``Busy`` answer: the node is up, so ``msg`` is sent to it again after a pause
        (``busy_retry``; else ``Overloaded`` is raised), its wait starting again, until
        ``busy_budget`` runs out (``TimeoutError``).  Going to another node instead would make
        the burst a duel between proposers."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + max(timeout, self.busy_budget)
        pause = self.busy_pause
        drops = 0
        while True:
            fut: asyncio.Future[Frame] = loop.create_future()
            entry = (match, fut)
            self.waiters.append(entry)
            key = None
            try:
                key = (node, await self.send(node, inst, msg))
                self.sent[key] = fut
                return await asyncio.wait_for(fut, timeout)
            except Overloaded:
                self.busy += 1
                if not busy_retry:
                    raise
            except Dropped:
                self.dropped += 1
                drops += 1
                if drops == 1:
                    continue  # sent again at once, on a new connection; then with pauses
            finally:
                self.waiters.remove(entry)
                if key is not None:
                    self.sent.pop(key, None)
            wait = random.uniform(0.5, 1.0) * pause
            if loop.time() + wait >= give_up:
                raise TimeoutError(f"node {node} stayed busy (or kept closing the connection)")
            await asyncio.sleep(wait)
            pause = min(pause * 2, self.busy_pause_max)

    async def close(self) -> None:
        self.closed = True
        for w, t, _link in self.conns.values():
            w.close()
            t.cancel()
        tasks = [t for _w, t, _link in self.conns.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        self.conns.clear()
