"""Z85 (ZeroMQ RFC 32): 4 bytes <-> 5 printable characters, as used for CURVE keys."""

from __future__ import annotations

import struct

__all__ = ["Z85CHARS", "Z85MAP", "decode", "encode"]

Z85CHARS = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
Z85MAP = {c: i for i, c in enumerate(Z85CHARS)}

_POWERS = (85**4, 85**3, 85**2, 85, 1)


def encode(rawbytes: bytes) -> bytes:
    """Z85-encode ``rawbytes`` (its length must be a multiple of 4)."""
    if len(rawbytes) % 4:
        raise ValueError(f"length must be multiple of 4, not {len(rawbytes)}")
    out = bytearray()
    for (word,) in struct.iter_unpack(">I", rawbytes):
        out.extend(Z85CHARS[(word // p) % 85] for p in _POWERS)
    return bytes(out)


def decode(z85bytes: bytes | str) -> bytes:
    """Decode Z85 text (length a multiple of 5) back to bytes."""
    if isinstance(z85bytes, str):
        z85bytes = z85bytes.encode("ascii")
    if len(z85bytes) % 5:
        raise ValueError(f"Z85 length must be multiple of 5, not {len(z85bytes)}")
    words = []
    for i in range(0, len(z85bytes), 5):
        value = 0
        for c in z85bytes[i : i + 5]:
            value = value * 85 + Z85MAP[c]
        words.append(value)
    return struct.pack(f">{len(words)}I", *words)
