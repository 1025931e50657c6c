"""The heartbeat failure detector: silence makes a suspect, a sign of life trusts again."""

from __future__ import annotations

import asyncio

import pytest

from protoproof.impl.detector import Detector


def test_a_silent_peer_is_suspected_once_and_a_peer_heard_again_is_trusted() -> None:
    now = [0.0]
    pings: list[int] = []
    events: list[tuple[str, int]] = []

    async def main() -> None:
        d = Detector([1, 2], pings.append, lambda p: events.append(("suspect", p)),
                     on_trust=lambda p: events.append(("trust", p)), every=0.01, after=0.5, clock=lambda: now[0])
        d.start()
        for t in (0.2, 0.4, 0.6, 0.8):
            now[0] = t
            d.heard(1)  # peer 1 keeps talking, peer 2 went silent at 0
            await asyncio.sleep(0.03)
        assert events == [("suspect", 2)] and set(d.suspected) == {2}
        d.heard(2)
        assert events[-1] == ("trust", 2) and not d.suspected
        d.stop()

    asyncio.run(main())
    assert set(pings) == {1, 2}


def test_a_detector_that_would_suspect_before_its_next_ping_is_refused() -> None:
    with pytest.raises(ValueError, match="0 < every < after"):
        Detector([1], lambda p: None, lambda p: None, every=0.5, after=0.5)
