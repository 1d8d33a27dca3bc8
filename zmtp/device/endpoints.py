"""Endpoint strings as FairMQ reads them: modifiers, method, host resolution, auto-bind.

Everything here is a pure function of its inputs (the resolver and the "try to bind"
step are passed in), so the socket-dependent device runtime stays a thin loop and the
rules — which are what makes a Python device indistinguishable from a C++ one — are
tested on their own. Facts from FAIRMQ.md §2.2-2.4 (``Device::AttachChannel``,
``Channel::BindEndpoint``, ``tools::getIpFromHostname``).
"""

from __future__ import annotations

import random
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "AUTO_BIND_ATTEMPTS",
    "MODIFIERS",
    "Endpoint",
    "attach_phase",
    "auto_bind",
    "auto_bind_candidates",
    "default_route_interface",
    "interface_ipv4",
    "is_unspecified",
    "parse_endpoints",
    "resolve_endpoint",
    "resolve_ipv4",
    "rewrite_address",
    "split_tcp",
    "unspecified_bind_address",
]

#: Leading characters that override a sub-channel's method for one endpoint.
MODIFIERS = "@+>"
#: FairMQ gives up auto-binding after this many random ports.
AUTO_BIND_ATTEMPTS = 1000

Phase = Literal["bind", "connect"]


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of a sub-channel: the address without modifier, and what to do with it."""

    address: str
    bind: bool
    modifier: bool = False

    def written(self, address: str | None = None) -> str:
        """How FairMQ writes the endpoint back: ``@addr``/``+addr`` if it had a modifier
        (``>`` becomes ``+``), the bare address otherwise."""
        addr = self.address if address is None else address
        if self.modifier:
            return ("@" if self.bind else "+") + addr
        return addr


def is_unspecified(address: str) -> bool:
    """FairMQ's "no address": the default ``unspecified`` or an empty string."""
    return address in ("", "unspecified")


def parse_endpoints(address: str, method: str) -> list[Endpoint]:
    """Split a sub-channel address on ``,``; ``@`` binds, ``+``/``>`` connect, else ``method``.

    An endpoint without modifier binds only if ``method`` is exactly ``bind`` (anything
    else connects, as in FairMQ; validation refuses a missing method beforehand).
    """
    endpoints: list[Endpoint] = []
    for piece in address.split(","):
        if piece[:1] == "@":
            endpoints.append(Endpoint(piece[1:], bind=True, modifier=True))
        elif piece[:1] in ("+", ">"):
            endpoints.append(Endpoint(piece[1:], bind=False, modifier=True))
        else:
            endpoints.append(Endpoint(piece, bind=(method == "bind")))
    return endpoints


def attach_phase(method: str, address: str) -> Phase | None:
    """In which state the sub-channel is attached: BINDING (``bind``) or CONNECTING.

    FairMQ's rule: method ``bind`` -> BINDING; method ``connect``, or any method when the
    address contains ``@``, ``+`` or ``>`` *anywhere* -> CONNECTING; otherwise None
    ("socket method not specified"). So a ``connect`` sub-channel whose endpoints are all
    ``@...`` binds during CONNECTING.
    """
    if method == "bind":
        return "bind"
    if method == "connect" or any(c in address for c in MODIFIERS):
        return "connect"
    return None


def split_tcp(address: str) -> tuple[str, str] | None:
    """``tcp://host:port`` -> (host, port), host = text up to the first ``:``; else None."""
    if not address.startswith("tcp://"):
        return None
    rest = address[len("tcp://") :]
    host, sep, port = rest.partition(":")
    if not sep:
        return None
    return host, port


def resolve_ipv4(host: str) -> str | None:
    """IPv4 address of ``host`` (``localhost`` -> ``127.0.0.1``), None if it has none.

    FairMQ resolves with an IPv4-only resolver; so do we. Blocking (DNS): call it from a
    worker thread in async code.
    """
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    for info in infos:
        addr = info[4][0]
        if isinstance(addr, str):
            return addr
    return None


def resolve_endpoint(
    endpoint: Endpoint, resolver: Callable[[str], str | None] = resolve_ipv4
) -> str | None:
    """The address to pass to bind/connect: tcp hosts resolved to IPv4, except ``*`` for
    bind; ipc/inproc unchanged. None if the host does not resolve (attach fails)."""
    parts = split_tcp(endpoint.address)
    if parts is None:
        return endpoint.address
    host, port = parts
    if endpoint.bind and host == "*":
        return endpoint.address
    ip = resolver(host)
    if not ip:
        return None
    return f"tcp://{ip}:{port}"


def rewrite_address(attached: Sequence[tuple[Endpoint, str]]) -> str:
    """The address stored back into ``chans.<name>.<i>.address`` after attaching.

    ``attached`` pairs each endpoint with the address really used (resolved host,
    auto-bound port). The caller writes it back only if it differs from the original.
    """
    return ",".join(ep.written(addr) for ep, addr in attached)


def auto_bind_candidates(
    address: str,
    port_min: int,
    port_max: int,
    *,
    rng: random.Random | None = None,
    attempts: int = AUTO_BIND_ATTEMPTS,
) -> Iterator[str]:
    """Endpoints to try after a tcp bind failed: the port replaced by uniformly random
    ports from ``[port_min, port_max]``, at most ``attempts`` of them (FairMQ: 1000).

    Nothing for non-tcp addresses (auto-bind is tcp-only) or an empty range.
    """
    if split_tcp(address) is None or port_min > port_max:
        return
    gen = rng if rng is not None else random.Random()
    base = address[: address.rfind(":") + 1]
    for _ in range(attempts):
        yield f"{base}{gen.randint(port_min, port_max)}"


def auto_bind(
    address: str,
    try_bind: Callable[[str], bool],
    *,
    auto_bind: bool = True,
    port_min: int = 22000,
    port_max: int = 23000,
    rng: random.Random | None = None,
    attempts: int = AUTO_BIND_ATTEMPTS,
) -> str | None:
    """Bind ``address``; if that fails and auto-bind applies, try random ports.

    Returns the endpoint that was bound (to be written back to the config) or None.
    Async callers iterate :func:`auto_bind_candidates` themselves.
    """
    if try_bind(address):
        return address
    if not auto_bind:
        return None
    for candidate in auto_bind_candidates(address, port_min, port_max, rng=rng, attempts=attempts):
        if try_bind(candidate):
            return candidate
    return None


def unspecified_bind_address(interface_ip: str | None) -> str:
    """Address FairMQ gives a bind sub-channel without one: ``tcp://<ip>:1``, or
    ``tcp://*:1`` when the interface cannot be found. Port 1 fails for non-root (EACCES)
    and so triggers auto-bind: that is the intended effect."""
    return f"tcp://{interface_ip or '*'}:1"


def default_route_interface(proc_net_route: str) -> str | None:
    """Name of the interface of the default route, from the text of ``/proc/net/route``."""
    for line in proc_net_route.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 2 and cols[1] == "00000000":
            return cols[0]
    return None


def interface_ipv4(name: str) -> str | None:
    """IPv4 address of a network interface (Linux ``SIOCGIFADDR``), None if unknown."""
    try:
        import fcntl
        import struct

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            req = struct.pack("256s", name.encode()[:15])
            res = fcntl.ioctl(s.fileno(), 0x8915, req)  # SIOCGIFADDR
        return socket.inet_ntoa(res[20:24])
    except (OSError, ImportError, ValueError):
        return None
