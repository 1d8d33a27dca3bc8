"""Security mechanisms: NULL and PLAIN (client and server), behind one small interface.

A mechanism object is configuration (credentials, the authenticate callable).  Each
Connection works on its own copy (``fresh()``), so one object may serve every
connection of a socket.

The connection handles ERROR itself (it becomes a ``PeerError`` event); a mechanism only
sees the commands of its own handshake.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from ..errors import ProtocolError
from .commands import (
    HELLO,
    INITIATE,
    READY,
    WELCOME,
    encode_command,
    encode_error,
    encode_hello,
    parse_hello,
)
from .metadata import decode_metadata

__all__ = [
    "Authenticator",
    "Mechanism",
    "NullMechanism",
    "PlainClientMechanism",
    "PlainServerMechanism",
    "Send",
]

Send = Callable[[bytes], None]
"""Queues one command body on the connection."""

Authenticator = Callable[[bytes, bytes], bool]
"""``authenticate(username, password) -> bool`` for a PLAIN server."""


class Mechanism:
    """Interface of a handshake mechanism.

    ``start`` runs once both greetings are exchanged; ``process`` gets each handshake
    command and returns the peer's metadata once the handshake is complete (None while
    it is still going).  Both may queue commands with ``send`` and raise ProtocolError.
    """

    name: bytes = b""
    #: Whether a ZMTP/2.0 peer may be spoken to (only NULL: 2.0 has no security).
    allows_zmtp2: bool = False

    def fresh(self) -> Mechanism:
        """A copy with the per-connection state reset."""
        clone = copy.copy(self)
        clone._reset()
        return clone

    def _reset(self) -> None:
        pass

    def start(self, send: Send, metadata: bytes) -> None:
        raise NotImplementedError

    def process(self, name: bytes, data: bytes, send: Send) -> dict[str, bytes] | None:
        raise NotImplementedError


def _unexpected(mechanism: str, expected: str, name: bytes, hint: str = "") -> ProtocolError:
    shown = name.decode("ascii", "replace")
    return ProtocolError(f"{mechanism} handshake: expected {expected}, got {shown!r}{hint}")


class NullMechanism(Mechanism):
    """RFC 23 NULL: both sides send READY with their metadata at once."""

    name = b"NULL"
    allows_zmtp2 = True

    def start(self, send: Send, metadata: bytes) -> None:
        send(encode_command(READY, metadata))

    def process(self, name: bytes, data: bytes, send: Send) -> dict[str, bytes] | None:
        if name != READY:
            raise _unexpected("NULL", "READY", name)
        return decode_metadata(data)


class PlainClientMechanism(Mechanism):
    """RFC 24 PLAIN client: HELLO -> WELCOME, INITIATE -> READY."""

    name = b"PLAIN"

    def __init__(self, username: bytes | str, password: bytes | str) -> None:
        self.username = username.encode() if isinstance(username, str) else bytes(username)
        self.password = password.encode() if isinstance(password, str) else bytes(password)
        if len(self.username) > 255 or len(self.password) > 255:
            raise ValueError("PLAIN username and password are at most 255 octets each")
        self._metadata = b""
        self._state = "new"

    def __repr__(self) -> str:
        return f"PlainClientMechanism(username={self.username!r}, password=...)"

    def _reset(self) -> None:
        self._state = "new"

    def start(self, send: Send, metadata: bytes) -> None:
        self._metadata = metadata
        send(encode_hello(self.username, self.password))
        self._state = "welcome"

    def process(self, name: bytes, data: bytes, send: Send) -> dict[str, bytes] | None:
        if self._state == "welcome":
            if name != WELCOME:
                hint = (
                    "; both peers are PLAIN clients, one of them must be the PLAIN server"
                    if name == HELLO
                    else ""
                )
                raise _unexpected("PLAIN client", "WELCOME", name, hint)
            send(encode_command(INITIATE, self._metadata))
            self._state = "ready"
            return None
        if self._state == "ready":
            if name != READY:
                raise _unexpected("PLAIN client", "READY", name)
            self._state = "done"
            return decode_metadata(data)
        raise _unexpected("PLAIN client", "nothing", name)


class PlainServerMechanism(Mechanism):
    """RFC 24 PLAIN server.

    ``authenticate(username, password) -> bool`` decides; a refused client gets ERROR
    "400" (the ZAP status libzmq sends) and the connection fails.  Without it every client
    is accepted, unless ``refuse_without_authenticator``: then every HELLO fails the
    connection with no reply, as libzmq's PLAIN server does when no ZAP handler runs
    (the sockets' default).
    """

    name = b"PLAIN"

    def __init__(
        self, authenticate: Authenticator | None = None, *,
        refuse_without_authenticator: bool = False,
    ) -> None:
        self.authenticate = authenticate
        self.refuse_without_authenticator = refuse_without_authenticator
        self._metadata = b""
        self._state = "new"
        #: The client's username once HELLO arrived (for logs and ZAP-like user ids).
        self.username: bytes | None = None

    def _reset(self) -> None:
        self._state = "new"
        self.username = None

    def start(self, send: Send, metadata: bytes) -> None:
        self._metadata = metadata
        self._state = "hello"

    def process(self, name: bytes, data: bytes, send: Send) -> dict[str, bytes] | None:
        if self._state == "hello":
            if name != HELLO:
                hint = (
                    "; both peers are PLAIN servers, one of them must be a PLAIN client"
                    if name == WELCOME
                    else ""
                )
                raise _unexpected("PLAIN server", "HELLO", name, hint)
            username, password = parse_hello(data)
            self.username = username
            if self.authenticate is None and self.refuse_without_authenticator:
                self._state = "failed"
                raise ProtocolError(
                    f"PLAIN server has no authenticator: user {username!r} refused, as "
                    "libzmq refuses PLAIN clients when no ZAP handler runs (set "
                    "plain_authenticator to check credentials)"
                )
            if self.authenticate is not None and not self.authenticate(username, password):
                send(encode_error(b"400"))
                self._state = "failed"
                raise ProtocolError(
                    f"PLAIN server refused the credentials of user {username!r} "
                    "(sent ERROR 400)"
                )
            send(encode_command(WELCOME))
            self._state = "initiate"
            return None
        if self._state == "initiate":
            if name != INITIATE:
                raise _unexpected("PLAIN server", "INITIATE", name)
            peer = decode_metadata(data)
            send(encode_command(READY, self._metadata))
            self._state = "done"
            return peer
        raise _unexpected("PLAIN server", "nothing", name)
