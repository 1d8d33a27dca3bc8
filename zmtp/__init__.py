"""zmtp: ZeroMQ's wire protocol (ZMTP 3.1) in pure Python, on trio.

The socket layer is imported lazily so that ``import zmtp.protocol`` (the sans-IO core,
used by fuzzers and other event loops) never pulls in trio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import PROTOCOL_VERSIONS, __version__
from .errors import (
    Again,
    EndpointError,
    HostUnreachable,
    ProtocolError,
    SocketClosed,
    ZMTPError,
)

if TYPE_CHECKING:
    from .protocol.sockettypes import SocketType
    from .socket import Socket

__all__ = [
    "PROTOCOL_VERSIONS",
    "Again",
    "EndpointError",
    "HostUnreachable",
    "ProtocolError",
    "Socket",
    "SocketClosed",
    "SocketType",
    "ZMTPError",
    "__version__",
]

_SOCKET_TYPE_NAMES = (
    "PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB",
)
__all__ += list(_SOCKET_TYPE_NAMES)


def __getattr__(name: str) -> Any:
    if name == "Socket":
        from .socket import Socket

        return Socket
    if name == "SocketType":
        from .protocol.sockettypes import SocketType

        return SocketType
    if name in _SOCKET_TYPE_NAMES:
        from .protocol.sockettypes import SocketType

        return SocketType[name]
    raise AttributeError(f"module 'zmtp' has no attribute {name!r}")
