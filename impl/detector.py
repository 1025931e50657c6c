"""Failure detectors: which peers a node suspects, for a service that acts on it.

``Detector`` suspects by silence (heartbeats), ``Probe`` by a refused connection.

Every ``every`` seconds the node pings each peer it watches (a service frame, never a model
message) and any frame from a peer counts as a sign of life; a peer silent for ``after``
seconds is suspected, and ``on_suspect(peer)`` runs once.  Only a peer seen alive once can be
suspected: a cluster whose nodes start one after the other suspects no one.  A peer heard again is trusted again
(``on_trust``).  The service turns a suspicion into the model's own step (a model's "suspect"
action), so what the detector gets wrong is exactly what the model's failure setting allows:

- a peer killed with kill -9 goes silent for good and is suspected within ``after + every``
  seconds: the crash model's perfect detector, as long as a live peer is never silent that
  long (a loaded machine can break this: a timing assumption, not a proof);
- a partition (``FaultPlan.split``) silences a live peer just the same, so a live peer is
  suspected: the partition-prone setting.

``Probe`` is the perfect detector of one machine: it suspects a peer when a TCP connection to
the peer's port is refused, i.e. when no process listens there any more (a kill -9 closes the
socket at once).  Partitions injected by ``FaultPlan`` act on frames, not on connections, so it
never suspects a live peer: the crash-only setting, where suspicion means a crash.  A peer
neither found listening nor heard from yet (still starting) is not suspected.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable


class Detector:
    """Suspicion of peers by silence; start it on the running loop, stop it with the node."""

    def __init__(self, peers: Iterable[int], ping: Callable[[int], None], on_suspect: Callable[[int], None], *,
                 on_trust: Callable[[int], None] | None = None, every: float = 0.1, after: float = 0.5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 < every < after:
            raise ValueError(f"the detector needs 0 < every < after (got every={every}, after={after})")
        self.peers = sorted(set(peers))
        self.ping, self.on_suspect, self.on_trust = ping, on_suspect, on_trust
        self.every, self.after, self.clock = every, after, clock
        self.last: dict[int, float] = {}  # when each peer was last heard (never: absent)
        #: Suspected peers, with the time (``clock``) at which each became suspected.
        self.suspected: dict[int, float] = {}
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._tick()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def heard(self, peer: int) -> None:
        """A frame came from ``peer``: it is alive (and trusted again if it was suspected)."""
        if peer not in self.peers:
            return
        self.last[peer] = self.clock()
        if self.suspected.pop(peer, None) is not None and self.on_trust is not None:
            self.on_trust(peer)

    def _tick(self) -> None:
        now = self.clock()
        for p in self.peers:
            self.ping(p)
            if p in self.last and p not in self.suspected and now - self.last[p] >= self.after:
                self.suspected[p] = now
                self.on_suspect(p)
        self._handle = asyncio.get_running_loop().call_later(self.every, self._tick)


class Probe:
    """Suspicion of peers whose port refuses connections (their process is gone)."""

    def __init__(self, addrs: dict[int, tuple[str, int]], on_suspect: Callable[[int], None], *,
                 on_trust: Callable[[int], None] | None = None, every: float = 0.1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.addrs = dict(sorted(addrs.items()))
        self.on_suspect, self.on_trust, self.every, self.clock = on_suspect, on_trust, every, clock
        #: Suspected peers, with the time (``clock``) at which each became suspected.
        self.suspected: dict[int, float] = {}
        self.seen: set[int] = set()  # peers found listening or heard from: only those can be suspected
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def heard(self, peer: int) -> None:
        """A frame came from ``peer``: it was up, so it may be suspected once its port refuses."""
        if peer in self.addrs:
            self.seen.add(peer)

    async def _run(self) -> None:
        while True:
            for p, (host, port) in self.addrs.items():
                gone = await refused(host, port, self.every)
                if gone is False:
                    self.seen.add(p)
                if gone and p in self.seen and p not in self.suspected:
                    self.suspected[p] = self.clock()
                    self.on_suspect(p)
                elif gone is False and self.suspected.pop(p, None) is not None and self.on_trust:
                    self.on_trust(p)
            await asyncio.sleep(self.every)


async def refused(host: str, port: int, timeout: float) -> bool | None:
    """True: nothing listens at ``host:port``; False: something does; None: no answer in time."""
    try:
        _r, w = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except ConnectionRefusedError:
        return True
    except (TimeoutError, OSError):
        return None
    w.close()
    with contextlib.suppress(Exception):
        await w.wait_closed()
    return False
