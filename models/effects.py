"""What a handler returns besides its next state: effect values, and the envelope of a message.

The checker's lifted system and the runtime's host both interpret these same values (as
transitions of the network model, or as socket sends, timers and sqlite writes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``msg`` to node ``dst``."""

    dst: int
    msg: Any


@dataclass(frozen=True, slots=True)
class Broadcast:
    """Send ``msg`` to each node in ``dsts`` (in that order)."""

    dsts: tuple[int, ...]
    msg: Any


@dataclass(frozen=True, slots=True)
class SetTimer:
    """Arm a named timer; its expiry is the node's ``on_timeout(state, timer)``."""

    timer: Any


@dataclass(frozen=True, slots=True)
class CancelTimer:
    timer: Any


@dataclass(frozen=True, slots=True)
class Persist:
    """Make the durable part of the new state survive a crash, before any later send."""


@dataclass(frozen=True, slots=True)
class Keep:
    """Leave the message being received in flight: it is received again by a later step.

    For specifications that handle one message in several atomic steps (raft.tla's UpdateTerm
    advances the term and leaves the message to be handled next).  Only meaningful in
    ``on_message``; on a grow-only ``DuplicatingSet`` nothing is consumed anyway.
    """


Effect = Send | Broadcast | SetTimer | CancelTimer | Persist | Keep
EFFECT_TYPES = (Send, Broadcast, SetTimer, CancelTimer, Persist, Keep)


class Envelope(NamedTuple):
    """A message in flight."""

    src: int
    dst: int
    msg: Any


def _message_of(e: Envelope) -> Any:
    return e.msg


class BoundExceeded(Exception):
    """A network bound (channel capacity, copies of a message) would be exceeded."""

