"""Logs in the runtime: an unbounded ``Log`` field of a durable state is persisted as its changes."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from protoproof.impl.codec import Log, Text
from protoproof.impl.host import Host, Tracer
from protoproof.impl.storage import Store
from protoproof.impl.validate import validate
from protoproof.models.actors import ActorSystem, Effect, Node, Persist
from protoproof.models.base import always, sometimes, transition
from protoproof.models.schema import Int, OneOf, Record, Type


class Replica(NamedTuple):
    term: int
    log: tuple[str, ...]


REPLICA = Record(Replica, term=Int(0, 2**31), log=Log(Text(64)))


class Appender(Node[Replica]):
    """Appends entries; ``truncate(keep)`` cuts the log back (a follower discarding a conflict)."""

    def state_type(self) -> Type:
        return REPLICA

    def disk_type(self) -> Type:
        return REPLICA

    def durable(self, s: Replica) -> Replica:
        return s

    def on_recover(self, disk: Replica) -> tuple[Replica, Sequence[Effect]]:
        return disk, ()

    def on_start(self) -> tuple[Replica, Sequence[Effect]]:
        return Replica(0, ()), ()

    @transition(entry=())
    def append(self, s: Replica, entry: str) -> tuple[Replica, Sequence[Effect]]:
        return Replica(s.term, (*s.log, entry)), (Persist(),)

    @transition(keep=(), term=())
    def truncate(self, s: Replica, keep: int, term: int) -> tuple[Replica, Sequence[Effect]]:
        return Replica(term, s.log[:keep]), (Persist(),)


def rows(path: Path) -> tuple[list[tuple[int, str]], Any]:
    db = sqlite3.connect(path)
    try:
        entries = list(db.execute("SELECT idx, value FROM entries ORDER BY idx"))
        durable = json.loads(db.execute("SELECT value FROM durable").fetchone()[0])
    finally:
        db.close()
    return entries, durable


def test_a_log_field_is_persisted_as_appends_and_truncations_and_recovered_whole(tmp_path: Path) -> None:
    path = tmp_path / "n.sqlite3"

    async def main() -> Replica:
        host: Host[Replica] = Host(Appender(0), Store(path), OneOf(None))
        for k in range(5):
            assert host.step(0, "append", entry=f"e{k}")
        assert host.step(0, "truncate", keep=2, term=1)
        assert host.step(0, "append", entry="x2")
        writes = host.store.writes
        host.close()
        host.store.close()
        assert writes == 7
        again: Host[Replica] = Host(Appender(0), Store(path), OneOf(None))
        assert again.recover() == [0]
        s = again.states[0]
        assert again.step(0, "append", entry="x3")  # appends after a recovery continue the stored log
        again.close()
        again.store.close()
        return s

    s = asyncio.run(main())
    assert s == Replica(1, ("e0", "e1", "x2"))
    entries, durable = rows(path)
    assert entries == [(0, '"e0"'), (1, '"e1"'), (2, '"x2"'), (3, '"x3"')]
    assert durable == {"term": 1, "log": {"$len": 4}}  # the log is not in the durable value


def test_each_persist_of_a_growing_log_writes_only_the_new_entry(tmp_path: Path) -> None:
    path = tmp_path / "n.sqlite3"

    async def main() -> list[int]:
        host: Host[Replica] = Host(Appender(0), Store(path), OneOf(None))
        written = []
        real = host.store.put

        def put(inst: int, value: Any, trace: Any = None, logs: Any = None) -> None:
            written.append(len(logs["log"][1]))
            real(inst, value, trace, logs)

        host.store.put = put  # type: ignore[method-assign]
        for k in range(50):
            host.step(0, "append", entry=f"e{k}")
        host.close()
        host.store.close()
        return written

    assert asyncio.run(main()) == [1] * 50


class AppendOnly(ActorSystem):
    """One ``Appender``: the model its traces replay through."""

    def nodes(self) -> list[Node[Any]]:
        return [Appender(0)]

    def message_type(self) -> Type:
        return OneOf(None)

    def envelopes(self) -> list[Any]:
        return []

    @always
    def term_bounded(self, s: Any) -> bool:
        """A stand-in invariant: terms stay small."""
        return bool(s.nodes[0].term < 10)

    @sometimes
    def some_entry(self, s: Any) -> bool:
        """The log grew."""
        return bool(s.nodes[0].log)


def traced_run(tmp_path: Path, appends: int) -> Path:
    d = tmp_path / "trace"

    async def main() -> None:
        host: Host[Replica] = Host(Appender(0), Store(tmp_path / "n.sqlite3"), OneOf(None), tracer=Tracer(d, 0))
        host.recover()
        for k in range(appends):
            host.step(0, "append", entry=f"e{k}")
        host.step(0, "truncate", keep=appends // 2, term=1)
        host.step(0, "append", entry="new")
        host.close()
        host.store.close()

    asyncio.run(main())
    (d / "meta.json").write_text(json.dumps({"model": f"{__name__}:AppendOnly", "params": {}}))
    return d


def test_trace_lines_record_log_changes_not_whole_logs_and_still_validate(tmp_path: Path) -> None:
    d = traced_run(tmp_path, 300)
    lines = (d / "node0.jsonl").read_text().splitlines()
    assert max(len(x) for x in lines) < 300  # a line costs the step, not the log (300 entries)
    report = validate(d)
    assert report.ok, report.summary()
    assert report.steps == len(lines) == 1 + 1 + 300 + 2  # boot, start, the steps


def test_a_wrong_log_entry_in_a_trace_is_named_at_its_step(tmp_path: Path) -> None:
    d = traced_run(tmp_path, 10)
    f = d / "node0.jsonl"
    text = f.read_text().replace('"$add":["e7"]', '"$add":["e7?"]')
    f.write_text(text)
    report = validate(d)
    assert not report.ok
    assert "but the model's append(node='node0', entry='e7') gives" in report.summary(), report.summary()
