"""Issue 7, bad input before the handshake completes: a raw TCP client against a bound
zmtp socket of each type.

Each case asserts the whole answer: the offending connection is closed (the raw client
sees EOF or a reset), the socket reports HANDSHAKE_FAILED and DISCONNECTED with the
reason, a log line on logger "zmtp" names the peer (address:port) and the reason, and a
well-behaved peer on the same socket exchanges messages before and after.
"""

from __future__ import annotations

import pytest
import trio

import zmtp
from zmtp.monitor import EventKind
from zmtp.protocol import SocketType

from .raw import (
    PEER_OF,
    RawPeer,
    assert_logged,
    capture_zmtp_logs,
    command,
    frame,
    greeting,
    null_handshake,
    ready,
    serve,
)

T = SocketType
BOUND = [T.PULL, T.ROUTER, T.XPUB, T.PUB, T.REP, T.PAIR]
# An announced type each bound type refuses (RFC 37).
INCOMPATIBLE = {T.PULL: b"PULL", T.ROUTER: b"PUB", T.XPUB: b"PUSH", T.PUB: b"PUB",
                T.REP: b"REP", T.PAIR: b"PUSH"}

SIGNATURE = b"\xff" + bytes(8) + b"\x7f"

# (id, bytes the raw client sends, a part of the reason the socket must give)
BAD_OPENINGS = [
    ("wrong-signature", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "not a ZMTP peer"),
    ("zmtp1-short-identity", b"\x01\x00", "ZMTP/1.0"),
    ("zmtp1-long-identity", b"\xff" + (300).to_bytes(8, "big") + b"\x00" + b"i" * 300,
     "ZMTP/1.0"),
    ("revision-0", SIGNATURE + b"\x00" + bytes(53), "ZMTP/1.0"),
    ("unknown-mechanism", greeting(b"FOO"), "security mechanism mismatch"),
    ("mismatched-mechanism", greeting(b"PLAIN"), "security mechanism mismatch"),
    ("curve-mechanism", greeting(b"CURVE"), "security mechanism mismatch"),
    ("empty-mechanism", greeting(b""), "invalid mechanism name"),
    ("mechanism-bad-chars", greeting(b"nu ll"), "invalid mechanism name"),
    ("command-before-ready", greeting() + command(b"SUBSCRIBE", b"x"), "expected READY"),
    ("ping-before-ready", greeting() + command(b"PING", b"\x00\x00"), "expected READY"),
    ("message-before-ready", greeting() + frame(b"hello"), "handshake completed"),
    ("multipart-before-ready", greeting() + frame(b"a", 0x01) + frame(b"b"),
     "handshake completed"),
    ("long-message-before-ready", greeting() + frame(b"x" * 70_000), "handshake completed"),
    ("empty-command", greeting() + frame(b"", 0x04), "empty command"),
    ("command-name-past-end", greeting() + frame(b"\x09READY", 0x04), "malformed command"),
    ("command-with-more", greeting() + frame(b"\x05READY", 0x05), "MORE flag"),
    ("reserved-flags-in-handshake", greeting() + bytes((0x84, 2)) + b"ab", "reserved bits"),
    ("ready-name-past-end", greeting() + command(b"READY", b"\x0bSocket-Typ"),
     "malformed metadata"),
    ("ready-zero-length-name", greeting() + command(b"READY", b"\x00\x00\x00\x00\x00"),
     "malformed metadata"),
    ("ready-huge-value-length",
     greeting() + command(b"READY", b"\x0bSocket-Type\xff\xff\xff\xffPUSH"),
     "malformed metadata"),
    ("ready-value-past-end",
     greeting() + command(b"READY", b"\x0bSocket-Type\x00\x00\x00\x09PUSH"),
     "malformed metadata"),
    ("missing-socket-type", greeting() + ready(None, Identity=b""), "no Socket-Type"),
    ("unknown-socket-type", greeting() + ready(b"BOGUS"), "unknown Socket-Type"),
    ("lower-case-socket-type", greeting() + ready(b"push"), "unknown Socket-Type"),
    ("peer-error-in-handshake", greeting() + command(b"ERROR", b"\x04nope"),
     "peer sent ERROR"),
]


@pytest.mark.parametrize("kind", BOUND, ids=lambda k: k.name)
@pytest.mark.parametrize("data,reason", [case[1:] for case in BAD_OPENINGS],
                         ids=[case[0] for case in BAD_OPENINGS])
