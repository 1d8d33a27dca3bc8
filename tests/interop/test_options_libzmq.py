"""Socket options beyond the basics, against libzmq: ``probe_router``, ``xpub_welcome_msg``,
``connect_routing_id``, ``connect_timeout``, ``invert_matching``, ``xpub_nodrop`` and
``xpub_manual``.

Measured on libzmq 4.3.5 with pyzmq: a *connecting* DEALER, REQ or ROUTER with
ZMQ_PROBE_ROUTER sends one empty frame first (the ROUTER peer sees ``[id, b""]``; a REP
does not probe), and a *connecting* XPUB with ZMQ_XPUB_WELCOME_MSG sends its welcome
first (the SUB gets it if it subscribed to it).  libzmq documents both for accepted
connections too, but 4.3.5 delivers neither there; zmtp does what the documentation
says on both sides.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import trio

import zmtp
from zmtp.monitor import EventKind

from .conftest import endpoint_for, trecv, zbind, zmq, znothing, zrecv, zsend, zsock

TRANSPORTS = ["tcp", "ipc"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("kind", ["DEALER", "REQ", "ROUTER"])
async def test_zmtp_probe_reaches_libzmq_router(ctx: Any, ipc_dir: Path, kind: str,
                                                transport: str) -> None:
    router = zsock(ctx, "ROUTER")
    try:
        endpoint = zbind(router, endpoint_for(transport, ipc_dir))
        async with zmtp.Socket(getattr(zmtp, kind), linger=0, probe_router=True,
                               routing_id=b"me") as ours:
            await ours.connect(endpoint)
            assert await zrecv(router) == [b"me", b""]
            if kind != "ROUTER":  # the probe is no request: REQ may ask now
                await ours.send_multipart([b"hello"])
                got = await zrecv(router)
                assert got[0] == b"me" and got[-1] == b"hello"
    finally:
        router.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_zmtp_router_sees_libzmq_probe(ctx: Any, ipc_dir: Path, transport: str) -> None:
    async with zmtp.Socket(zmtp.ROUTER, linger=0) as router:
        endpoint = await router.bind(endpoint_for(transport, ipc_dir))
        dealer = zsock(ctx, "DEALER", probe_router=1, routing_id=b"them")
        try:
            dealer.connect(endpoint)
            assert await trecv(router) == [b"them", b""]
        finally:
            dealer.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_bound_zmtp_router_probes_each_accepted_peer(ctx: Any, ipc_dir: Path,
                                                           transport: str) -> None:
    async with zmtp.Socket(zmtp.ROUTER, linger=0, probe_router=True) as router:
        endpoint = await router.bind(endpoint_for(transport, ipc_dir))
        dealer = zsock(ctx, "DEALER")
        try:
            dealer.connect(endpoint)
            assert await zrecv(dealer) == [b""]
        finally:
            dealer.close()


async def test_no_probe_unless_asked(ctx: Any, ipc_dir: Path) -> None:
    router = zsock(ctx, "ROUTER")
    try:
        endpoint = zbind(router, endpoint_for("tcp", ipc_dir))
        async with zmtp.Socket(zmtp.DEALER, linger=0, routing_id=b"me") as ours:
            await ours.connect(endpoint)
            await ours.send(b"first")
            assert await zrecv(router) == [b"me", b"first"]
    finally:
        router.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("zmtp_binds", [True, False], ids=["zmtp_binds", "libzmq_binds"])
async def test_zmtp_xpub_welcomes_libzmq_subscribers(ctx: Any, ipc_dir: Path, transport: str,
                                                     zmtp_binds: bool) -> None:
    async with zmtp.Socket(zmtp.XPUB, linger=0, xpub_welcome_msg=b"Welcome") as xpub:
        welcomed = zsock(ctx, "SUB", subscribe=b"W")
        other = zsock(ctx, "SUB", subscribe=b"news")
        try:
            if zmtp_binds:
                endpoint = await xpub.bind(endpoint_for(transport, ipc_dir))
                welcomed.connect(endpoint)
                other.connect(endpoint)
            else:
                await xpub.connect(zbind(welcomed, endpoint_for(transport, ipc_dir)))
                await xpub.connect(zbind(other, endpoint_for(transport, ipc_dir)))
            assert await zrecv(welcomed) == [b"Welcome"]
            # The SUB that did not subscribe to it gets nothing (and, polled, libzmq
            # processes its new connection and sends its subscription).
            await znothing(other)
            topics = sorted([(await trecv(xpub))[0], (await trecv(xpub))[0]])
            assert topics == [b"\x01W", b"\x01news"]
            await xpub.send(b"news!")
            assert await zrecv(other) == [b"news!"]
        finally:
            welcomed.close()
            other.close()


async def test_libzmq_xpub_welcome_reaches_zmtp_sub(ctx: Any, ipc_dir: Path) -> None:
    async with zmtp.Socket(zmtp.SUB, linger=0) as sub:
        sub.subscribe(b"")
        endpoint = await sub.bind(endpoint_for("tcp", ipc_dir))
        xpub = zsock(ctx, "XPUB", xpub_welcome_msg=b"Hi")
        try:
            xpub.connect(endpoint)
            assert await trecv(sub) == [b"Hi"]
            assert await zrecv(xpub) == [b"\x01"]
            await zsend(xpub, [b"more"])
            assert await trecv(sub) == [b"more"]
        finally:
            xpub.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("peer", ["ROUTER", "DEALER"])
async def test_connect_routing_id_names_the_peer(ctx: Any, ipc_dir: Path, peer: str,
                                                 transport: str) -> None:
    """A ROUTER files the peer of its next connect() under connect_routing_id, whatever
    the peer announces; the option is used up by that connect, as in libzmq."""
    options: dict[str, Any] = {"router_mandatory": 1} if peer == "ROUTER" else {}
    theirs = zsock(ctx, peer, routing_id=b"announced", **options)
    try:
        endpoint = zbind(theirs, endpoint_for(transport, ipc_dir))
        async with zmtp.Socket(zmtp.ROUTER, linger=0, routing_id=b"us",
                               connect_routing_id=b"chosen") as router:
            await router.connect(endpoint)
            assert router.connect_routing_id == b""
            if peer == "ROUTER":
                await zsend(theirs, [b"us", b"ping"])
            else:
                await zsend(theirs, [b"ping"])
            assert await trecv(router) == [b"chosen", b"ping"]
            await router.send_multipart([b"chosen", b"pong"])
            got = await zrecv(theirs)
            assert got[-1] == b"pong"
    finally:
        theirs.close()


async def test_connect_routing_id_over_inproc() -> None:
    async with zmtp.Socket(zmtp.ROUTER, linger=0) as router, \
            zmtp.Socket(zmtp.DEALER, linger=0, routing_id=b"announced") as dealer:
        router.connect_routing_id = b"chosen"
        await router.connect("inproc://cri")  # before the bind
        await dealer.bind("inproc://cri")
        await dealer.send(b"ping")
        assert await trecv(router) == [b"chosen", b"ping"]


def _stalled_listener() -> tuple[socket.socket, socket.socket, int]:
    """A loopback listener whose accept queue is full: further connects hang (SYNs are
    dropped), which is how a connect_timeout can be seen on loopback."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))
    return listener, filler, port


