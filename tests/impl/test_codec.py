"""The codec: typed JSON frames, HMAC, size limit; everything else is refused."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof.impl.codec import HEADER, MAX_FRAME, Codec, Frame, FrameError, Text, from_wire, to_wire, widen
from protoproof.impl.kv import Request, model_message_type, wire_type
from protoproof.models.paxos import OneA, OneB, Paxos, TwoA
from protoproof.models.schema import Int, SchemaError
from protoproof.models.twophase import Commit, Prepared, TwoPhase

SECRET = b"s" * 32
PAXOS = Paxos(acceptors=3, values=2, max_ballot=2)
PAXOS_T = PAXOS.message_type()
ALL_PAXOS_MSGS = list(PAXOS_T.values())


def codec(t=PAXOS_T, secret: bytes = SECRET) -> Codec:  # type: ignore[no-untyped-def]
    return Codec(t, secret, [0, 1, 2, 1000])


@given(st.sampled_from(ALL_PAXOS_MSGS), st.sampled_from([0, 1, 2]), st.integers(0, 2**53))
def test_every_model_message_round_trips(msg: object, src: int, inst: int) -> None:
    c = codec()
    f = Frame(src, 1000, inst, msg)
    assert c.decode(c.encode(f)) == f


def test_twophase_messages_keep_their_kind() -> None:
    c = codec(TwoPhase(rms=3).message_type())
    for m in (Prepared(2), Commit()):
        assert type(c.decode(c.encode(Frame(0, 1, 0, m))).msg) is type(m)


def test_encoding_refuses_values_outside_the_declared_type() -> None:
    c = codec()
    with pytest.raises(SchemaError):
        c.encode(Frame(0, 1, 0, OneA(99)))  # ballot above max_ballot
    with pytest.raises(SchemaError):
        c.encode(Frame(0, 7, 0, OneA(0)))  # not a node of the cluster
    with pytest.raises(SchemaError):
        c.encode(Frame(0, 1, 0, ("OneA", 0)))  # a tuple is not a message


def signed(body: dict[str, object] | bytes, secret: bytes = SECRET) -> bytes:
    """``body`` signed as a frame from node 0 to node 1 (whatever addresses the body claims)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return codec(secret=secret).seal(0, 1, raw)


@pytest.mark.parametrize("body, why", [
    ({"s": 0, "d": 1, "i": 0, "m": {"$": "Evil", "bal": 0}}, "unknown message kind"),
    ({"s": 0, "d": 1, "i": 0, "m": {"$": "OneA", "bal": 3}}, "bad message"),
    ({"s": 0, "d": 1, "i": 0, "m": {"$": "OneA", "bal": True}}, "bad message"),
    ({"s": 0, "d": 1, "i": 0, "m": {"$": "OneA", "bal": 0, "x": 1}}, "bad message"),
    ({"s": 0, "d": 1, "i": 0, "m": {"$": "OneA"}}, "bad message"),
    ({"s": 9, "d": 1, "i": 0, "m": {"$": "OneA", "bal": 0}}, "addresses in the body differ"),
    ({"s": 0, "d": 1, "i": -1, "m": {"$": "OneA", "bal": 0}}, "bad instance"),
    ({"s": 0, "d": 1, "i": 0, "m": {"$": "OneA", "bal": 0}, "extra": 1}, "not a frame"),
    (b"[" * 100_000, "not JSON"),
    (b"\xff\xfe", "not JSON"),
])
def test_decoding_rejects_malformed_frames_with_a_reason(body: dict[str, object] | bytes, why: str) -> None:
    with pytest.raises(FrameError, match=why):
        codec().decode(signed(body))


def test_decoding_rejects_a_frame_signed_with_another_secret() -> None:
    good = {"s": 0, "d": 1, "i": 0, "m": {"$": "OneA", "bal": 0}}
    assert codec().decode(signed(good)).msg == OneA(0)
    with pytest.raises(FrameError, match="HMAC"):
        codec().decode(signed(good, b"x" * 32))


def test_a_tampered_frame_fails_authentication() -> None:
    data = bytearray(codec().encode(Frame(0, 1, 0, OneB(0, 1, -1, None))))
    data[-5] ^= 1
    with pytest.raises(FrameError):
        codec().decode(bytes(data))


def test_frames_above_the_size_limit_are_refused() -> None:
    c = Codec(wire_type(3), SECRET, [0, 1, 2, 1000], max_frame=1024)
    with pytest.raises(SchemaError, match="exceeds"):
        c.encode(Frame(1000, 0, 0, Request("x" * 2000)))
    with pytest.raises(FrameError):
        c.check_length(MAX_FRAME + 1)


def test_widen_keeps_kinds_and_fields_but_takes_new_domains() -> None:
    t = model_message_type(3)
    big = TwoA(2**40, "a command")  # type: ignore[arg-type]  # widened: string values
    assert from_wire(t, to_wire(t, big)) == big
    w = widen(PAXOS_T, lambda n, _t: Int(0, 5) if n == "bal" else None)
    assert from_wire(w, to_wire(w, OneA(5))) == OneA(5)
    with pytest.raises(SchemaError):
        to_wire(w, OneA(6))
    assert Text(3).contains("abc") and not Text(3).contains("abcd")


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_random_bytes_never_decode_and_never_raise_anything_else(junk: bytes) -> None:
    c = codec()
    with pytest.raises(FrameError):
        c.decode(HEADER.pack(len(junk)) + junk)
    with pytest.raises(FrameError):
        c.decode(signed(junk))


def test_random_json_values_signed_correctly_are_still_schema_checked() -> None:
    rng = random.Random(3)
    c = codec()
    leaves: list[Any] = [0, -1, 3, 2**60, None, True, "x", [], {}, 1.5]
    for _ in range(500):
        m: dict[str, Any] = {"$": rng.choice(["OneA", "OneB", "TwoA", "TwoB", "Nope"])}
        for f in rng.sample(["bal", "acc", "mbal", "mval", "val", "zzz"], rng.randrange(5)):
            m[f] = rng.choice(leaves)
        body = {"s": 0, "d": 1, "i": 0, "m": m}
        try:
            got = c.decode(signed(body))
        except FrameError:
            continue
        PAXOS_T.check(got.msg)  # anything accepted is a declared message