async def test_bad_opening(kind: SocketType, data: bytes, reason: str,
                           caplog: pytest.LogCaptureFixture) -> None:
    capture_zmtp_logs(caplog)
    async with serve(kind) as served:
        peer = await RawPeer.connect(served.endpoint)
        await peer.send(data)
        await served.closed_with(peer, reason, caplog, handshake_failed=True)
        peer.close()
        await served.exchange()


@pytest.mark.parametrize("kind", BOUND, ids=lambda k: k.name)
async def test_incompatible_socket_type(kind: SocketType,
                                        caplog: pytest.LogCaptureFixture) -> None:
    capture_zmtp_logs(caplog)
    async with serve(kind) as served:
        peer = await RawPeer.connect(served.endpoint)
        await peer.send(greeting() + ready(INCOMPATIBLE[kind]))
        await served.closed_with(peer, "cannot talk to", caplog, handshake_failed=True)
        assert b"incompatible Socket-Type" in peer.received  # ERROR told the peer why
        peer.close()
        await served.exchange()


@pytest.mark.parametrize("kind", [T.PULL, T.ROUTER, T.PAIR], ids=lambda k: k.name)
async def test_signature_then_silence(kind: SocketType,
                                      caplog: pytest.LogCaptureFixture) -> None:
    capture_zmtp_logs(caplog)
    async with serve(kind, handshake_ivl=0.3) as served:
        peer = await RawPeer.connect(served.endpoint)
        await peer.send(SIGNATURE)
        start = trio.current_time()
        await served.closed_with(peer, "handshake timed out", caplog, handshake_failed=True)
        assert trio.current_time() - start >= 0.25
        peer.close()
        # A TCP connect that never sends a byte is answered the same way.
        silent = await RawPeer.connect(served.endpoint)
        await served.closed_with(silent, "handshake timed out", caplog, handshake_failed=True)
        silent.close()
        await served.exchange()


@pytest.mark.parametrize("kind", [T.PULL, T.ROUTER, T.XPUB], ids=lambda k: k.name)
async def test_slowloris_greeting(kind: SocketType, caplog: pytest.LogCaptureFixture) -> None:
    """One octet every 20 ms: the 64-octet greeting needs 1.3 s, handshake_ivl is 0.4 s.
    The good peer keeps exchanging while the slow one trickles."""
    capture_zmtp_logs(caplog)
    async with serve(kind, handshake_ivl=0.4) as served:
        peer = await RawPeer.connect(served.endpoint)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(peer.send_slowly, null_handshake(PEER_OF[kind]), 0.02)
            for _ in range(3):
                await served.exchange()
            await served.closed_with(peer, "handshake timed out", caplog,
                                     handshake_failed=True)
        peer.close()
        await served.exchange()


async def test_plain_wrong_credentials(caplog: pytest.LogCaptureFixture) -> None:
    capture_zmtp_logs(caplog)

    def authenticate(user: bytes, password: bytes) -> bool:
        return (user, password) == (b"admin", b"secret")

    async with serve(T.PULL, plain_server=True, plain_authenticator=authenticate,
                     good_options={"plain_username": "admin",
                                   "plain_password": "secret"}) as served:
        peer = await RawPeer.connect(served.endpoint)
        await peer.send(greeting(b"PLAIN") + command(b"HELLO", b"\x05admin\x05wrong"))
        await served.closed_with(peer, "refused the credentials", caplog,
                                 handshake_failed=True)
        assert b"\x05ERROR\x03400" in peer.received
        peer.close()
        # A NULL client, and a malformed HELLO, against the PLAIN server.
        for data, reason in [(null_handshake(T.PUSH), "security mechanism mismatch"),
                             (greeting(b"PLAIN") + command(b"HELLO", b"\x09ad"),
                              "malformed PLAIN HELLO"),
                             (greeting(b"PLAIN") + command(b"INITIATE"), "expected HELLO")]:
            other = await RawPeer.connect(served.endpoint)
            await other.send(data)
            await served.closed_with(other, reason, caplog, handshake_failed=True)
            other.close()
        await served.exchange()


async def test_plain_authenticator_raising(caplog: pytest.LogCaptureFixture) -> None:
    """An application's authenticator that chokes on hostile input (here: a username
    that is not UTF-8) costs that one connection, never the socket."""
    capture_zmtp_logs(caplog)

    def authenticate(user: bytes, password: bytes) -> bool:
        return user.decode("utf-8") == "admin" and password == b"secret"

    async with serve(T.PULL, plain_server=True, plain_authenticator=authenticate,
                     good_options={"plain_username": "admin",
                                   "plain_password": "secret"}) as served:
        peer = await RawPeer.connect(served.endpoint)
        await peer.send(greeting(b"PLAIN") + command(b"HELLO", b"\x02\xff\xfe\x01x"))
        await served.closed_with(peer, "UnicodeDecodeError", caplog, handshake_failed=True)
        peer.close()
        await served.exchange()


