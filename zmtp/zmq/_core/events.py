"""libzmq's monitor event numbers and the two-frame monitor message they travel in.

Kept here (not taken from the face's constants) so the driver depends on nothing above
it; the numbers are libzmq's ABI, they never change.
"""

from __future__ import annotations

import struct

__all__ = ["EV", "EVENT_ALL", "PE", "encode_event", "handshake_failure"]


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


class PE:
    """libzmq's ``ZMQ_PROTOCOL_ERROR_*`` values (HANDSHAKE_FAILED_PROTOCOL's value)."""

    ZMTP_UNSPECIFIED = 0x10000000
    ZMTP_UNEXPECTED_COMMAND = 0x10000001
    ZMTP_MALFORMED_COMMAND_UNSPECIFIED = 0x10000011
    ZMTP_MALFORMED_COMMAND_HELLO = 0x10000013
    ZMTP_INVALID_METADATA = 0x10000018
    ZMTP_MECHANISM_MISMATCH = 0x11000002


# A part of the core's reason -> libzmq's code; the first match wins.  The codes are the
# ones libzmq 4.3.5 gives for the same bytes (an unexpected frame or command in the NULL
# handshake is UNEXPECTED_COMMAND there, whatever is wrong with it); where libzmq closes
# without an event (metadata, Socket-Type) the nearest code it defines is used.
_CODES: tuple[tuple[str, int], ...] = (
    ("security mechanism mismatch", PE.ZMTP_MECHANISM_MISMATCH),
    ("invalid mechanism name", PE.ZMTP_MECHANISM_MISMATCH),
    ("downgrade protection", PE.ZMTP_MECHANISM_MISMATCH),
    ("malformed PLAIN HELLO", PE.ZMTP_MALFORMED_COMMAND_HELLO),
    ("metadata", PE.ZMTP_INVALID_METADATA),
    ("Socket-Type", PE.ZMTP_INVALID_METADATA),
    ("cannot talk to a", PE.ZMTP_INVALID_METADATA),
    ("handshake: expected", PE.ZMTP_UNEXPECTED_COMMAND),
    ("before the", PE.ZMTP_UNEXPECTED_COMMAND),
    ("reserved bits", PE.ZMTP_UNEXPECTED_COMMAND),
    ("empty command", PE.ZMTP_UNEXPECTED_COMMAND),
    ("command with an empty name", PE.ZMTP_UNEXPECTED_COMMAND),
    ("malformed command", PE.ZMTP_UNEXPECTED_COMMAND),
    ("command frame", PE.ZMTP_UNEXPECTED_COMMAND),
)


def handshake_failure(reason: str) -> tuple[int, int]:
    """The monitor event and value for a handshake that failed for ``reason`` (a
    ProtocolError's text, or "peer sent ERROR during handshake: <reason>").

    An ERROR whose reason is a 3-digit status (300-599) is an authentication failure,
    as in libzmq (HANDSHAKE_FAILED_AUTH, the status as the value)."""
    marker = "peer sent ERROR during handshake: "
    if reason.startswith(marker):
        status = reason[len(marker):]
        if len(status) == 3 and status.isdigit() and status[0] in "345":
            return EV.HANDSHAKE_FAILED_AUTH, int(status)
        return EV.HANDSHAKE_FAILED_PROTOCOL, PE.ZMTP_UNSPECIFIED
    if "refused the credentials" in reason:
        return EV.HANDSHAKE_FAILED_AUTH, 400
    for part, code in _CODES:
        if part in reason:
            return EV.HANDSHAKE_FAILED_PROTOCOL, code
    return EV.HANDSHAKE_FAILED_PROTOCOL, PE.ZMTP_UNSPECIFIED

_HEADER = struct.Struct("<HI")


def encode_event(event: int, value: int, endpoint: str) -> list[bytes]:
    """libzmq's v1 monitor message: uint16 event + uint32 value (little endian), endpoint."""
    return [_HEADER.pack(event & 0xFFFF, value & 0xFFFFFFFF), endpoint.encode()]
