"""JSON to and from bytes, as send_json/recv_json use it (pyzmq's zmq.utils.jsonapi)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps", "jsonmod", "loads"]

#: The json implementation in use (pyzmq exposes it under this name).
jsonmod = json


def dumps(o: object, **kwargs: Any) -> bytes:
    """Serialize ``o`` to UTF-8 JSON bytes."""
    return json.dumps(o, **kwargs).encode("utf8")


def loads(s: bytes | str, **kwargs: Any) -> Any:
    """Parse JSON from bytes (UTF-8) or str."""
    if isinstance(s, (bytes, bytearray, memoryview)):
        s = bytes(s).decode("utf8")
    return json.loads(s, **kwargs)
