"""Endpoint strings (``tcp://host:port``, ``ipc://path``, ``inproc://name``) parsed once.

Parsing is pure and strict: a typo fails at ``bind``/``connect`` with a message that
shows the accepted forms, instead of turning into a connection that silently never
happens.  Name resolution and socket creation live in ``zmtp.transport``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .errors import EndpointError

__all__ = ["Endpoint", "parse_endpoint"]

_FORMS = "tcp://HOST:PORT, ipc://PATH (or ipc://@abstract) or inproc://NAME"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A parsed endpoint.

    ``host`` is ``"*"`` for every interface; ``port`` is 0 for "pick a free port" (``*``
    or ``0`` in the string).  For ipc, ``path`` is the filesystem path or, for Linux
    abstract sockets, starts with ``"@"``.  For inproc, ``path`` is the name.
    """

    transport: str
    host: str = ""
    port: int = 0
    path: str = ""

    def __str__(self) -> str:
        if self.transport == "tcp":
            host = f"[{self.host}]" if ":" in self.host else self.host
            port = "*" if self.port == 0 else str(self.port)
            return f"tcp://{host}:{port}"
        return f"{self.transport}://{self.path}"

    @property
    def is_wildcard_port(self) -> bool:
        return self.transport == "tcp" and self.port == 0


def parse_endpoint(text: str) -> Endpoint:
    """Parse an endpoint string, or raise EndpointError saying what is wrong with it."""
    if not isinstance(text, str):
        raise EndpointError(f"an endpoint is a string like {_FORMS}, not {type(text).__name__}")
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise EndpointError(f"{text!r} is not an endpoint: expected {_FORMS}")
    scheme = scheme.lower()
    if scheme == "tcp":
        return _parse_tcp(text, rest)
    if scheme == "ipc":
        if not rest:
            raise EndpointError(f"{text!r}: an ipc endpoint needs a path, e.g. ipc:///tmp/x.sock")
        if "\x00" in rest:
            raise EndpointError(f"{text!r}: an ipc path cannot contain a NUL character")
        return Endpoint("ipc", path=rest)
    if scheme == "inproc":
        if not rest:
            raise EndpointError(f"{text!r}: an inproc endpoint needs a name, e.g. inproc://work")
        return Endpoint("inproc", path=rest)
    if scheme in ("pgm", "epgm", "norm", "vmci", "udp", "tipc", "ws", "wss"):
        raise EndpointError(
            f"{text!r}: the {scheme}:// transport is not supported by zmtp; use {_FORMS}"
        )
    raise EndpointError(f"{text!r}: unknown transport {scheme!r}; expected {_FORMS}")


def _parse_tcp(text: str, rest: str) -> Endpoint:
    if ";" in rest:
        raise EndpointError(
            f"{text!r}: source-address endpoints (tcp://src;dst) are not supported"
        )
    if rest.startswith("["):
        host, bracket, tail = rest[1:].partition("]")
        if not bracket or not tail.startswith(":"):
            raise EndpointError(f"{text!r}: an IPv6 endpoint looks like tcp://[::1]:5555")
        port_text = tail[1:]
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise EndpointError(f"{text!r}: {host!r} is not an IPv6 address") from None
    else:
        host, colon, port_text = rest.rpartition(":")
        if not colon:
            raise EndpointError(f"{text!r}: a tcp endpoint needs a port, e.g. tcp://127.0.0.1:5555")
        if ":" in host:
            raise EndpointError(f"{text!r}: write IPv6 addresses in brackets: tcp://[::1]:5555")
    if not host:
        raise EndpointError(f"{text!r}: missing host; use * for every interface")
    if port_text == "*":
        port = 0
    else:
        if not port_text.isdigit():
            raise EndpointError(f"{text!r}: the port must be a number from 0 to 65535, or *")
        port = int(port_text)
        if port > 65535:
            raise EndpointError(f"{text!r}: port {port} is out of range (0-65535)")
    return Endpoint("tcp", host=host, port=port)
