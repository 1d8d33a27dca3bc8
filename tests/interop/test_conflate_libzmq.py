"""``conflate`` (libzmq's ZMQ_CONFLATE) against libzmq, for each type that has it.

What libzmq 4.3.5 does, measured with pyzmq: on PUSH, PULL, PUB, SUB and DEALER every
queue keeps only the newest message and the HWMs do not apply (a conflating sender never
blocks); every other type ignores the option.  Multipart messages are "not supported":
libzmq then keeps only the *last frame* of the last message (it delivers [b"b3"] for
[b"b1", b"b2", b"b3"]).  zmtp keeps the whole last message instead: it never delivers a
message nobody sent.
"""

from __future__ import annotations

import socket as stdlib_socket
from typing import Any

import pytest
import trio

import zmtp

from .conftest import wait_for, zbind, znothing, zrecv, zsend, zsock

CONFLATING_SENDERS = [("PUSH", "PULL"), ("DEALER", "DEALER"), ("DEALER", "ROUTER")]
CONFLATING_RECEIVERS = [("PUSH", "PULL"), ("DEALER", "DEALER"), ("PUB", "SUB")]


def _free_endpoint() -> str:
    with stdlib_socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.parametrize(("ours", "theirs"), CONFLATING_SENDERS)
async def test_zmtp_sender_keeps_only_the_last_message(ctx: Any, ours: str,
                                                       theirs: str) -> None:
    endpoint = _free_endpoint()
    async with zmtp.Socket(getattr(zmtp, ours), conflate=True, sndhwm=1) as z:
        await z.connect(endpoint)  # nobody listens yet: messages wait in the queue
        with trio.fail_after(5):
            for index in range(5):  # sndhwm=1 does not block: conflate ignores HWMs
                await z.send(b"m%d" % index)
        lsock = zsock(ctx, theirs)
        zbind(lsock, endpoint)
        got = await zrecv(lsock)
        assert got[-1:] == [b"m4"] and len(got) == (2 if theirs == "ROUTER" else 1)
        await znothing(lsock)


async def test_zmtp_sender_keeps_the_whole_last_multipart_message(ctx: Any) -> None:
    endpoint = _free_endpoint()
    async with zmtp.Socket(zmtp.PUSH, conflate=True) as z:
        await z.connect(endpoint)
        with trio.fail_after(5):
            await z.send_multipart([b"a1", b"a2"])
            await z.send_multipart([b"b1", b"b2", b"b3"])
        lsock = zsock(ctx, "PULL")
        zbind(lsock, endpoint)
        assert await zrecv(lsock) == [b"b1", b"b2", b"b3"]  # libzmq's own PUSH: [b"b3"]
        await znothing(lsock)


def _last_queued(z: zmtp.Socket) -> list[bytes] | None:
    for pipe in z._pipes:  # type: ignore[attr-defined]
        if pipe.inq:
            return list(pipe.inq[-1])
    return None


@pytest.mark.parametrize(("theirs", "ours"), CONFLATING_RECEIVERS)
async def test_zmtp_receiver_keeps_only_the_last_message(ctx: Any, theirs: str,
                                                         ours: str) -> None:
    async with zmtp.Socket(getattr(zmtp, ours), conflate=True, rcvhwm=1) as z:
        if ours == "SUB":
            z.subscribe(b"")
        endpoint = await z.bind("tcp://127.0.0.1:*")
        lsock = zsock(ctx, theirs)
        lsock.connect(endpoint)
        if theirs == "PUB":  # wait until libzmq's PUB has our subscription
            with trio.fail_after(10):
                while True:
                    lsock.send(b"probe")
                    with trio.move_on_after(0.02):
                        assert await z.recv() == b"probe"
                        break
        for index in range(5):
            await zsend(lsock, [b"m%d" % index])
        await zsend(lsock, [b"a", b"multipart"])
        await wait_for(lambda: _last_queued(z) == [b"a", b"multipart"])
        assert await z.recv_multipart() == [b"a", b"multipart"]
        with pytest.raises(zmtp.Again):
            z.recv_nowait()


async def test_other_types_ignore_conflate_as_libzmq_does(ctx: Any) -> None:
    """libzmq's PAIR with ZMQ_CONFLATE still queues every message; so does zmtp's."""
    lpair = zsock(ctx, "PAIR", conflate=1)
    async with zmtp.Socket(zmtp.PAIR, conflate=True) as z:
        endpoint = await z.bind("tcp://127.0.0.1:*")
        lpair.connect(endpoint)
        for index in range(5):
            await zsend(lpair, [b"m%d" % index])
        with trio.fail_after(10):
            assert [await z.recv() for _ in range(5)] == [b"m%d" % i for i in range(5)]


async def test_zmtp_pub_conflates_per_subscriber() -> None:
    """PUB with conflate: a subscriber that does not read gets only the newest message
    (inproc: the publisher's queue is the subscriber's, nothing is in flight)."""
    async with zmtp.Socket(zmtp.PUB, conflate=True) as pub, zmtp.Socket(zmtp.SUB) as sub:
        sub.subscribe(b"")
        await pub.bind("inproc://conflate-pub")
        await sub.connect("inproc://conflate-pub")
        for index in range(5):
            await pub.send(b"m%d" % index)
        with trio.fail_after(10):
            assert await sub.recv() == b"m4"
        with pytest.raises(zmtp.Again):
            sub.recv_nowait()
