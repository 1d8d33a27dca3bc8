"""Issue 7, bad input after a valid handshake: a peer that completes the NULL handshake
(through the sans-IO core) and then misbehaves, against a bound zmtp socket.

As in test_catalogue_handshake: the close (or, where libzmq tolerates the input, the
connection staying up), the reason in the DISCONNECTED event and in a log line naming the
peer, and a good peer on the same socket exchanging messages before and after.  A partial
multipart message is never delivered.
"""

from __future__ import annotations

import tracemalloc

import pytest
import trio

import zmtp
from zmtp.monitor import EventKind
from zmtp.protocol import SocketType

from .raw import (
    BAD_TRAFFIC,
    PEER_OF,
    WAIT,
    RawPeer,
    Served,
    ZmtpPeer,
    assert_logged,
    capture_zmtp_logs,
    command,
    frame,
    long_header,
    null_handshake,
    serve,
)

T = SocketType
BOUND = [T.PULL, T.ROUTER, T.XPUB, T.REP]


def envelope(kind: SocketType, body: list[bytes]) -> list[bytes]:
    """What a peer of ``kind``'s partner sends for the application message ``body``."""
    return [b"", *body] if kind is T.REP else body


async def hostile(served: Served) -> ZmtpPeer:
    peer = await ZmtpPeer.open(served.endpoint, PEER_OF[served.kind])
    await served.event(EventKind.HANDSHAKE_SUCCEEDED, peer.name)
    return peer


async def delivered(served: Served, peer: ZmtpPeer, body: list[bytes]) -> None:
    """``body`` from the hostile peer reaches the application intact (and REP answers)."""
    with trio.fail_after(WAIT):
        got = await served.sock.recv_multipart()
    if served.kind is T.ROUTER:
        got = got[1:]
    assert len(got) == len(body) and got == body, (len(got), len(body))
    if served.kind is T.REP:
        await served.sock.send(b"ack")
        assert await peer.recv_message() == [b"", b"ack"]


async def bad_after_handshake(served: Served, data: bytes, reason: str,
                              caplog: pytest.LogCaptureFixture) -> None:
    peer = await hostile(served)
    await peer.send(data)
    await served.closed_with(peer, reason, caplog, handshake_failed=False)
    peer.close()
    await served.exchange()


@pytest.mark.parametrize("kind", BOUND, ids=lambda k: k.name)
@pytest.mark.parametrize("data,reason", [case[1:] for case in BAD_TRAFFIC],
                         ids=[case[0] for case in BAD_TRAFFIC])
async def test_bad_traffic(kind: SocketType, data: bytes, reason: str,
                           caplog: pytest.LogCaptureFixture) -> None:
    capture_zmtp_logs(caplog)
    async with serve(kind) as served:
        await bad_after_handshake(served, data, reason, caplog)


@pytest.mark.parametrize("kind", BOUND, ids=lambda k: k.name)
async def test_unknown_command_ignored(kind: SocketType,
                                       caplog: pytest.LogCaptureFixture) -> None:
    """libzmq ignores a command it does not know once the handshake is done; so do we."""
    capture_zmtp_logs(caplog)
    async with serve(kind) as served:
        peer = await hostile(served)
        await peer.send(command(b"FOOBAR", b"x" * 300) + command(b"READY")
                        + command(b"HELLO", b"\x01u\x01p"))
        await peer.send_message(envelope(kind, [b"after unknown commands"]))
        await delivered(served, peer, [b"after unknown commands"])
        assert await peer.still_open(0.2)
        await served.exchange()
        assert EventKind.DISCONNECTED not in served.kinds_for(peer.name)
        peer.close()


@pytest.mark.parametrize("kind", BOUND, ids=lambda k: k.name)
async def test_ping_with_17_octet_context(kind: SocketType,
                                          caplog: pytest.LogCaptureFixture) -> None:
    """libzmq 4.3.5 PONGs the first 16 octets of an over-long context and stays up."""
    capture_zmtp_logs(caplog)
    async with serve(kind) as served:
        peer = await hostile(served)
        await peer.send(command(b"PING", b"\x00\x0a" + b"C" * 16 + b"X"))
        with trio.fail_after(WAIT):
            while b"\x04PONG" not in peer.received:
                await peer.recv_some()
        assert b"\x04\x15\x04PONG" + b"C" * 16 in peer.received
        await peer.send_message(envelope(kind, [b"still here"]))
        await delivered(served, peer, [b"still here"])
        await served.exchange()
        assert EventKind.DISCONNECTED not in served.kinds_for(peer.name)
        peer.close()


