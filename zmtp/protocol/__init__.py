"""zmtp.protocol: sans-IO ZMTP 3.1 (with ZMTP/2.0 and 3.0 peers), no I/O and no trio.

See CONTRACT.md beside this file for the API the socket layer relies on.
"""

from __future__ import annotations

from ..errors import ProtocolError
from .connection import Connection
from .events import (
    Cancel,
    Closed,
    Event,
    HandshakeComplete,
    Message,
    MessageBatch,
    PeerError,
    Ping,
    Pong,
    Subscribe,
)
from .frames import LARGE_FRAME, ZERO_COPY_THRESHOLD
from .mechanisms import Mechanism, NullMechanism, PlainClientMechanism, PlainServerMechanism
from .metadata import get_property
from .sockettypes import SocketType, is_compatible

__all__ = [
    "LARGE_FRAME",
    "ZERO_COPY_THRESHOLD",
    "Cancel",
    "Closed",
    "Connection",
    "Event",
    "HandshakeComplete",
    "Mechanism",
    "Message",
    "MessageBatch",
    "NullMechanism",
    "PeerError",
    "Ping",
    "PlainClientMechanism",
    "PlainServerMechanism",
    "Pong",
    "ProtocolError",
    "SocketType",
    "Subscribe",
    "get_property",
    "is_compatible",
]
