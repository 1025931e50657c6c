"""A heartbeat failure detector: which peers a node suspects, for a service that acts on it.

Every ``every`` seconds the node pings each peer it watches (a service frame, never a model
message) and any frame from a peer counts as a sign of life; a peer silent for ``after``
seconds is suspected, and ``on_suspect(peer)`` runs once.  A peer heard again is trusted again
(``on_trust``).  The service turns a suspicion into the model's own step (a model's "suspect"
action), so what the detector gets wrong is exactly what the model's failure setting allows:

- a peer killed with kill -9 goes silent for good and is suspected within ``after + every``
  seconds: the crash model's perfect detector, as long as a live peer is never silent that
  long (a loaded machine can break this: a timing assumption, not a proof);
- a partition (``FaultPlan.split``) silences a live peer just the same, so a live peer is
  suspected: the partition-prone setting.
"""

from __future__ import annotations

import asyncio
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
        self.last: dict[int, float] = {}
        #: Suspected peers, with the time (``clock``) at which each became suspected.
        self.suspected: dict[int, float] = {}
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Start watching: every peer counts as heard now (a node starting suspects no one)."""
        now = self.clock()
        self.last = dict.fromkeys(self.peers, now)
        self._tick()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def heard(self, peer: int) -> None:
        """A frame came from ``peer``: it is alive (and trusted again if it was suspected)."""
        if peer not in self.last:
            return
        self.last[peer] = self.clock()
        if self.suspected.pop(peer, None) is not None and self.on_trust is not None:
            self.on_trust(peer)

    def _tick(self) -> None:
        now = self.clock()
        for p in self.peers:
            self.ping(p)
            if p not in self.suspected and now - self.last[p] >= self.after:
                self.suspected[p] = now
                self.on_suspect(p)
        self._handle = asyncio.get_running_loop().call_later(self.every, self._tick)
