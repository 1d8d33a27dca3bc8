"""Events the sans-IO core hands to its driver.

Frozen dataclasses with ``__slots__``: a ``Message`` is created per received message on
the hot path, so it must be cheap to build and small to keep queued by the thousands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .sockettypes import SocketType

__all__ = [
    "Cancel",
    "Closed",
    "Event",
    "HandshakeComplete",
    "Message",
    "MessageBatch",
    "PeerError",
    "Ping",
    "Pong",
    "Subscribe",
]


@dataclass(frozen=True, slots=True)
class Event:
    """Base class, so a driver can annotate ``list[Event]`` and match on subclasses."""


@dataclass(frozen=True, slots=True)
class HandshakeComplete(Event):
    """Greeting and mechanism are done and the socket types may talk to each other.

    ``peer_metadata`` keys are the property names as the peer spelled them; use
    :func:`zmtp.protocol.metadata.get_property` for the case-insensitive lookup the RFC
    asks for.  For a ZMTP/2.0 peer it is empty (2.0 has no metadata).
    """

    peer_socket_type: SocketType
    peer_routing_id: bytes
    peer_metadata: dict[str, bytes] = field(default_factory=dict)
    peer_version: tuple[int, int] = (3, 1)


@dataclass(frozen=True, slots=True)
class Message(Event):
    """One whole multipart message; a partial message is never reported."""

    frames: list[bytes]


@dataclass(frozen=True, slots=True)
class MessageBatch(Event):
    """Whole messages that arrived back to back, in order (``Connection(batch_messages=True)``).

    One event instead of one ``Message`` per message: with many small messages per read,
    the per-message event object (and the work CPython's cyclic GC spends on it while it
    stays queued) costs more than parsing the frames.  Each item is one message's frames,
    as a tuple: a tuple of ``bytes`` leaves the GC's tracking at the first collection it
    survives, so a backlog of queued messages costs the GC nothing (lists stay tracked, and
    every full collection walked every queued message again).  With
    ``Connection(bare_single_frames=True)`` a one-frame message is its frame's ``bytes``
    instead: no tuple at all for the common small message.  Reported only by connections
    that asked for it; other events keep their order around it.
    """

    messages: list[tuple[bytes, ...] | bytes]


@dataclass(frozen=True, slots=True)
class Subscribe(Event):
    topic: bytes


@dataclass(frozen=True, slots=True)
class Cancel(Event):
    topic: bytes


@dataclass(frozen=True, slots=True)
class Ping(Event):
    """The peer's PING; the connection has already queued the PONG."""

    ttl: float
    context: bytes = b""


@dataclass(frozen=True, slots=True)
class Pong(Event):
    context: bytes = b""


@dataclass(frozen=True, slots=True)
class PeerError(Event):
    """The peer sent ERROR (e.g. "400" for refused credentials); the connection is closed."""

    reason: str


@dataclass(frozen=True, slots=True)
class Closed(Event):
    """The transport reached end-of-file (``receive_data(b"")``)."""


# Building a frozen dataclass goes through object.__setattr__ per field, which costs
# more than the whole frame parse.  The decoder creates Message objects by writing the
# slot directly; the result is indistinguishable from Message(frames).
_new_message: Any = Message.__new__
_set_frames: Any = Message.__dict__["frames"].__set__


def make_message(frames: list[bytes]) -> Message:
    m: Message = _new_message(Message)
    _set_frames(m, frames)
    return m
