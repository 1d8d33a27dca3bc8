"""pyzmq's old Python 2/3 string-type names, still imported by some code."""

from __future__ import annotations

__all__ = ["asbytes", "bytes", "unicode", "basestring"]

bytes = bytes
unicode = str
basestring = (str, bytes)


def asbytes(s: str | bytes) -> bytes:
    """str -> UTF-8 bytes; bytes unchanged."""
    return s.encode("utf8") if isinstance(s, str) else s