async def test_connect_timeout_gives_up_and_retries() -> None:
    listener, filler, port = _stalled_listener()
    try:
        async with zmtp.Socket(zmtp.DEALER, linger=0, connect_timeout=0.1,
                               reconnect_ivl=0.05) as dealer:
            events = dealer.events()
            await dealer.connect(f"tcp://127.0.0.1:{port}")
            with trio.fail_after(5):
                async for event in events:
                    if event.kind == EventKind.CONNECT_RETRIED:
                        assert "timed out" in event.reason
                        break
    finally:
        filler.close()
        listener.close()


@pytest.mark.parametrize("zmtp_is_pub", [True, False], ids=["zmtp_PUB", "libzmq_PUB"])
@pytest.mark.parametrize("zmtp_binds", [True, False], ids=["zmtp_binds", "libzmq_binds"])
async def test_invert_matching(ctx: Any, ipc_dir: Path, zmtp_is_pub: bool,
                               zmtp_binds: bool) -> None:
    """With invert_matching on both ends, a subscriber to "A" gets everything else."""
    kind = zmtp.PUB if zmtp_is_pub else zmtp.SUB
    async with zmtp.Socket(kind, linger=0, invert_matching=True) as ours:
        theirs = zsock(ctx, "SUB" if zmtp_is_pub else "PUB", invert_matching=1)
        try:
            if zmtp_binds:
                theirs.connect(await ours.bind(endpoint_for("tcp", ipc_dir)))
            else:
                await ours.connect(zbind(theirs, endpoint_for("tcp", ipc_dir)))
            if zmtp_is_pub:
                theirs.setsockopt(zmq.SUBSCRIBE, b"A")
            else:
                ours.subscribe(b"A")
            with trio.fail_after(10):
                while True:  # until the subscription has arrived: B gets through
                    for message in (b"A-hidden", b"B-shown"):
                        if zmtp_is_pub:
                            await ours.send(message)
                        else:
                            await zsend(theirs, [message])
                    got = (await _zrecv_or_none(theirs, 0.05) if zmtp_is_pub
                           else await _trecv_or_none(ours, 0.05))
                    if got is not None:
                        assert got == [b"B-shown"]
                        break
        finally:
            theirs.close()


