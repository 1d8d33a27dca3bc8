"""ZMTP metadata: the properties carried by READY and INITIATE.

property = name-length (1) name (1-255 of ALPHA DIGIT - _ . +) value-length (4, BE) value
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ProtocolError

__all__ = [
    "IDENTITY",
    "SOCKET_TYPE",
    "check_property_name",
    "decode_metadata",
    "encode_metadata",
    "get_property",
]

# Spelled exactly so: libzmq compares these names case-sensitively.
SOCKET_TYPE = "Socket-Type"
IDENTITY = "Identity"

_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.+")
_MAX_VALUE = 0x7FFFFFFF


def check_property_name(name: str) -> str:
    """Refuse a name we may not send (local misuse: ValueError, not ProtocolError)."""
    if not 1 <= len(name) <= 255 or not set(name) <= _NAME_CHARS:
        raise ValueError(
            f"metadata property name {name!r}: 1-255 characters of A-Z a-z 0-9 - _ . +"
        )
    return name


def encode_metadata(properties: Mapping[str, bytes]) -> bytes:
    out = bytearray()
    for name, value in properties.items():
        raw = check_property_name(name).encode("ascii")
        value = bytes(value)
        if len(value) > _MAX_VALUE:
            raise ValueError(f"metadata property {name!r}: value longer than 2**31-1 octets")
        out.append(len(raw))
        out += raw
        out += len(value).to_bytes(4, "big")
        out += value
    return bytes(out)


def decode_metadata(data: bytes) -> dict[str, bytes]:
    """Parse the peer's properties, keeping its spelling of the names.

    Names are not checked against the RFC character set beyond being non-empty: libzmq
    does not check them either, and refusing a peer over a name we ignore anyway would
    only hurt interop.  Latin-1 decoding cannot fail, so any octets are safe here.
    """
    props: dict[str, bytes] = {}
    pos = 0
    end = len(data)
    while pos < end:
        nlen = data[pos]
        pos += 1
        if nlen == 0:
            raise ProtocolError("malformed metadata: property with an empty name")
        if pos + nlen + 4 > end:
            raise ProtocolError("malformed metadata: property name runs past the end")
        name = data[pos : pos + nlen].decode("latin-1")
        pos += nlen
        vlen = int.from_bytes(data[pos : pos + 4], "big")
        pos += 4
        if vlen > end - pos:
            raise ProtocolError(
                f"malformed metadata: value of {name!r} ({vlen} octets) runs past the end"
            )
        props[name] = data[pos : pos + vlen]
        pos += vlen
    return props


def get_property(properties: Mapping[str, bytes], name: str) -> bytes | None:
    """Case-insensitive lookup, as the RFC defines property names."""
    value = properties.get(name)
    if value is not None:
        return value
    folded = name.lower()
    for key, value in properties.items():
        if key.lower() == folded:
            return value
    return None
