"""The heartbeat failure detector: silence makes a suspect, a sign of life trusts again."""

from __future__ import annotations

import asyncio
import socket

import pytest

from protoproof.impl.detector import Detector, Probe


def test_a_silent_peer_is_suspected_once_and_a_peer_heard_again_is_trusted_and_one_never_heard_never() -> None:
    now = [0.0]
    pings: list[int] = []
    events: list[tuple[str, int]] = []

    async def main() -> None:
        d = Detector([1, 2, 3], pings.append, lambda p: events.append(("suspect", p)),
                     on_trust=lambda p: events.append(("trust", p)), every=0.01, after=0.5, clock=lambda: now[0])
        d.start()
        d.heard(1)
        d.heard(2)  # peer 3 never answers: still starting, say
        for t in (0.2, 0.4, 0.6, 0.8):
            now[0] = t
            d.heard(1)  # peer 1 keeps talking, peer 2 went silent at 0
            await asyncio.sleep(0.03)
        assert events == [("suspect", 2)] and set(d.suspected) == {2}
        d.heard(2)
        assert events[-1] == ("trust", 2) and not d.suspected
        d.stop()

    asyncio.run(main())
    assert set(pings) == {1, 2, 3}


def test_a_detector_that_would_suspect_before_its_next_ping_is_refused() -> None:
    with pytest.raises(ValueError, match="0 < every < after"):
        Detector([1], lambda p: None, lambda p: None, every=0.5, after=0.5)


def test_a_probe_suspects_a_peer_only_once_its_port_refuses_connections() -> None:
    events: list[tuple[str, int]] = []

    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        never = socket.socket()
        never.bind(("127.0.0.1", 0))  # a port nothing listens on yet: a peer still starting
        p = Probe({1: ("127.0.0.1", port), 2: never.getsockname()}, lambda q: events.append(("suspect", q)),
                  on_trust=lambda q: events.append(("trust", q)), every=0.02)
        p.start()
        await asyncio.sleep(0.2)
        assert events == [] and not p.suspected  # a live listener is never suspected
        server.close()
        await server.wait_closed()
        for _ in range(100):
            await asyncio.sleep(0.02)
            if p.suspected:
                break
        assert events == [("suspect", 1)]  # and not 2, never seen listening
        p.stop()
        never.close()

    asyncio.run(main())


def test_a_probe_suspects_a_peer_it_heard_from_even_if_it_never_found_it_listening() -> None:
    events: list[int] = []

    async def main() -> None:
        gone = socket.socket()
        gone.bind(("127.0.0.1", 0))  # the peer came and went between two probes
        p = Probe({1: gone.getsockname()}, events.append, every=0.02)
        p.start()
        await asyncio.sleep(0.1)
        assert not events
        p.heard(1)  # but one of its frames arrived meanwhile
        for _ in range(100):
            await asyncio.sleep(0.02)
            if events:
                break
        assert events == [1]
        p.stop()
        gone.close()

    asyncio.run(main())