@pytest.mark.parametrize("kind", BOUND, ids=lambda k: k.name)
async def test_frames_around_maxmsgsize(kind: SocketType,
                                        caplog: pytest.LogCaptureFixture) -> None:
    """maxmsgsize bounds each frame (as in libzmq): exactly the limit passes, one more
    octet closes the connection, and the frames before it in that message are dropped."""
    capture_zmtp_logs(caplog)
    async with serve(kind, maxmsgsize=1000) as served:
        peer = await hostile(served)
        await peer.send_message(envelope(kind, [b"m" * 1000, b"n" * 1000]))
        await delivered(served, peer, [b"m" * 1000, b"n" * 1000])
        await peer.send(b"".join(frame(part, 0x01) for part in envelope(kind, [b"partial"]))
                        + frame(b"x" * 1001))
        await served.closed_with(peer, "more than maxmsgsize=1000", caplog,
                                 handshake_failed=False)
        peer.close()
        await served.exchange()  # asserts the next message is the good one, not "partial"


@pytest.mark.parametrize("size", [70_000, 1 << 20], ids=["70k", "1M"])
async def test_large_frame_just_over_maxmsgsize(size: int,
                                                caplog: pytest.LogCaptureFixture) -> None:
    capture_zmtp_logs(caplog)
    async with serve(T.PULL, maxmsgsize=size) as served:
        peer = await hostile(served)
        await peer.send_message([b"L" * size])
        await delivered(served, peer, [b"L" * size])
        await peer.send(long_header(size + 1) + b"L" * 1000)
        await served.closed_with(peer, f"more than maxmsgsize={size}", caplog,
                                 handshake_failed=False)
        peer.close()
        await served.exchange()


@pytest.mark.parametrize("kind", [T.PULL, T.ROUTER], ids=lambda k: k.name)
async def test_long_frame_2_63_with_maxmsgsize(kind: SocketType,
                                               caplog: pytest.LogCaptureFixture) -> None:
    capture_zmtp_logs(caplog)
    async with serve(kind, maxmsgsize=1 << 20) as served:
        await bad_after_handshake(served, long_header(2**63 - 1) + b"xyz",
                                  "more than maxmsgsize=1048576", caplog)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", [T.PULL, T.ROUTER], ids=lambda k: k.name)
async def test_hundred_thousand_empty_frames(kind: SocketType,
                                             caplog: pytest.LogCaptureFixture) -> None:
    """libzmq delivers a message of 100,000 empty frames; so do we, in bounded memory
    (a few MB for the frame list, never a copy per frame of the wire buffer)."""
    capture_zmtp_logs(caplog)
    count = 100_000
    async with serve(kind) as served:
        peer = await hostile(served)
        tracemalloc.start()
        try:
            await peer.send(b"\x01\x00" * (count - 1) + b"\x00\x00")
            with trio.fail_after(WAIT * 3):
                got = await served.sock.recv_multipart()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        if kind is T.ROUTER:
            got = got[1:]
        assert len(got) == count and not any(got)
        assert peak < 16 << 20, f"peak {peak} bytes for {count} empty frames"
        assert await peer.still_open(0.1)
        await served.exchange()
        peer.close()


@pytest.mark.parametrize("kind", [T.PUB, T.XPUB], ids=lambda k: k.name)
@pytest.mark.parametrize("form", ["command", "message"])
async def test_subscription_of_64k(kind: SocketType, form: str,
                                   caplog: pytest.LogCaptureFixture) -> None:
    """A 64 KiB topic is a valid subscription (libzmq takes it): matched, cancelled."""
    capture_zmtp_logs(caplog)
    topic = bytes(range(256)) * 256
    async with serve(kind) as served:
        peer = await hostile(served)
        if form == "command":
            await peer.send(command(b"SUBSCRIBE", topic))
        else:
            await peer.send(frame(b"\x01" + topic))
        if kind is T.XPUB:
            assert await served.sock.recv() == b"\x01" + topic
        with trio.fail_after(WAIT):
            while True:  # PUB drops until the subscription is in
                await served.sock.send_multipart([topic + b"!", b"body"])
                with trio.move_on_after(0.05):
                    got = await peer.recv_message()
                    break
        assert got == [topic + b"!", b"body"]
        await peer.send(command(b"CANCEL", topic) if form == "command"
                        else frame(b"\x00" + topic))
        if kind is T.XPUB:
            assert await served.sock.recv() == b"\x00" + topic
        await served.exchange()
        assert await peer.still_open(0.1)
        assert EventKind.DISCONNECTED not in served.kinds_for(peer.name)
        peer.close()


