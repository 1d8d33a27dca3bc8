"""Socket options: libzmq's names in lower case, libzmq's defaults, times in seconds.

One table drives keyword arguments, attribute access and validation, so an option cannot
be documented in one place and behave differently in another.  A libzmq user porting code
finds the same name and the same default; only milliseconds became float seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["OPTIONS", "OptionSpec", "OptionValues", "Options"]


@dataclass(frozen=True, slots=True)
class OptionSpec:
    name: str
    default: Any
    kind: Callable[[Any], Any]
    doc: str


def _seconds_or_infinite(value: Any) -> float:
    """-1 means "forever" as in libzmq; anything else is a non-negative number of seconds."""
    number = float(value)
    if number < 0:
        if number != -1:
            raise ValueError("a time must be >= 0 seconds, or -1 for no limit")
        return -1.0
    if math.isnan(number):
        raise ValueError("a time cannot be NaN")
    return number


def _seconds(value: Any) -> float:
    number = float(value)
    if not number >= 0:
        raise ValueError("a time must be >= 0 seconds")
    return number


def _count(value: Any) -> int:
    if isinstance(value, bool) or int(value) != value:
        raise ValueError("expected a whole number")
    number = int(value)
    if number < 0:
        raise ValueError("expected a number >= 0 (0 means no limit)")
    return number


def _system_or_count(value: Any) -> int:
    if isinstance(value, bool) or int(value) != value:
        raise ValueError("expected a whole number")
    number = int(value)
    if number < -1:
        raise ValueError("expected a number >= 0, or -1 for the system default")
    return number


def _size_limit(value: Any) -> int:
    number = int(value)
    if number < -1:
        raise ValueError("expected a size in bytes, or -1 for no limit")
    return number


def _bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode()
    return bytes(value)


def _routing_id(value: Any) -> bytes:
    data = _bytes(value)
    if len(data) > 255:
        raise ValueError("a routing id is at most 255 bytes")
    if data[:1] == b"\x00":
        raise ValueError(
            "a routing id must not start with a zero byte (reserved for automatic ids)"
        )
    return data


def _connect_routing_id(value: Any) -> bytes:
    data = _bytes(value)
    if len(data) > 255:
        raise ValueError("a routing id is at most 255 bytes")
    return data


def _flag(value: Any) -> bool:
    return bool(value)


def _optional_text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


_SPECS = [
    OptionSpec("sndhwm", 1000, _count,
               "Messages queued per peer for sending before the socket blocks or drops "
               "(by type); 0 = no limit."),
    OptionSpec("rcvhwm", 1000, _count,
               "Messages queued per peer on receipt before reading from that peer pauses; "
               "0 = no limit."),
    OptionSpec("linger", -1.0, _seconds_or_infinite,
               "On close, how long to keep sending queued messages (s); -1 = until sent, "
               "0 = drop at once.  libzmq's default is -1 as well."),
    OptionSpec("routing_id", b"", _routing_id,
               "The Identity we announce to ROUTER peers (1-255 bytes, first byte not 0)."),
    OptionSpec("router_mandatory", False, _flag,
               "ROUTER: raise HostUnreachable for an unknown routing id instead of dropping."),
    OptionSpec("router_handover", False, _flag,
               "ROUTER: a new peer with a routing id already in use takes it over."),
    OptionSpec("reconnect_ivl", 0.1, _seconds_or_infinite,
               "First delay before reconnecting (s); -1 = never reconnect."),
    OptionSpec("reconnect_ivl_max", 0.0, _seconds,
               "Upper bound of the doubling reconnect delay (s); 0 = no backoff."),
    OptionSpec("heartbeat_ivl", 0.0, _seconds,
               "Send a ZMTP PING this often (s); 0 = no heartbeats."),
    OptionSpec("heartbeat_ttl", 0.0, _seconds,
               "TTL announced in our PINGs: the peer drops us after this much silence (s)."),
    OptionSpec("heartbeat_timeout", -1.0, _seconds_or_infinite,
               "Close a connection that sent nothing this long after our PING (s); "
               "-1 = heartbeat_ivl."),
    OptionSpec("handshake_ivl", 30.0, _seconds,
               "Time allowed for the ZMTP handshake (s); 0 = no limit."),
    OptionSpec("maxmsgsize", -1, _size_limit,
               "Largest frame accepted from the network (bytes); larger closes the "
               "connection; -1 = no limit."),
    OptionSpec("rcvtimeo", -1.0, _seconds_or_infinite,
               "recv raises zmtp.Again after this long (s); -1 = wait forever."),
    OptionSpec("sndtimeo", -1.0, _seconds_or_infinite,
               "send raises zmtp.Again after this long (s); -1 = wait forever."),
    OptionSpec("immediate", False, _flag,
               "Queue messages only to completed connections (not to peers being "
               "connected)."),
    OptionSpec("conflate", False, _flag,
               "Keep only the last message (PUB SUB PUSH PULL DEALER, single-part only)."),
    OptionSpec("xpub_verbose", False, _flag,
               "XPUB: pass every subscription to the application, not only new ones."),
    OptionSpec("xpub_verboser", False, _flag,
               "XPUB: also pass every unsubscription (implies xpub_verbose)."),
    OptionSpec("xpub_welcome_msg", b"", _bytes,
               "XPUB: a message sent to every new subscriber when it connects (it gets it "
               "if it subscribed to it, as any message); empty = none."),
    OptionSpec("xpub_manual", False, _flag,
               "XPUB: report every (un)subscription and apply none; the application "
               "applies them with subscribe()/unsubscribe(), which act on the peer whose "
               "subscription message it received last."),
    OptionSpec("xpub_nodrop", False, _flag,
               "PUB/XPUB: block (or raise Again) while a matching subscriber is at its "
               "HWM, instead of dropping the message for it."),
    OptionSpec("invert_matching", False, _flag,
               "PUB/XPUB send to the subscribers whose topics do NOT match; SUB receives "
               "the messages that match none of its topics (set it on both ends)."),
    OptionSpec("probe_router", False, _flag,
               "ROUTER, DEALER, REQ: send an empty message on every new connection, so "
               "that a ROUTER peer learns this socket's routing id at once."),
    OptionSpec("connect_routing_id", b"", _connect_routing_id,
               "ROUTER: the routing id to give the peer of the next connect() instead of "
               "the one it announces; that connect uses it and clears it, as in libzmq."),
    OptionSpec("connect_timeout", 0.0, _seconds,
               "Give up a tcp connect() attempt after this long (s) and retry later; "
               "0 = the system's own timeout."),
    OptionSpec("req_relaxed", False, _flag,
               "REQ: allow a new request before the reply; the old reply is then ignored."),
    OptionSpec("req_correlate", False, _flag,
               "REQ: tag requests with an id and accept only the matching reply."),
    OptionSpec("plain_server", False, _flag,
               "Act as PLAIN server (check credentials with plain_authenticator)."),
    OptionSpec("plain_username", None, _optional_text,
               "PLAIN client user name; setting it selects the PLAIN mechanism."),
    OptionSpec("plain_password", None, _optional_text, "PLAIN client password."),
    OptionSpec("plain_authenticator", None, lambda value: value,
               "PLAIN server: callable(username: bytes, password: bytes) -> bool; with "
               "None every client is refused, as libzmq refuses them when no ZAP handler "
               "runs."),
    OptionSpec("ipv6", False, _flag,
               "Bind '*' on IPv6 (dual stack) and allow IPv6 addresses."),
    OptionSpec("tcp_keepalive", -1, int, "SO_KEEPALIVE: -1 system default, 0 off, 1 on."),
    OptionSpec("tcp_keepalive_cnt", -1, _system_or_count,
               "TCP_KEEPCNT: probes before the connection is dropped; -1 system default."),
    OptionSpec("tcp_keepalive_idle", -1, _system_or_count,
               "TCP_KEEPIDLE: idle seconds before the first probe; -1 system default."),
    OptionSpec("tcp_keepalive_intvl", -1, _system_or_count,
               "TCP_KEEPINTVL: seconds between probes; -1 system default."),
    OptionSpec("tcp_maxrt", 0.0, _seconds,
               "TCP_USER_TIMEOUT: longest time unacknowledged data may wait before the "
               "connection is dropped (s); 0 = system default."),
    OptionSpec("tos", 0, _count, "IP_TOS / IPV6_TCLASS of tcp connections; 0 = default."),
    OptionSpec("sndbuf", -1, int, "SO_SNDBUF in bytes; -1 = system default."),
    OptionSpec("rcvbuf", -1, int, "SO_RCVBUF in bytes; -1 = system default."),
    OptionSpec("backlog", 100, _count, "listen() backlog of bound tcp/ipc endpoints."),
]

OPTIONS: dict[str, OptionSpec] = {spec.name: spec for spec in _SPECS}


class OptionValues:
    """Every option as a typed attribute: what ``Options`` stores and what a socket
    exposes as properties (one list for the type checker, next to the table)."""

    __slots__ = ()

    sndhwm: int
    rcvhwm: int
    linger: float
    routing_id: bytes
    router_mandatory: bool
    router_handover: bool
    reconnect_ivl: float
    reconnect_ivl_max: float
    heartbeat_ivl: float
    heartbeat_ttl: float
    heartbeat_timeout: float
    handshake_ivl: float
    maxmsgsize: int
    rcvtimeo: float
    sndtimeo: float
    immediate: bool
    conflate: bool
    xpub_verbose: bool
    xpub_verboser: bool
    xpub_welcome_msg: bytes
    xpub_manual: bool
    xpub_nodrop: bool
    invert_matching: bool
    probe_router: bool
    connect_routing_id: bytes
    connect_timeout: float
    req_relaxed: bool
    req_correlate: bool
    plain_server: bool
    plain_username: str | None
    plain_password: str | None
    plain_authenticator: Any
    ipv6: bool
    tcp_keepalive: int
    tcp_keepalive_cnt: int
    tcp_keepalive_idle: int
    tcp_keepalive_intvl: int
    tcp_maxrt: float
    tos: int
    sndbuf: int
    rcvbuf: int
    backlog: int


class Options(OptionValues):
    """Current option values of one socket; unknown names fail with the list of known ones."""

    __slots__ = tuple(OPTIONS)

    def __init__(self, **values: Any) -> None:
        for spec in _SPECS:
            object.__setattr__(self, spec.name, spec.default)
        for name, value in values.items():
            self.set(name, value)

    def set(self, name: str, value: Any) -> None:
        spec = OPTIONS.get(name)
        if spec is None:
            known = ", ".join(sorted(OPTIONS))
            raise TypeError(f"unknown socket option {name!r}; known options: {known}")
        try:
            converted = spec.kind(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad value {value!r} for option {name!r}: {exc}") from None
        object.__setattr__(self, name, converted)

    def get(self, name: str) -> Any:
        if name not in OPTIONS:
            raise AttributeError(f"unknown socket option {name!r}")
        return getattr(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self.set(name, value)

    @property
    def effective_heartbeat_timeout(self) -> float:
        return self.heartbeat_ivl if self.heartbeat_timeout < 0 else self.heartbeat_timeout
