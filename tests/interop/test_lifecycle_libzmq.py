"""Connection life against libzmq: connect before the peer exists, peer restarts (and
subscriptions re-sent on reconnect), HWM blocking vs dropping, maxmsgsize."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import trio

import zmtp
from zmtp.monitor import EventKind

from .conftest import endpoint_for, trecv, zbind, zmq, zrecv, zrecv_nowait, zsend, zsock

TRANSPORTS = ["tcp", "ipc"]


def _fixed_endpoint(transport: str, ipc_dir: Path) -> str:
    """An endpoint that can be bound again after the first binder closes."""
    if transport == "ipc":
        return endpoint_for("ipc", ipc_dir)
    with socket.socket() as probe:  # a free port, released synchronously on close
        probe.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{probe.getsockname()[1]}"


async def _bind_again(sock: Any, endpoint: str) -> None:
    """libzmq closes a listener asynchronously: rebinding its address may need a retry."""
    with trio.fail_after(10):
        while True:
            try:
                sock.bind(endpoint)
                return
            except zmq.ZMQError as exc:
                if exc.errno != zmq.EADDRINUSE:
                    raise
                await trio.sleep(0.01)


async def _publish_until_received(pub: Any, sub: zmtp.Socket, frames: list[bytes]) -> None:
    with trio.fail_after(10):
        while True:
            await zsend(pub, frames)
            with trio.move_on_after(0.02):
                assert await sub.recv_multipart() == frames
                return


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_zmtp_sub_resubscribes_when_libzmq_pub_restarts(
    ctx: Any, ipc_dir: Path, transport: str
) -> None:
    endpoint = _fixed_endpoint(transport, ipc_dir)
    async with zmtp.Socket(zmtp.SUB, linger=0, reconnect_ivl=0.02) as sub:
        sub.subscribe(b"A")
        await sub.connect(endpoint)  # nobody there yet: retries
        for _ in range(2):
            pub = zsock(ctx, "PUB")
            try:
                await _bind_again(pub, endpoint)
                await _publish_until_received(pub, sub, [b"A-data", b"x"])
                await zsend(pub, [b"B-filtered"])
                await zsend(pub, [b"A-second"])
                assert await trecv(sub) == [b"A-second"]
            finally:
                pub.close(linger=0)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_libzmq_sub_resubscribes_when_zmtp_pub_restarts(
    ctx: Any, ipc_dir: Path, transport: str
) -> None:
    endpoint = _fixed_endpoint(transport, ipc_dir)
    sub = zsock(ctx, "SUB", reconnect_ivl=20)
    try:
        sub.setsockopt(zmq.SUBSCRIBE, b"A")
        sub.connect(endpoint)
        for _ in range(2):
            async with zmtp.Socket(zmtp.XPUB, linger=0) as pub:
                with trio.fail_after(10):
                    while True:  # the previous binder may still hold the address a moment
                        try:
                            await pub.bind(endpoint)
                            break
                        except zmtp.EndpointError:
                            await trio.sleep(0.01)
                with trio.fail_after(10):
                    while True:
                        sub.getsockopt(zmq.EVENTS)
                        with trio.move_on_after(0.01):
                            assert await pub.recv_multipart() == [b"\x01A"]
                            break
                await pub.send_multipart([b"B-filtered"])
                await pub.send_multipart([b"A-data"])
                assert await zrecv(sub) == [b"A-data"]
    finally:
        sub.close(linger=0)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_zmtp_push_connects_before_libzmq_pull_exists(
    ctx: Any, ipc_dir: Path, transport: str
) -> None:
    endpoint = _fixed_endpoint(transport, ipc_dir)
    async with zmtp.Socket(zmtp.PUSH, linger=0, reconnect_ivl=0.02) as push:
        await push.connect(endpoint)
        for index in range(10):
            await push.send(b"%d" % index)  # queued to the pending connection
        pull = zsock(ctx, "PULL")
        try:
            pull.bind(endpoint)
            got = [await zrecv(pull) for _ in range(10)]
            assert got == [[b"%d" % index] for index in range(10)]
        finally:
            pull.close(linger=0)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_zmtp_dealer_id_survives_libzmq_router_restart(
    ctx: Any, ipc_dir: Path, transport: str
) -> None:
    endpoint = _fixed_endpoint(transport, ipc_dir)
    async with zmtp.Socket(zmtp.DEALER, linger=0, reconnect_ivl=0.02,
                           routing_id=b"me") as dealer:
        events = dealer.events()
        await dealer.connect(endpoint)
        for round_ in range(2):
            if round_:
                # A message sent before we notice the old peer is gone would be lost
                # with that connection (libzmq loses it too): wait for the disconnect.
                with trio.fail_after(10):
                    async for event in events:
                        if event.kind is EventKind.DISCONNECTED:
                            break
            router = zsock(ctx, "ROUTER", router_mandatory=1)
            try:
                await _bind_again(router, endpoint)
                await dealer.send(b"hello %d" % round_)
                assert await zrecv(router) == [b"me", b"hello %d" % round_]
                await zsend(router, [b"me", b"reply"])
                assert await trecv(dealer) == [b"reply"]
            finally:
                router.close(linger=0)


async def test_push_blocks_at_hwm_and_loses_nothing(ctx: Any) -> None:
    pull = zsock(ctx, "PULL", rcvhwm=5, rcvbuf=65536)
    try:
        endpoint = zbind(pull, "tcp://127.0.0.1:*")
        async with zmtp.Socket(zmtp.PUSH, linger=0, sndhwm=5, sndbuf=65536) as push:
            await push.connect(endpoint)
            chunk = b"x" * 100_000
            sent = 0
            with trio.fail_after(10):
                while True:
                    try:
                        push.send_nowait(chunk + b"%d" % sent)
                    except zmtp.Again:
                        break  # libzmq is not reading: we block (never drop)
                    sent += 1
                    await trio.sleep(0.001)
            assert sent < 500
            for index in range(sent):
                got = await zrecv(pull)
                assert got == [chunk + b"%d" % index]
            await push.send(b"after")
            assert await zrecv(pull) == [b"after"]
    finally:
        pull.close(linger=0)


async def test_pub_drops_for_slow_libzmq_sub_without_blocking(ctx: Any) -> None:
    sub = zsock(ctx, "SUB", rcvhwm=5, rcvbuf=65536)
    try:
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        endpoint = zbind(sub, "tcp://127.0.0.1:*")
        async with zmtp.Socket(zmtp.PUB, linger=0, sndhwm=5, sndbuf=65536) as pub:
            await pub.connect(endpoint)
            with trio.fail_after(10):
                while True:
                    await pub.send(b"probe")
                    sub.getsockopt(zmq.EVENTS)
                    if zrecv_nowait(sub) is not None:
                        break
                    await trio.sleep(0.005)
            chunk = b"y" * 100_000
            with trio.fail_after(10):  # never blocks
                for index in range(2000):
                    await pub.send_multipart([b"%d" % index, chunk])
            await trio.sleep(0.2)
            numbers = []
            while (got := zrecv_nowait(sub)) is not None:
                if got != [b"probe"]:
                    numbers.append(int(got[0]))
            assert 0 < len(numbers) < 2000  # some dropped, what arrived is in order
            assert numbers == sorted(numbers)
    finally:
        sub.close(linger=0)


async def test_maxmsgsize_drops_connection_of_oversized_sender(ctx: Any) -> None:
    push = zsock(ctx, "PUSH")
    try:
        async with zmtp.Socket(zmtp.PULL, linger=0, maxmsgsize=1000) as pull:
            events = pull.events()
            push.connect(await pull.bind("tcp://127.0.0.1:*"))
            await zsend(push, [b"small"])
            assert await trecv(pull) == [b"small"]
            await zsend(push, [b"z" * 5000])
            with trio.fail_after(10):
                async for event in events:
                    if event.kind is EventKind.DISCONNECTED:
                        break
            with trio.move_on_after(0.2):
                got = await pull.recv_multipart()
                raise AssertionError(f"oversized message delivered: {len(got[0])} bytes")
    finally:
        push.close(linger=0)
