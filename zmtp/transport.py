"""Opening the byte streams ZMTP runs over: tcp and ipc listeners and connections.

Only the mechanics live here (resolve, socket options, bind, listen, connect); what runs
over the stream is the engine's business, and inproc, which has no stream, lives in
``zmtp.inproc``.
"""

from __future__ import annotations

import errno
import math
import os
import socket as stdlib_socket
import tempfile
import uuid

import trio

from .endpoint import Endpoint
from .errors import EndpointError
from .options import Options

__all__ = ["Listener", "open_listener", "open_stream", "configure_stream_socket"]


class Listener:
    """A bound, listening tcp or ipc socket and the endpoint string it really got."""

    def __init__(self, sock: stdlib_socket.socket, endpoint: str, ipc_path: str | None) -> None:
        self.sock = sock  # non-blocking
        self.endpoint = endpoint
        self.ipc_path = ipc_path

    async def accept(self) -> tuple[stdlib_socket.socket, object]:
        """One new connection, as a non-blocking stdlib socket (see ``open_stream``)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        raw = self.sock
        while True:
            try:
                conn, address = raw.accept()
            except BlockingIOError:
                await trio.lowlevel.wait_readable(raw)
                continue
            conn.setblocking(False)
            return conn, address

    def close(self) -> None:
        trio.lowlevel.notify_closing(self.sock)
        self.sock.close()
        if self.ipc_path is not None:
            try:
                os.unlink(self.ipc_path)
            except OSError:
                pass


_AF_UNIX = getattr(stdlib_socket, "AF_UNIX", -1)
#: SO_SNDBUF asked for on ipc connections when the ``sndbuf`` option is not set.
IPC_SNDBUF = 4 * 1024 * 1024


def _ipc_address(path: str) -> str | bytes:
    if path.startswith("@"):
        return b"\x00" + path[1:].encode()
    return path


def configure_stream_socket(sock: stdlib_socket.socket, options: Options) -> None:
    """The per-connection socket options libzmq applies: TCP_NODELAY, buffers, keepalive
    (and its tunables where the system has them), TCP_USER_TIMEOUT, type of service."""
    family = sock.family
    if family in (stdlib_socket.AF_INET, stdlib_socket.AF_INET6):
        tcp = stdlib_socket.IPPROTO_TCP
        sock.setsockopt(tcp, stdlib_socket.TCP_NODELAY, 1)
        if options.tcp_keepalive >= 0:
            sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_KEEPALIVE,
                            options.tcp_keepalive)
        if options.tcp_keepalive == 1:  # libzmq tunes keepalive only where it turned it on
            for name, value in (("TCP_KEEPCNT", options.tcp_keepalive_cnt),
                                ("TCP_KEEPIDLE", options.tcp_keepalive_idle),
                                ("TCP_KEEPINTVL", options.tcp_keepalive_intvl)):
                if value > 0 and hasattr(stdlib_socket, name):
                    sock.setsockopt(tcp, getattr(stdlib_socket, name), value)
        if options.tcp_maxrt > 0 and hasattr(stdlib_socket, "TCP_USER_TIMEOUT"):
            sock.setsockopt(tcp, stdlib_socket.TCP_USER_TIMEOUT,
                            max(1, round(options.tcp_maxrt * 1000)))
        if options.tos > 0:
            if family == stdlib_socket.AF_INET:
                sock.setsockopt(stdlib_socket.IPPROTO_IP, stdlib_socket.IP_TOS, options.tos)
            elif hasattr(stdlib_socket, "IPV6_TCLASS"):
                sock.setsockopt(stdlib_socket.IPPROTO_IPV6, stdlib_socket.IPV6_TCLASS,
                                options.tos)
    if options.sndbuf > 0:
        sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_SNDBUF, options.sndbuf)
    elif sock.family == _AF_UNIX:
        # A unix stream socket's send buffer bounds what is in flight (no autotuning as
        # for tcp): with the usual 208 KiB default a 1 MiB message crosses in five or
        # more wake-ups of each side.  Ask for more; the kernel caps it at wmem_max.
        sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_SNDBUF, IPC_SNDBUF)
    if options.rcvbuf > 0:
        sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_RCVBUF, options.rcvbuf)


async def _resolve(host: str, port: int, options: Options, *, passive: bool) -> tuple[
    int, tuple[object, ...]
]:
    """(family, sockaddr) for a host, preferring IPv4 unless ipv6 is on, as libzmq does."""
    if host == "*":
        if options.ipv6:
            return stdlib_socket.AF_INET6, ("::", port, 0, 0)
        return stdlib_socket.AF_INET, ("0.0.0.0", port)
    family = stdlib_socket.AF_UNSPEC if options.ipv6 or ":" in host else stdlib_socket.AF_INET
    flags = stdlib_socket.AI_PASSIVE if passive else 0
    try:
        infos = await trio.socket.getaddrinfo(
            host, port, family, stdlib_socket.SOCK_STREAM, 0, flags
        )
    except stdlib_socket.gaierror as exc:
        raise EndpointError(f"cannot resolve host {host!r}: {exc.strerror}") from None
    if not infos:
        raise EndpointError(f"host {host!r} has no address")
    family_found, _, _, _, sockaddr = infos[0]
    return int(family_found), tuple(sockaddr)


def _format_tcp(sockaddr: tuple[object, ...], family: int) -> str:
    host = str(sockaddr[0])
    port = int(sockaddr[1])  # type: ignore[call-overload]
    if family == stdlib_socket.AF_INET6:
        return f"tcp://[{host}]:{port}"
    return f"tcp://{host}:{port}"


async def open_listener(endpoint: Endpoint, options: Options) -> Listener:
    """Bind and listen; raise EndpointError (address in use, bad host, bad path)."""
    if endpoint.transport == "tcp":
        family, sockaddr = await _resolve(endpoint.host, endpoint.port, options, passive=True)
        sock = stdlib_socket.socket(family, stdlib_socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_REUSEADDR, 1)
            if family == stdlib_socket.AF_INET6:
                sock.setsockopt(stdlib_socket.IPPROTO_IPV6, stdlib_socket.IPV6_V6ONLY,
                                0 if endpoint.host == "*" else 1)
            await trio.socket.from_stdlib_socket(sock).bind(sockaddr)
            sock.listen(options.backlog)
        except OSError as exc:
            sock.close()
            raise _bind_error(str(endpoint), exc) from None
        return Listener(sock, _format_tcp(sock.getsockname(), family), None)
    if endpoint.transport == "ipc":
        path = endpoint.path
        if path == "*":
            path = os.path.join(tempfile.gettempdir(), f"zmtp-{uuid.uuid4().hex}.sock")
        sock = stdlib_socket.socket(stdlib_socket.AF_UNIX, stdlib_socket.SOCK_STREAM)
        unlink_path = None
        try:
            sock.setblocking(False)
            if not path.startswith("@"):
                # libzmq removes a file left behind by an earlier run before binding.
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                unlink_path = path
            await trio.socket.from_stdlib_socket(sock).bind(_ipc_address(path))
            sock.listen(options.backlog)
        except OSError as exc:
            sock.close()
            raise _bind_error(f"ipc://{path}", exc) from None
        return Listener(sock, f"ipc://{path}", unlink_path)
    raise EndpointError(f"cannot listen on {endpoint}")


def _bind_error(where: str, exc: OSError) -> EndpointError:
    if exc.errno == errno.EADDRINUSE:
        return EndpointError(f"cannot bind {where}: address already in use")
    if exc.errno == errno.EADDRNOTAVAIL:
        return EndpointError(f"cannot bind {where}: no local interface has that address")
    if exc.errno == errno.EACCES:
        return EndpointError(f"cannot bind {where}: permission denied")
    return EndpointError(f"cannot bind {where}: {exc.strerror or exc}")


async def open_stream(endpoint: Endpoint, options: Options) -> stdlib_socket.socket:
    """Connect once; OSError on failure (the caller retries with backoff).

    Returns a plain non-blocking stdlib socket: the engine calls ``send``/``recv`` on it
    directly and waits with ``trio.lowlevel.wait_readable``/``wait_writable`` only when
    the kernel says EAGAIN (trio's socket methods yield to the scheduler on every call).
    """
    if endpoint.transport == "tcp":
        if endpoint.port == 0:
            raise EndpointError(f"cannot connect to {endpoint}: a port is required")
        if endpoint.host == "*":
            raise EndpointError(f"cannot connect to {endpoint}: '*' is only for bind")
        family, sockaddr = await _resolve(endpoint.host, endpoint.port, options, passive=False)
        raw = stdlib_socket.socket(family, stdlib_socket.SOCK_STREAM)
    elif endpoint.transport == "ipc":
        if endpoint.path == "*":
            raise EndpointError("cannot connect to ipc://*: it is only for bind")
        raw = stdlib_socket.socket(stdlib_socket.AF_UNIX, stdlib_socket.SOCK_STREAM)
        sockaddr = (_ipc_address(endpoint.path),)
    else:
        raise EndpointError(f"cannot connect to {endpoint}")
    try:
        raw.setblocking(False)
        configure_stream_socket(raw, options)
        # trio's wrapper shares ``raw`` (same object), for the async connect only.
        timeout = options.connect_timeout
        with trio.move_on_after(
            timeout if timeout > 0 and endpoint.transport == "tcp" else math.inf
        ) as scope:
            await trio.socket.from_stdlib_socket(raw).connect(
                sockaddr if endpoint.transport == "tcp" else sockaddr[0]
            )
        if scope.cancelled_caught:
            raise TimeoutError(errno.ETIMEDOUT, "connect timed out (connect_timeout)")
    except BaseException:
        raw.close()
        raise
    return raw
