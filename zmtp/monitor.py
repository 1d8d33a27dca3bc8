"""Connection events (libzmq's socket monitor, as data): what happened to which peer, and why.

Engines and the socket report into an ``EventSink``; each ``Socket.events()`` consumer
gets its own bounded channel.  A consumer that falls behind loses the events that arrive
while its buffer is full, rather than slowing the data path: monitoring must never apply
backpressure to traffic.  A consumer that is dropped without being closed is forgotten
(its channel is held weakly), so calling ``events()`` again and again cannot leak.
"""

from __future__ import annotations

import enum
import time
import weakref
from dataclasses import dataclass, field

import trio

__all__ = ["EventKind", "EventSink", "SocketEvent"]


class EventKind(enum.Enum):
    """Named like libzmq's ZMQ_EVENT_* so a monitor user finds the same words."""

    LISTENING = "listening"
    BIND_FAILED = "bind_failed"
    ACCEPTED = "accepted"
    CONNECTED = "connected"
    CONNECT_RETRIED = "connect_retried"
    HANDSHAKE_SUCCEEDED = "handshake_succeeded"
    HANDSHAKE_FAILED = "handshake_failed"
    DISCONNECTED = "disconnected"
    CLOSED = "closed"
    MONITOR_STOPPED = "monitor_stopped"


@dataclass(frozen=True, slots=True)
class SocketEvent:
    kind: EventKind
    endpoint: str
    peer: str = ""
    reason: str = ""
    timestamp: float = field(default_factory=time.time)


class EventSink:
    """Fans events out to the current consumers; costs nothing when nobody listens."""

    def __init__(self) -> None:
        self._consumers: list[
            tuple[trio.MemorySendChannel[SocketEvent],
                  weakref.ref[trio.MemoryReceiveChannel[SocketEvent]]]
        ] = []

    def subscribe(self, max_buffer: int) -> trio.MemoryReceiveChannel[SocketEvent]:
        send, receive = trio.open_memory_channel[SocketEvent](max_buffer)
        self._consumers.append((send, weakref.ref(receive)))
        return receive

    @property
    def consumers(self) -> int:
        return len(self._consumers)

    def emit(self, kind: EventKind, endpoint: str, peer: str = "", reason: str = "") -> None:
        if not self._consumers:
            return
        event = SocketEvent(kind, endpoint, peer, reason)
        for entry in list(self._consumers):
            consumer, receiver = entry
            if receiver() is None:  # dropped unclosed: nobody can read these any more
                consumer.close()
                self._consumers.remove(entry)
                continue
            try:
                consumer.send_nowait(event)
            except trio.WouldBlock:
                pass  # a slow monitor loses events; traffic never waits for it
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._consumers.remove(entry)

    def close(self) -> None:
        for consumer, _ in self._consumers:
            consumer.close()
        self._consumers.clear()

    # Convenience wrappers used by the engine and the socket.
    def handshake_succeeded(self, endpoint: str, peer: str) -> None:
        self.emit(EventKind.HANDSHAKE_SUCCEEDED, endpoint, peer)

    def disconnected(self, endpoint: str, peer: str, reason: str) -> None:
        self.emit(EventKind.DISCONNECTED, endpoint, peer, reason)
