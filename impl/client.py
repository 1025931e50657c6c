"""The client side of the wire: a client id from the cluster file, one connection per node.

Clients sign their frames with the cluster secret like nodes do, and read replies on the
connection they opened (clients listen nowhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from typing import Any

from ..models.schema import Type
from .cluster import ClusterConfig
from .codec import HEADER, Codec, Frame, FrameError


class NoReply(Exception):
    """No node answered within the client's budget."""


class Endpoint:
    """Request/response over the cluster's frames, as client ``client_id``."""

    def __init__(self, cfg: ClusterConfig, wire: Type, client_id: int | None = None) -> None:
        self.cfg = cfg
        ids = cfg.client_ids
        self.id = client_id if client_id is not None else random.randrange(ids.start, ids.stop)
        if self.id not in ids:
            raise ValueError(f"client id {self.id} is not in the cluster's client range {ids}")
        self.codec = Codec(wire, cfg.secret, cfg.all_ids)
        self.conns: dict[int, tuple[asyncio.StreamWriter, asyncio.Task[None]]] = {}
        self.waiters: list[tuple[Callable[[Frame], bool], asyncio.Future[Frame]]] = []
        self._connecting: dict[int, asyncio.Lock] = {}

    async def _conn(self, node: int) -> asyncio.StreamWriter:
        # One connection per node: two requests racing on a fresh endpoint must not both connect
        # (the second would replace the first, whose writer, dropped, closes and loses its reply).
        async with self._connecting.setdefault(node, asyncio.Lock()):
            c = self.conns.get(node)
            if c is not None and not c[0].is_closing() and not c[1].done():
                return c[0]
            addr = self.cfg.node(node)
            r, w = await asyncio.wait_for(asyncio.open_connection(addr.host, addr.port), 1.0)
            task = asyncio.get_running_loop().create_task(self._read(r))
            self.conns[node] = (w, task)
            return w

    async def _read(self, r: asyncio.StreamReader) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, OSError):
            while True:
                head = await r.readexactly(HEADER.size)
                (n,) = HEADER.unpack(head)
                self.codec.check_length(n)
                try:
                    f = self.codec.decode_body(await r.readexactly(n))
                except FrameError:
                    continue
                for match, fut in list(self.waiters):
                    if not fut.done() and match(f):
                        fut.set_result(f)

    async def send(self, node: int, inst: int, msg: Any) -> None:
        w = await self._conn(node)
        w.write(self.codec.encode(Frame(self.id, node, inst, msg)))
        await w.drain()

    async def request(self, node: int, inst: int, msg: Any, match: Callable[[Frame], bool],
                      timeout: float) -> Frame:
        """Send ``msg`` to ``node`` and wait for the first frame ``match`` accepts."""
        fut: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        entry = (match, fut)
        self.waiters.append(entry)
        try:
            await self.send(node, inst, msg)
            return await asyncio.wait_for(fut, timeout)
        finally:
            self.waiters.remove(entry)

    async def close(self) -> None:
        for w, t in self.conns.values():
            w.close()
            t.cancel()
        tasks = [t for _w, t in self.conns.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        self.conns.clear()