@pytest.mark.parametrize("kind", [T.PULL, T.ROUTER, T.XPUB, T.REP], ids=lambda k: k.name)
async def test_zmtp2_greeting_accepted(kind: SocketType,
                                       caplog: pytest.LogCaptureFixture) -> None:
    """A ZMTP/2.0 peer (RFC 15) of a type 2.0 knows is accepted and spoken to in 2.0
    framing, as libzmq does; only the good peer's traffic and the 2.0 message are checked."""
    capture_zmtp_logs(caplog)
    codes = {T.PUSH: 8, T.DEALER: 5, T.SUB: 2, T.REQ: 3}
    async with serve(kind) as served:
        peer = await RawPeer.connect(served.endpoint)
        await peer.send(SIGNATURE + bytes((1, codes[PEER_OF[kind]])) + b"\x00\x00")
        await served.event(EventKind.HANDSHAKE_SUCCEEDED, peer.name)
        while len(peer.received) < 12:
            await peer.recv_some()
        assert peer.received[10] == 3  # we announce 3.x; the peer's revision 1 decides
        if kind is T.XPUB:
            await peer.send(b"\x00\x02\x01t")  # 2.0 subscription: a message 0x01 + topic
            assert await served.sock.recv() == b"\x01t"
        elif kind is T.REP:
            await peer.send(b"\x01\x00" + b"\x00\x04ping")  # empty delimiter, then body
            assert await served.sock.recv_multipart() == [b"ping"]
            await served.sock.send(b"pong")
            while b"pong" not in peer.received:
                await peer.recv_some()
        else:
            await peer.send(b"\x00\x04v2ok")
            got = await served.sock.recv_multipart()
            assert got[-1] == b"v2ok"
        # A COMMAND bit does not exist in 2.0 framing: that is a violation there.
        await peer.send(command(b"PING", b"\x00\x00"))
        await served.closed_with(peer, "ZMTP/2.0 framing", caplog, handshake_failed=False)
        peer.close()
        await served.exchange()


async def test_zmtp2_refused_by_plain(caplog: pytest.LogCaptureFixture) -> None:
    capture_zmtp_logs(caplog)
    async with serve(T.PULL, plain_server=True, plain_authenticator=lambda user, pw: True,
                     good_options={"plain_username": "u", "plain_password": "p"}) as served:
        peer = await RawPeer.connect(served.endpoint)
        await peer.send(SIGNATURE + b"\x01\x08\x00\x00")
        await served.closed_with(peer, "downgrade", caplog, handshake_failed=True)
        peer.close()
        await served.exchange()


@pytest.mark.parametrize("kind", [T.PULL, T.ROUTER], ids=lambda k: k.name)
@pytest.mark.parametrize("version", [(4, 0), (3, 0), (3, 7), (255, 255)],
                         ids=lambda v: f"{v[0]}.{v[1]}")
async def test_newer_version_accepted(kind: SocketType, version: tuple[int, int],
                                      caplog: pytest.LogCaptureFixture) -> None:
    """A greeting announcing 4.0 (or any 3.x) is answered as 3.x (RFC 23: a peer MUST
    accept higher versions), the handshake completes and messages flow."""
    capture_zmtp_logs(caplog)
    async with serve(kind) as served:
        peer = await RawPeer.connect(served.endpoint)
        await peer.send(greeting(b"NULL", *version) + ready(PEER_OF[kind].wire_name))
        await served.event(EventKind.HANDSHAKE_SUCCEEDED, peer.name)
        await peer.send(frame(b"from-v%d" % version[0]))
        got = await served.sock.recv_multipart()
        assert got[-1] == b"from-v%d" % version[0]
        while len(peer.received) < 12:
            await peer.recv_some()
        assert peer.received[10:12] == b"\x03\x01"
        peer.close()
        event = await served.event(EventKind.DISCONNECTED, peer.name)
        assert event.reason == "closed by peer"
        assert EventKind.HANDSHAKE_FAILED not in served.kinds_for(peer.name)
        await served.exchange()