@pytest.mark.parametrize("kind", BOUND, ids=lambda k: k.name)
@pytest.mark.parametrize("how", ["reset", "eof"])
async def test_connection_lost_mid_multipart(kind: SocketType, how: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    """The whole message before the break is delivered; the half after it never is."""
    capture_zmtp_logs(caplog)
    async with serve(kind) as served:
        peer = await hostile(served)
        whole = envelope(kind, [b"whole-1", b"whole-2"])
        parts = envelope(kind, [b"half-1", b"half-2"])
        await peer.send(b"".join(frame(p, 0x01) for p in whole[:-1]) + frame(whole[-1])
                        + b"".join(frame(p, 0x01) for p in parts) + b"\x00\x10half")
        await delivered(served, peer, [b"whole-1", b"whole-2"])
        if how == "reset":
            peer.reset()
            reason = "connection lost"
        else:
            peer.close()
            reason = "closed by peer"
        event = await served.event(EventKind.DISCONNECTED, peer.name)
        assert reason in event.reason, event
        await served.exchange()  # the next message is the good peer's, not the half
        with pytest.raises(zmtp.Again):
            served.sock.recv_multipart_nowait()
        assert_logged(caplog, peer.name, reason)


@pytest.mark.parametrize("kind", [T.PULL, T.ROUTER], ids=lambda k: k.name)
async def test_slowloris_across_a_message(kind: SocketType,
                                          caplog: pytest.LogCaptureFixture) -> None:
    """One octet every 10 ms across a message: not a violation (libzmq has no per-message
    deadline either), but it blocks nobody: the good peer exchanges meanwhile, and the
    message arrives whole.  With heartbeats, a trickle slower than heartbeat_timeout is
    a dead peer and is closed."""
    capture_zmtp_logs(caplog)
    async with serve(kind, heartbeat_ivl=0.1, heartbeat_timeout=0.3) as served:
        peer = await hostile(served)
        body = frame(b"s", 0x01) + frame(b"t" * 40)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(peer.send_slowly, body, 0.01)
            for _ in range(3):
                await served.exchange()
        await delivered(served, peer, [b"s", b"t" * 40])
        assert await peer.still_open(0.1)
        # Now slower than heartbeat_timeout: closed as dead, whatever trickles in.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(peer.send_slowly, frame(b"u" * 40), 0.6)
            await served.closed_with(peer, "heartbeat timed out", caplog,
                                     handshake_failed=False)
            nursery.cancel_scope.cancel()
        peer.close()
        await served.exchange()


@pytest.mark.parametrize("kind", [T.PULL, T.ROUTER, T.REP], ids=lambda k: k.name)
async def test_handshake_message_and_fin_in_one_write(kind: SocketType) -> None:
    """A peer that writes greeting, READY and a message at once and closes before our
    reply: the reply fails (EPIPE or reset) but the message arrived whole and is delivered.
    (Regression: the handshake replied before looking at what it had read.)"""
    async with serve(kind) as served:
        wire = b"".join(frame(p, 0x01) for p in envelope(kind, [b"hit"])[:-1]) + frame(b"hit")
        for _ in range(20):
            peer = await RawPeer.connect(served.endpoint)
            await peer.send(null_handshake(PEER_OF[kind]) + wire)
            peer.close()
            with trio.fail_after(WAIT):
                got = await served.sock.recv_multipart()
            assert got[-1] == b"hit", got
            if kind is T.REP:
                await served.sock.send(b"to nobody")  # REP must answer before the next
        await served.exchange()


async def test_second_pair_peer_refused(caplog: pytest.LogCaptureFixture) -> None:
    """PAIR talks to one peer: a second one that completes its handshake is closed, with
    the reason, and the first keeps its conversation (as libzmq's PAIR does)."""
    capture_zmtp_logs(caplog)
    async with serve(T.PAIR) as served:
        peer = await RawPeer.connect(served.endpoint)
        await peer.send(null_handshake(T.PAIR) + frame(b"intruder"))
        await served.closed_with(peer, "peer refused", caplog, handshake_failed=True)
        peer.close()
        await served.exchange()
        with pytest.raises(zmtp.Again):
            served.sock.recv_multipart_nowait()  # the intruder's message went nowhere
