"""Every error zmtp raises, under one root.

Kept free of any I/O import so that the sans-IO core (``zmtp.protocol``) can share them:
a fuzzer or another event loop catches the same ``ProtocolError`` the trio sockets do.
"""

from __future__ import annotations

__all__ = [
    "Again",
    "EndpointError",
    "HostUnreachable",
    "ProtocolError",
    "SocketClosed",
    "ZMTPError",
]


class ZMTPError(Exception):
    """Root of every error zmtp raises on purpose."""


class ProtocolError(ZMTPError):
    """The peer broke ZMTP (or the handshake failed); that one connection is finished.

    ``events`` holds whatever complete events were parsed from the same input before the
    violation, so a driver can still deliver messages that arrived intact ahead of the
    bad bytes.
    """

    def __init__(self, message: str, *, events: list[object] | None = None) -> None:
        super().__init__(message)
        self.events: list[object] = events if events is not None else []


class Again(ZMTPError):
    """The operation would block (``*_nowait``) or ``rcvtimeo``/``sndtimeo`` expired."""


class HostUnreachable(ZMTPError):
    """ROUTER with ``router_mandatory``: no connected peer has that routing id (or it is full)."""


class SocketClosed(ZMTPError):
    """The socket was closed; it cannot be used any more."""


class EndpointError(ZMTPError):
    """A bad endpoint string, an unsupported transport, or an address already in use."""