async def test_connection_lost_before_setup(monkeypatch: pytest.MonkeyPatch,
                                            caplog: pytest.LogCaptureFixture) -> None:
    """A connection reset before its socket options could be set (EINVAL on BSDs) is
    dropped and logged; the accept loop, and so the socket, carries on."""
    capture_zmtp_logs(caplog)
    import zmtp.socket as socket_module

    real = socket_module.configure_stream_socket
    async with serve(T.PULL) as served:
        def failing(sock: trio.socket.SocketType, options: object) -> None:
            monkeypatch.setattr(socket_module, "configure_stream_socket", real)
            raise OSError(22, "Invalid argument")

        monkeypatch.setattr(socket_module, "configure_stream_socket", failing)
        peer = await RawPeer.connect(served.endpoint)
        assert await peer.closed_by_server() in ("eof", "reset")
        assert any(peer.name in r.getMessage() and "lost at once" in r.getMessage()
                   for r in caplog.records)
        peer.close()
        await served.exchange()
        again = await RawPeer.connect(served.endpoint)
        await again.send(null_handshake(T.PUSH) + frame(b"next"))
        assert await served.sock.recv() == b"next"
        again.close()


@pytest.mark.parametrize("reply", [b"HTTP/1.1 400 Bad Request\r\n\r\n", SIGNATURE + b"\x01\x07",
                                   greeting(b"CURVE")], ids=["http", "zmtp2-truncated", "curve"])
async def test_connecting_to_a_hostile_server(reply: bytes,
                                              caplog: pytest.LogCaptureFixture) -> None:
    """The connecting side meets a bad listener: each attempt fails with the reason in
    HANDSHAKE_FAILED and a log line naming the endpoint, and it keeps retrying (the
    application sees nothing but a message still queued)."""
    capture_zmtp_logs(caplog)
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    listener.listen(10)
    endpoint = f"tcp://127.0.0.1:{listener.getsockname()[1]}"

    async def hostile_server(task_status: trio.TaskStatus[None]) -> None:
        task_status.started()
        while True:
            conn, _ = await listener.accept()
            with conn:
                try:
                    await conn.send(reply)
                    with trio.move_on_after(0.5):
                        while await conn.recv(4096):
                            pass
                except OSError:
                    pass

    async with trio.open_nursery() as nursery:
        await nursery.start(hostile_server)
        async with zmtp.Socket(zmtp.PUSH, linger=0, reconnect_ivl=0.05) as push:
            events = push.events()
            await push.connect(endpoint)
            await push.send(b"queued")
            failures = []
            with trio.fail_after(10):
                async for event in events:
                    if event.kind is EventKind.HANDSHAKE_FAILED:
                        failures.append(event)
                        if len(failures) == 2:
                            break
            assert failures[0].peer == endpoint and failures[0].reason
            assert_logged(caplog, endpoint, failures[0].reason)
        nursery.cancel_scope.cancel()
    listener.close()


async def test_libzmq_peer_unaffected_by_a_barrage() -> None:
    """A libzmq DEALER (pyzmq) on the same ROUTER as a barrage of every bad opening in the
    catalogue at once keeps its request/reply going throughout."""
    zmq = pytest.importorskip("zmq")
    ctx = zmq.Context()
    dealer = ctx.socket(zmq.DEALER)
    dealer.linger = 0
    dealer.routing_id = b"libzmq"

    async def roundtrip(n: int) -> None:
        dealer.send(b"req %d" % n)
        with trio.fail_after(10):
            identity, body = await served.sock.recv_multipart()
        assert (identity, body) == (b"libzmq", b"req %d" % n)
        await served.sock.send_multipart([identity, b"rep %d" % n])
        with trio.fail_after(10):
            while True:
                try:
                    assert dealer.recv(zmq.NOBLOCK) == b"rep %d" % n
                    return
                except zmq.Again:
                    await trio.sleep(0.002)  # libzmq has no trio wake-up to await

    try:
        async with serve(T.ROUTER, handshake_ivl=1) as served:
            dealer.connect(served.endpoint)
            await roundtrip(0)

            async def bad(data: bytes) -> None:
                peer = await RawPeer.connect(served.endpoint)
                try:
                    await peer.send(data)
                    await peer.closed_by_server()
                except OSError:
                    pass
                finally:
                    peer.close()

            async with trio.open_nursery() as nursery:
                for _, data, _ in BAD_OPENINGS:
                    nursery.start_soon(bad, data)
                for n in range(1, 20):
                    await roundtrip(n)
            await roundtrip(20)
            await served.exchange()
    finally:
        dealer.close(0)
        ctx.term()
