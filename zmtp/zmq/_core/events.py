"""libzmq's monitor event numbers and the two-frame monitor message they travel in.

Kept here (not taken from the face's constants) so the driver depends on nothing above
it; the numbers are libzmq's ABI, they never change.
"""

from __future__ import annotations

import struct

__all__ = ["EV", "EVENT_ALL", "encode_event"]


class EV:
    CONNECTED = 1
    CONNECT_DELAYED = 2
    CONNECT_RETRIED = 4
    LISTENING = 8
    BIND_FAILED = 16
    ACCEPTED = 32
    ACCEPT_FAILED = 64
    CLOSED = 128
    CLOSE_FAILED = 256
    DISCONNECTED = 512
    MONITOR_STOPPED = 1024
    HANDSHAKE_FAILED_NO_DETAIL = 2048
    HANDSHAKE_SUCCEEDED = 4096
    HANDSHAKE_FAILED_PROTOCOL = 8192
    HANDSHAKE_FAILED_AUTH = 16384


EVENT_ALL = 0xFFFF

_HEADER = struct.Struct("<HI")


def encode_event(event: int, value: int, endpoint: str) -> list[bytes]:
    """libzmq's v1 monitor message: uint16 event + uint32 value (little endian), endpoint."""
    return [_HEADER.pack(event & 0xFFFF, value & 0xFFFFFFFF), endpoint.encode()]
