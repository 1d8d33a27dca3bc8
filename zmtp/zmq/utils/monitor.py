"""Decode the two-frame messages a socket monitor publishes (libzmq's v1 event format).

Frame 1: uint16 event number + int32 value (native byte order, no padding); frame 2: the
endpoint.  pyzmq returns ``{"event": Event, "value": ..., "endpoint": bytes}``, the value
also wrapped in Event (it is an fd, errno or interval really); this does the same.
"""

from __future__ import annotations

import inspect
import struct
from collections.abc import Awaitable
from typing import Any, TypedDict

from zmtp.zmq.constants import Event

__all__ = ["parse_monitor_message", "recv_monitor_message"]

_HEADER = struct.Struct("=hi")


class _MonitorMessage(TypedDict):
    event: int
    value: int
    endpoint: bytes


def _as_event(value: int) -> int:
    try:
        return Event(value)
    except ValueError:
        return value


def parse_monitor_message(msg: list[bytes]) -> _MonitorMessage:
    """The dict for one monitor message; RuntimeError if it is not two frames of 6 + n bytes."""
    if len(msg) != 2 or len(msg[0]) != _HEADER.size:
        raise RuntimeError(f"Invalid event message format: {msg}")
    event_id, value = _HEADER.unpack(bytes(msg[0]))
    return {"event": _as_event(event_id), "value": _as_event(value), "endpoint": bytes(msg[1])}


async def _parse_later(pending: Awaitable[list[bytes]]) -> _MonitorMessage:
    return parse_monitor_message(await pending)


def recv_monitor_message(socket: Any, flags: int = 0) -> Any:
    """Receive and decode one event from a monitor socket (the PAIR get_monitor_socket gives).

    With an asyncio socket this returns an awaitable of the dict, as pyzmq's does.
    """
    received = socket.recv_multipart(flags)
    if inspect.isawaitable(received):
        return _parse_later(received)
    return parse_monitor_message(received)
