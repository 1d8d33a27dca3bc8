"""IPv6 against libzmq: tcp://[::1]:port both ways round, and the dual-stack ``*`` bind.

libzmq's ``ZMQ_IPV6`` (pyzmq ``ipv6``) and zmtp's ``ipv6`` option mean the same thing:
off (the default), ``tcp://*:port`` listens on IPv4 only (0.0.0.0); on, it listens on
``::`` with IPV6_V6ONLY off, so IPv4 peers (as ::ffff:a.b.c.d) and IPv6 peers both get
in.  The resolved endpoint ``bind`` returns is spelled the way libzmq's LAST_ENDPOINT is.
Skipped where the loopback interface has no ::1.
"""

from __future__ import annotations

import socket as stdlib_socket
from typing import Any

import pytest
import trio

import zmtp

from .conftest import zbind, zrecv, zsend, zsock


def _has_ipv6_loopback() -> bool:
    if not stdlib_socket.has_ipv6:
        return False
    try:
        with stdlib_socket.socket(stdlib_socket.AF_INET6, stdlib_socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _has_ipv6_loopback(), reason="::1 is not available")


def _port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


async def _both_ways(z: zmtp.Socket, lsock: Any, label: bytes) -> None:
    """DEALER to DEALER: one message each way, checked byte for byte."""
    with trio.fail_after(10):
        await z.send_multipart([b"from zmtp", label])
        assert await zrecv(lsock) == [b"from zmtp", label]
        await zsend(lsock, [b"from libzmq", label])
        assert await z.recv_multipart() == [b"from libzmq", label]


async def test_zmtp_binds_ipv6_loopback_libzmq_connects(ctx: Any) -> None:
    async with zmtp.Socket(zmtp.DEALER, ipv6=True) as z:
        endpoint = await z.bind("tcp://[::1]:*")
        assert endpoint.startswith("tcp://[::1]:") and _port(endpoint) > 0
        lsock = zsock(ctx, "DEALER", ipv6=1)
        lsock.connect(endpoint)
        await _both_ways(z, lsock, b"zmtp binds [::1]")


async def test_libzmq_binds_ipv6_loopback_zmtp_connects(ctx: Any) -> None:
    lsock = zsock(ctx, "DEALER", ipv6=1)
    endpoint = zbind(lsock, "tcp://[::1]:*")
    assert endpoint.startswith("tcp://[::1]:")
    async with zmtp.Socket(zmtp.DEALER, ipv6=True) as z:
        await z.connect(endpoint)
        await _both_ways(z, lsock, b"libzmq binds [::1]")


@pytest.mark.parametrize("ipv6", [False, True])
async def test_wildcard_bind_spelled_as_libzmq(ctx: Any, ipv6: bool) -> None:
    lsock = zsock(ctx, "PULL", ipv6=int(ipv6))
    theirs = zbind(lsock, "tcp://*:*")
    async with zmtp.Socket(zmtp.PULL, ipv6=ipv6) as z:
        ours = await z.bind("tcp://*:0")
    assert ours.rsplit(":", 1)[0] == theirs.rsplit(":", 1)[0]  # tcp://0.0.0.0 / tcp://[::]
    assert ours.rsplit(":", 1)[0] == ("tcp://[::]" if ipv6 else "tcp://0.0.0.0")


async def test_zmtp_dual_stack_bind_takes_ipv4_and_ipv6_libzmq_peers(ctx: Any) -> None:
    async with zmtp.Socket(zmtp.DEALER, ipv6=True) as z:
        port = _port(await z.bind("tcp://*:*"))
        v4 = zsock(ctx, "DEALER")  # libzmq's default: IPv4 only
        v4.connect(f"tcp://127.0.0.1:{port}")
        v6 = zsock(ctx, "DEALER", ipv6=1)
        v6.connect(f"tcp://[::1]:{port}")
        with trio.fail_after(10):
            await zsend(v4, [b"over IPv4"])
            await zsend(v6, [b"over IPv6"])
            got = {tuple(await z.recv_multipart()) for _ in range(2)}
        assert got == {(b"over IPv4",), (b"over IPv6",)}
        with trio.fail_after(10):
            # DEALER round-robins its sends: one to each peer.
            await z.send(b"back 1")
            await z.send(b"back 2")
            assert {(await zrecv(v4))[0], (await zrecv(v6))[0]} == {b"back 1", b"back 2"}


async def test_libzmq_dual_stack_bind_takes_ipv4_and_ipv6_zmtp_peers(ctx: Any) -> None:
    lsock = zsock(ctx, "PULL", ipv6=1)
    port = _port(zbind(lsock, "tcp://*:*"))
    async with zmtp.Socket(zmtp.PUSH) as v4, zmtp.Socket(zmtp.PUSH, ipv6=True) as v6:
        await v4.connect(f"tcp://127.0.0.1:{port}")
        await v6.connect(f"tcp://[::1]:{port}")
        with trio.fail_after(10):
            await v4.send(b"over IPv4")
            await v6.send(b"over IPv6")
            got = {(await zrecv(lsock))[0] for _ in range(2)}
        assert got == {b"over IPv4", b"over IPv6"}


async def test_ipv4_only_wildcard_bind_refuses_ipv6(ctx: Any) -> None:
    """ipv6 off: ``*`` is 0.0.0.0, as in libzmq, so nothing listens on [::1]:port."""
    async with zmtp.Socket(zmtp.PULL) as z:
        port = _port(await z.bind("tcp://*:*"))
        with (
            stdlib_socket.socket(stdlib_socket.AF_INET6, stdlib_socket.SOCK_STREAM) as probe,
            pytest.raises(ConnectionRefusedError),
        ):
            probe.settimeout(5)
            probe.connect(("::1", port))
