"""The ZMTP greeting: 64 octets for 3.x, 12 for a ZMTP/2.0 peer (plus its identity frame).

libzmq sends it in three steps and so do we: the 10-octet signature at once, the major
version octet once the peer's signature has arrived, the rest once the peer's version
octet has arrived (which tells us whether the rest is a 3.x greeting or a 2.0 socket-type
octet).  A peer that waits for all 64 octets before sending still works, because the
signature always goes out first.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ProtocolError

__all__ = [
    "GREETING_SIZE",
    "MECHANISM_CHARS",
    "SIGNATURE_SIZE",
    "V2_GREETING_SIZE",
    "Greeting",
    "check_mechanism_name",
    "decode_greeting",
    "encode_greeting",
    "encode_greeting_rest",
    "encode_signature",
]

SIGNATURE_SIZE = 10
V2_GREETING_SIZE = 12  # signature + revision + socket type
GREETING_SIZE = 64
VERSION_MAJOR = 3
VERSION_MINOR = 1
MECHANISM_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.+")


def encode_signature(routing_id_length: int = 0) -> bytes:
    """0xFF, padding, 0x7F.

    The padding is libzmq's: a big-endian uint64 of the routing id length + 1, which
    makes the signature a valid ZMTP/1.0 identity frame header.  Peers must not validate
    it, so the value matters only for looking like libzmq on the wire.
    """
    return b"\xff" + (routing_id_length + 1).to_bytes(8, "big") + b"\x7f"


def check_mechanism_name(name: bytes) -> bytes:
    if not 1 <= len(name) <= 20 or not set(name) <= MECHANISM_CHARS:
        raise ValueError(f"mechanism name {name!r}: 1-20 of A-Z 0-9 - _ . +")
    return name


def encode_greeting_rest(mechanism: bytes, minor: int = VERSION_MINOR) -> bytes:
    """The 53 octets after the major version: minor, mechanism, as-server, filler.

    as-server is always 0, as libzmq writes it: roles come from configuration
    (PLAIN server or client), never from this octet.
    """
    return bytes((minor,)) + mechanism.ljust(20, b"\0") + bytes(32)


def encode_greeting(
    mechanism: bytes = b"NULL", routing_id_length: int = 0, minor: int = VERSION_MINOR
) -> bytes:
    """The whole 64-octet greeting in one piece (tests and tools)."""
    return (
        encode_signature(routing_id_length)
        + bytes((VERSION_MAJOR,))
        + encode_greeting_rest(mechanism, minor)
    )


@dataclass(frozen=True, slots=True)
class Greeting:
    major: int
    minor: int
    mechanism: bytes
    as_server: bool


def decode_greeting(data: bytes | bytearray) -> Greeting:
    """Parse a 64-octet 3.x greeting.  The padding is never looked at (RFC 23)."""
    if len(data) != GREETING_SIZE:
        raise ProtocolError(f"greeting must be {GREETING_SIZE} octets, got {len(data)}")
    if data[0] != 0xFF or not data[9] & 1:
        raise ProtocolError("greeting does not start with a ZMTP signature (0xFF ... 0x7F)")
    if data[10] < 2:
        raise ProtocolError(f"greeting announces ZMTP revision {data[10]}, not 3.x")
    raw = bytes(data[12:32])
    mechanism = raw.rstrip(b"\0")
    if not mechanism or b"\0" in mechanism or not set(mechanism) <= MECHANISM_CHARS:
        raise ProtocolError(f"greeting carries an invalid mechanism name {raw!r}")
    return Greeting(data[10], data[11], mechanism, bool(data[32]))
