"""Subscriptions between zmtp and libzmq: filtering both ways, counted subscriptions,
XPUB's view of (un)subscriptions, and the unsubscribe an XPUB synthesises when a
subscriber goes away."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

import zmtp

from .conftest import endpoint_for, trecv, zbind, zmq, zrecv, zrecv_nowait, zsend, zsock
from .ends import End, open_pair, recv_poking

BINDS = [pytest.param(True, id="zmtp_binds"), pytest.param(False, id="libzmq_binds")]
TRANSPORTS = ["tcp", "ipc"]


async def _until_marker(pub: End, sub: End, topic: bytes, marker: bytes) -> list[list[bytes]]:
    """Publish ``topic+...`` then ``marker`` until the marker arrives; returns what the
    subscriber got before the last marker (per-connection order makes that exact)."""
    with trio.fail_after(10):
        while True:
            await pub.send([topic + b"-msg"])
            await pub.send([marker])
            seen: list[list[bytes]] = []
            while True:
                got = await sub.try_recv(0.05)
                if got is None:
                    break  # marker not there yet: subscription still travelling
                if got == [marker]:
                    return seen
                seen.append(got)


async def _wait_subscribed(pub: End, sub: End, topic: bytes) -> None:
    """Wait until messages on ``topic`` reach ``sub``."""
    with trio.fail_after(10):
        while True:
            await pub.send([topic + b"-probe"])
            got = await sub.try_recv(0.02)
            if got is not None:
                assert got[0].startswith(topic)
                break
    while await sub.try_recv(0.02) is not None:
        pass  # drain further probes


async def _wait_unsubscribed(pub: End, sub: End, topic: bytes, marker: bytes) -> None:
    """Wait until ``topic`` no longer reaches ``sub`` (``marker`` is still subscribed)."""
    with trio.fail_after(10):
        while True:
            if not await _until_marker(pub, sub, topic, marker):
                return


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("zmtp_binds", BINDS)
@pytest.mark.parametrize("zmtp_is_pub", [pytest.param(True, id="zmtp_PUB"),
                                         pytest.param(False, id="libzmq_PUB")])
async def test_filtering_and_counted_subscriptions(
    ctx: Any, ipc_dir: Path, zmtp_is_pub: bool, zmtp_binds: bool, transport: str
) -> None:
    async with open_pair(ctx, "PUB", "SUB", zmtp_is_pub, zmtp_binds, transport,
                         ipc_dir) as (pub, sub):
        await sub.subscribe(b"Z")  # the marker topic, always subscribed
        await _wait_subscribed(pub, sub, b"Z")
        # Filtering: only the subscribed prefix arrives, and prefixes match.
        await sub.subscribe(b"A")
        await _wait_subscribed(pub, sub, b"A")
        for frames in ([b"B-no"], [b"A"], [b"AB-yes", b"", b"tail"], [b"", b"x"], [b"a-no"]):
            await pub.send(frames)
        await pub.send([b"Z-end"])
        got = []
        while (message := await sub.recv()) != [b"Z-end"]:
            got.append(message)
        assert got == [[b"A"], [b"AB-yes", b"", b"tail"]]

        # Counted: subscribed twice, one unsubscribe still receives.
        await sub.subscribe(b"A")
        await sub.unsubscribe(b"A")
        assert await _until_marker(pub, sub, b"A", b"Z-mark")
        assert await _until_marker(pub, sub, b"A", b"Z-mark") == [[b"A-msg"]]
        # The second unsubscribe stops it.
        await sub.unsubscribe(b"A")
        await _wait_unsubscribed(pub, sub, b"A", b"Z-mark")
        if pub.z is not None:
            # ...and the zmtp publisher filters on its side: nothing is even sent.  The
            # subscriber also filters locally, so the marker can overtake the CANCEL on
            # its way to the publisher: give the publisher's reader the time to take it.
            topics = pub.z._pattern.topics.by_topic  # type: ignore[attr-defined]
            with trio.fail_after(10):
                while b"A" in topics:
                    await trio.sleep(0.005)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("zmtp_binds", BINDS)
async def test_zmtp_xpub_sees_libzmq_sub(
    ctx: Any, ipc_dir: Path, zmtp_binds: bool, transport: str
) -> None:
    async with open_pair(ctx, "XPUB", "SUB", True, zmtp_binds, transport, ipc_dir) as (xpub, sub):
        await sub.subscribe(b"topic")
        assert await recv_poking(xpub, sub) == [b"\x01topic"]
        await sub.subscribe(b"topic")  # libzmq SUB sends it again; XPUB reports only new ones
        await sub.subscribe(b"other")
        assert await recv_poking(xpub, sub) == [b"\x01other"]
        await sub.unsubscribe(b"topic")
        await sub.unsubscribe(b"other")
        assert await recv_poking(xpub, sub) == [b"\x00other"]  # "topic" still counted once
        await sub.unsubscribe(b"topic")
        assert await recv_poking(xpub, sub) == [b"\x00topic"]
        await sub.subscribe(b"left")
        assert await recv_poking(xpub, sub) == [b"\x01left"]
        sub.lsock.close(linger=0)
        if zmtp_binds:
            # The subscriber goes away: XPUB synthesises the unsubscribe of what it held.
            assert await xpub.recv() == [b"\x00left"]
        else:
            # A connecting XPUB keeps its pipe and the subscriptions on it for the
            # reconnect, as libzmq's does: nothing to report (test_xpub_reconnect_libzmq).
            assert await xpub.try_recv(0.3) is None


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("zmtp_binds", BINDS)
async def test_libzmq_xpub_sees_zmtp_sub(
    ctx: Any, ipc_dir: Path, zmtp_binds: bool, transport: str
) -> None:
    xpub = zsock(ctx, "XPUB")
    try:
        async with zmtp.Socket(zmtp.SUB, linger=0) as sub:
            endpoint = endpoint_for(transport, ipc_dir)
            if zmtp_binds:
                endpoint = await sub.bind(endpoint)
                xpub.connect(endpoint)
            else:
                await sub.connect(zbind(xpub, endpoint))
            sub.subscribe(b"topic")
            assert await zrecv(xpub) == [b"\x01topic"]
            sub.subscribe(b"topic")  # counted: libzmq sends SUBSCRIBE again, so do we
            sub.unsubscribe(b"topic")  # ...but CANCEL only for the last one
            sub.subscribe(b"two")
            assert await zrecv(xpub) == [b"\x01two"]  # not reported twice (not verbose)
            sub.unsubscribe(b"topic")
            assert await zrecv(xpub) == [b"\x00topic"]
            sub.subscribe(b"")
            assert await zrecv(xpub) == [b"\x01"]
            await zsend(xpub, [b"two-data", b"x"])
            assert await trecv(sub) == [b"two-data", b"x"]
        if not zmtp_binds:
            # The zmtp SUB closed: libzmq XPUB synthesises unsubscribes for what it held.
            # (Only for connections it accepted: a connecting libzmq socket keeps its pipe,
            # and the subscriptions on it, across a disconnection, to reconnect.)
            seen = {bytes((await zrecv(xpub))[0]) for _ in range(2)}
            assert seen == {b"\x00two", b"\x00"}
    finally:
        xpub.close(linger=0)


async def test_libzmq_xpub_verbose_sees_every_zmtp_subscribe(ctx: Any) -> None:
    xpub = zsock(ctx, "XPUB", xpub_verbose=1)
    try:
        endpoint = zbind(xpub, "tcp://127.0.0.1:*")
        async with zmtp.Socket(zmtp.SUB, linger=0) as a, zmtp.Socket(zmtp.XSUB, linger=0) as b:
            await a.connect(endpoint)
            await b.connect(endpoint)
            a.subscribe(b"t")
            assert await zrecv(xpub) == [b"\x01t"]
            await b.send(b"\x01t")  # XSUB: subscription as a message
            assert await zrecv(xpub) == [b"\x01t"]
            a.subscribe(b"t")
            assert await zrecv(xpub) == [b"\x01t"]
    finally:
        xpub.close(linger=0)


async def test_zmtp_xpub_verbose_and_two_subscribers(ctx: Any) -> None:
    async with zmtp.Socket(zmtp.XPUB, linger=0, xpub_verbose=True) as xpub:
        endpoint = await xpub.bind("tcp://127.0.0.1:*")
        s1 = zsock(ctx, "SUB")
        s2 = zsock(ctx, "SUB")
        try:
            s1.connect(endpoint)
            s2.connect(endpoint)
            s1.setsockopt(zmq.SUBSCRIBE, b"t")
            s2.setsockopt(zmq.SUBSCRIBE, b"t")
            assert await trecv(xpub) == [b"\x01t"]
            assert await trecv(xpub) == [b"\x01t"]  # verbose: the second one too
            s1.close(linger=0)
            # Not the last subscriber of "t": no unsubscribe synthesised.
            with trio.move_on_after(0.3):
                got = await xpub.recv_multipart()
                raise AssertionError(f"unexpected {got!r}")
            await xpub.send_multipart([b"t-data"])
            assert await zrecv(s2) == [b"t-data"]
            s2.close(linger=0)
            assert await trecv(xpub) == [b"\x00t"]
        finally:
            s1.close(linger=0)
            s2.close(linger=0)


async def test_zmtp_pub_ignores_upstream_messages_from_libzmq_xsub(ctx: Any) -> None:
    """A libzmq XSUB may send ordinary messages upstream; a PUB discards them, and must keep
    processing subscriptions that come after thousands of them."""
    async with zmtp.Socket(zmtp.PUB, linger=0, rcvhwm=10) as pub:
        endpoint = await pub.bind("tcp://127.0.0.1:*")
        xsub = zsock(ctx, "XSUB", sndhwm=0)
        try:
            xsub.connect(endpoint)
            for index in range(3000):
                await zsend(xsub, [b"\x05upstream %d" % index])
            await zsend(xsub, [b"\x01T"])
            with trio.fail_after(10):
                while True:
                    await pub.send_multipart([b"T-data"])
                    if zrecv_nowait(xsub) is not None:
                        break
                    await trio.sleep(0.01)
        finally:
            xsub.close(linger=0)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("zmtp_binds", BINDS)
async def test_zmtp_pub_to_several_libzmq_subs_frames_once(
    ctx: Any, ipc_dir: Path, zmtp_binds: bool, transport: str
) -> None:
    """With several subscribers a zmtp PUB frames small messages once for all connections
    (Encoded): libzmq receives exactly what it would otherwise, small, multipart, empty,
    big and zero-copy messages in order, next to a zmtp SUB over inproc."""
    messages = [[b"t-one"], [b"t", b"", b"parts"], [b"t-" + b"x" * 300], [b"t" * 5000],
                [b"t" + b"y" * 70_000], [b"t-last"]]
    async with zmtp.Socket(zmtp.PUB, linger=0) as pub, \
            zmtp.Socket(zmtp.SUB, linger=0) as local:
        subs = [zsock(ctx, "SUB") for _ in range(3)]
        try:
            if zmtp_binds:
                endpoint = await pub.bind(endpoint_for(transport, ipc_dir))
                for sub in subs:
                    sub.connect(endpoint)
            else:
                for sub in subs:
                    await pub.connect(zbind(sub, endpoint_for(transport, ipc_dir)))
            await pub.bind(f"inproc://{ipc_dir.name}-pub")
            await local.connect(f"inproc://{ipc_dir.name}-pub")
            local.subscribe(b"t")
            for sub in subs:
                sub.setsockopt(zmq.SUBSCRIBE, b"t")
            topics = pub._pattern.topics.by_topic  # type: ignore[attr-defined]
            with trio.fail_after(10):  # until every subscription has reached the PUB
                while len(topics.get(b"t", ())) < 4:
                    for sub in subs:  # libzmq attaches a new peer when the socket is used
                        sub.getsockopt(zmq.EVENTS)
                    await trio.sleep(0.01)
            for message in messages:
                await pub.send_multipart(message)
            for sub in subs:
                assert [await zrecv(sub) for _ in messages] == messages
            assert [await trecv(local) for _ in messages] == messages
        finally:
            for sub in subs:
                sub.close(linger=0)
