"""The inductive strengthening of the key handoff's safety properties, at a fixed small size.

``no_acked_write_lost`` is not inductive alone: a transfer must carry what the old owner holds,
the old owner must still hold the key while its transfer is unacknowledged, and an ack must come
from a node that holds the key.  The idea in one line: every key has a *current copy* (its owner's,
or while nobody owns it, the handing-off node's), and that copy is never behind an acknowledged
write, nor ahead of the client's writes.  Each conjunct says what one kind of node state or
message promises.  The predicates are plain Python over ``SysState`` (the two rings come from the
model); the prover runs them on z3 values through their twins, so the proof is of the very
handlers the runtime runs.  With crashes one more conjunct says a node's disk holds its whole
state (``ack-before-persist`` breaks it).  At the model's size only (``--nodes``, ``--keys``,
``--max-ops``, ``--max-crashes``), for one change (``--changes 2`` is checked, not proved); the
tests check that each conjunct is needed and that every reachable state satisfies them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..models.handoff import (
    IDLE,
    NO_READ,
    NONE,
    OWN,
    SENDING,
    WRITING,
    Handoff,
    Read,
    ReadReply,
    Transfer,
    TransferAck,
    Write,
    WriteAck,
)

Predicate = Callable[[Any], bool]


def strengthening(model: Handoff) -> list[Predicate]:
    """The conjuncts proved together with the three safety properties."""
    if model.config.changes != 1:
        raise ValueError("the handoff's strengthening is for one change (--changes 1); check or bmc more")
    storage = model.storage_ids()
    keys = model.key_ids()
    before, after = model.params().rings
    client = model.config.nodes + 1
    universe = list(model._universe)
    transfers = [e for e in universe if type(e.msg) is Transfer]
    transfer_acks = [e for e in universe if type(e.msg) is TransferAck]
    writes = [e for e in universe if type(e.msg) is Write]
    reads = [e for e in universe if type(e.msg) is Read]
    write_acks = [e for e in universe if type(e.msg) is WriteAck]
    replies = [e for e in universe if type(e.msg) is ReadReply]

    def storage_is_on_disk(s: Any) -> bool:
        """A storage node's disk holds its whole state (it persists every change before it sends
        anything), so a crash and recovery change nothing it has promised."""
        return all(s.disk[i].ver == s.nodes[i].ver and s.disk[i].st[k] == s.nodes[i].st[k]
                   and s.disk[i].val[k] == s.nodes[i].val[k] for i in storage for k in keys)

    def current_at_least(s: Any, k: int, x: Any) -> bool:
        """Key ``k``'s current copy holds write ``x`` or a later one: its owner's, or, while no
        node owns it, the handing-off node's."""
        owned = any(s.nodes[i].st[k] == OWN for i in storage)
        return all((s.nodes[i].st[k] != OWN or s.nodes[i].val[k] >= x)
                   and (s.nodes[i].st[k] != SENDING or owned or s.nodes[i].val[k] >= x) for i in storage)

    def client_is_sequential(s: Any) -> bool:
        """The client's acknowledged writes are among its operations, and an operation in progress
        has cleared the last read's result."""
        c = s.nodes[client]
        return (all(c.acked[k] <= c.n for k in keys) and c.got <= c.n
                and (c.op == IDLE or (c.got == NO_READ and c.n >= 1)))

    def keys_are_where_the_rings_put_them(s: Any) -> bool:
        """A node owns a key only as its owner in either ring (its old owner only while it knows the
        old ring), hands it off only as its old owner in the new ring, and holds nothing it does not hold."""
        return all((s.nodes[i].st[k] != NONE or s.nodes[i].val[k] == 0)
                   and (s.nodes[i].st[k] != OWN or i == after[k] or (i == before[k] and s.nodes[i].ver == 0))
                   and (s.nodes[i].st[k] != SENDING or (i == before[k] and i != after[k] and s.nodes[i].ver == 1))
                   for i in storage for k in keys)

    def every_key_is_held(s: Any) -> bool:
        """Some node owns or is handing off each key."""
        return all(any(s.nodes[i].st[k] != NONE for i in storage) for k in keys)

    def current_copy_is_not_behind(s: Any) -> bool:
        """Each key's current copy holds its latest acknowledged write."""
        c = s.nodes[client]
        return all(current_at_least(s, k, c.acked[k]) for k in keys)

    def no_copy_is_ahead_of_the_client(s: Any) -> bool:
        """A node holds an acknowledged write of a key, or the write the client is waiting for."""
        c = s.nodes[client]
        return all(s.nodes[i].val[k] <= c.acked[k] or (c.op == WRITING and c.key == k and s.nodes[i].val[k] == c.n)
                   for i in storage for k in keys)

    def transfers_carry_the_senders_copy(s: Any) -> bool:
        """A transfer goes from a key's old owner to its new one, carrying what the old owner holds
        while it hands off, or the new owner already took it and acknowledged."""
        return all(not model.in_flight(s, e.msg, e.src, e.dst)
                   or (e.src == before[e.msg.key] and e.dst == after[e.msg.key]
                       and ((s.nodes[e.src].st[e.msg.key] == SENDING and s.nodes[e.src].val[e.msg.key] == e.msg.val)
                            or (s.nodes[e.src].st[e.msg.key] == NONE and s.nodes[e.dst].st[e.msg.key] == OWN)))
                   for e in transfers)

    def transfer_acks_come_from_the_owner(s: Any) -> bool:
        """A transfer's acknowledgement comes from the key's new owner, which owns it."""
        return all(not model.in_flight(s, e.msg, e.src, e.dst)
                   or (e.src == after[e.msg.key] and e.dst == before[e.msg.key] and s.nodes[e.src].st[e.msg.key] == OWN)
                   for e in transfer_acks)

    def writes_are_the_clients(s: Any) -> bool:
        """A write in flight is acknowledged already, or the one the client is waiting for."""
        c = s.nodes[client]
        return all(not model.in_flight(s, e.msg, e.src, e.dst) or e.msg.op <= c.acked[e.msg.key]
                   or (c.op == WRITING and c.key == e.msg.key and c.n == e.msg.op) for e in writes)

    def write_acks_are_held(s: Any) -> bool:
        """A write's acknowledgement is of a write already acknowledged, or held by the key's current copy."""
        c = s.nodes[client]
        return all(not model.in_flight(s, e.msg, e.src, e.dst) or e.msg.op <= c.acked[e.msg.key]
                   or (c.op == WRITING and c.key == e.msg.key and c.n == e.msg.op
                       and current_at_least(s, e.msg.key, e.msg.op)) for e in write_acks)

    def reads_are_the_clients(s: Any) -> bool:
        """A read in flight is of an earlier operation, or of the client's latest, a read of its key."""
        c = s.nodes[client]
        return all(not model.in_flight(s, e.msg, e.src, e.dst) or e.msg.op < c.n
                   or (e.msg.op == c.n and c.key == e.msg.key and c.op != WRITING) for e in reads)

    def replies_are_latest(s: Any) -> bool:
        """A reply to the client's latest operation, a read, carries the key's latest acknowledged write."""
        c = s.nodes[client]
        return all(not model.in_flight(s, e.msg, e.src, e.dst) or e.msg.op < c.n
                   or (e.msg.op == c.n and c.key == e.msg.key and c.op != WRITING and e.msg.val == c.acked[e.msg.key])
                   for e in replies)

    durable = [storage_is_on_disk] if model.config.max_crashes else []  # else the disk is never read
    return [*durable, client_is_sequential, keys_are_where_the_rings_put_them, every_key_is_held,
            current_copy_is_not_behind, no_copy_is_ahead_of_the_client, transfers_carry_the_senders_copy,
            transfer_acks_come_from_the_owner, writes_are_the_clients, write_acks_are_held, reads_are_the_clients,
            replies_are_latest]


__all__ = ["strengthening"]