async def _zrecv_or_none(sock: Any, timeout: float) -> list[bytes] | None:
    try:
        return await zrecv(sock, timeout)
    except trio.TooSlowError:
        return None


async def _trecv_or_none(sock: zmtp.Socket, timeout: float) -> list[bytes] | None:
    with trio.move_on_after(timeout):
        return await sock.recv_multipart()
    return None


async def test_xpub_nodrop_blocks_instead_of_dropping(ctx: Any, ipc_dir: Path) -> None:
    big = b"\xa5" * (256 * 1024)
    async with zmtp.Socket(zmtp.XPUB, linger=0, xpub_nodrop=True, sndhwm=2,
                           sndbuf=65536) as xpub:
        sub = zsock(ctx, "SUB", rcvhwm=1, rcvbuf=65536, subscribe=b"")
        try:
            sub.connect(await xpub.bind(endpoint_for("tcp", ipc_dir)))
            sub.getsockopt(zmq.EVENTS)  # libzmq takes the new connection when poked
            assert await trecv(xpub) == [b"\x01"]
            sent = 0
            with trio.fail_after(20):
                while True:  # the SUB reads nothing: the kernel buffers fill, then the HWM
                    try:
                        xpub.send_nowait(big)
                    except zmtp.Again:
                        break
                    sent += 1
                    assert sent < 1000, "xpub_nodrop never pushed back"
                    await trio.sleep(0)
            # A blocking send waits for room, and goes out once the SUB reads.
            async with trio.open_nursery() as nursery:
                nursery.start_soon(xpub.send, b"last")
                received = 0
                with trio.fail_after(20):
                    while True:
                        got = await zrecv(sub)
                        received += 1
                        if got == [b"last"]:
                            break
            assert received == sent + 1  # nothing was dropped
        finally:
            sub.close()


async def test_zmtp_xpub_manual_with_libzmq_subscribers(ctx: Any, ipc_dir: Path) -> None:
    async with zmtp.Socket(zmtp.XPUB, linger=0, xpub_manual=True) as xpub:
        endpoint = await xpub.bind(endpoint_for("tcp", ipc_dir))
        first, second = zsock(ctx, "SUB"), zsock(ctx, "SUB")
        try:
            for sub in (first, second):
                sub.connect(endpoint)
            first.setsockopt(zmq.SUBSCRIBE, b"A")
            first.getsockopt(zmq.EVENTS)  # libzmq takes its new connection when poked
            assert await trecv(xpub) == [b"\x01A"]
            await xpub.send(b"A1")
            await znothing(first, 0.1)  # reported, not applied
            xpub.subscribe(b"A")
            await xpub.send(b"A2")
            assert await zrecv(first) == [b"A2"]
            second.setsockopt(zmq.SUBSCRIBE, b"A")
            second.getsockopt(zmq.EVENTS)
            assert await trecv(xpub) == [b"\x01A"]
            await xpub.send(b"A3")
            assert await zrecv(first) == [b"A3"]
            await znothing(second, 0.1)
            xpub.subscribe(b"A")  # the second's message came last: it is the one served
            await xpub.send(b"A4")
            assert await zrecv(second) == [b"A4"]
            second.close()
            assert await trecv(xpub) == [b"\x00A"]
        finally:
            first.close()
            second.close()
