"""Whole handshakes between two of our own Connections (NULL, PLAIN), and messaging."""

from __future__ import annotations

import pytest

from zmtp.errors import ProtocolError
from zmtp.protocol import (
    Cancel,
    Closed,
    Connection,
    Event,
    HandshakeComplete,
    Message,
    PeerError,
    Ping,
    PlainClientMechanism,
    PlainServerMechanism,
    Pong,
    SocketType,
    Subscribe,
)


def wire(conn: Connection) -> bytes:
    return b"".join(bytes(chunk) for chunk in conn.data_to_send())


def pump(a: Connection, b: Connection, cut: int | None = None) -> tuple[list[Event], list[Event]]:
    """Move bytes both ways until quiet; ``cut`` feeds them in pieces of that size."""
    ev_a: list[Event] = []
    ev_b: list[Event] = []
    for _ in range(100):
        moved = False
        for src, dst, evs in ((a, b, ev_b), (b, a, ev_a)):
            data = wire(src)
            if not data or dst.closed:
                continue
            moved = True
            step = cut or len(data)
            for i in range(0, len(data), step):
                evs += dst.receive_data(data[i : i + step])
        if not moved:
            break
    return ev_a, ev_b


def handshake(a: Connection, b: Connection, cut: int | None = None) -> None:
    ev_a, ev_b = pump(a, b, cut)
    assert isinstance(ev_a[-1], HandshakeComplete)
    assert isinstance(ev_b[-1], HandshakeComplete)


@pytest.mark.parametrize("cut", [None, 1, 2, 7, 63, 64, 65])
def test_null_handshake_and_messages(cut: int | None) -> None:
    a = Connection(SocketType.DEALER, routing_id=b"me", metadata={"X-App": b"1"})
    b = Connection(SocketType.ROUTER)
    ev_a, ev_b = pump(a, b, cut)
    assert ev_a == [HandshakeComplete(SocketType.ROUTER, b"", {"Socket-Type": b"ROUTER",
                                      "Identity": b""}, (3, 1))]
    assert ev_b == [HandshakeComplete(SocketType.DEALER, b"me", {"Socket-Type": b"DEALER",
                                      "Identity": b"me", "X-App": b"1"}, (3, 1))]
    assert a.handshake_complete and b.handshake_complete
    assert b.peer_routing_id == b"me" and b.peer_version == (3, 1)
    a.send_message([b"a", b"", b"x" * 300])
    a.send_messages([[b"1"], [b"2", b"3"]])
    b.send_message([b"back"])
    ev_a, ev_b = pump(a, b, cut)
    assert ev_b == [Message([b"a", b"", b"x" * 300]), Message([b"1"]), Message([b"2", b"3"])]
    assert ev_a == [Message([b"back"])]


def test_signature_first_then_major_then_rest() -> None:
    a = Connection(SocketType.PUSH)
    sig = wire(a)
    assert sig == b"\xff" + bytes(7) + b"\x01\x7f"
    assert wire(a) == b""
    a.receive_data(b"\xff" + bytes(8) + b"\x7f")
    assert wire(a) == b"\x03"
    a.receive_data(b"\x03")
    rest = wire(a)
    assert rest == b"\x01NULL" + bytes(16) + bytes(32)


def test_plain_handshake() -> None:
    seen: list[tuple[bytes, bytes]] = []

    def auth(user: bytes, pw: bytes) -> bool:
        seen.append((user, pw))
        return pw == b"secret"

    a = Connection(SocketType.REQ, mechanism=PlainClientMechanism(b"admin", b"secret"))
    b = Connection(SocketType.REP, mechanism=PlainServerMechanism(auth))
    handshake(a, b, cut=3)
    assert seen == [(b"admin", b"secret")]
    a.send_message([b"", b"q"])
    assert pump(a, b)[1] == [Message([b"", b"q"])]


def test_plain_refused() -> None:
    a = Connection(SocketType.REQ, mechanism=PlainClientMechanism(b"admin", b"wrong"))
    b = Connection(SocketType.REP, mechanism=PlainServerMechanism(lambda u, p: False))
    with pytest.raises(ProtocolError, match="refused"):
        pump(a, b)
    assert b.closed
    # the server queued ERROR "400" before failing; the client sees it as PeerError
    assert a.receive_data(wire(b)) == [PeerError("400")]
    assert a.closed
    with pytest.raises(ProtocolError):
        a.send_message([b"x"])


def test_subscriptions_and_heartbeats() -> None:
    pub = Connection(SocketType.PUB)
    sub = Connection(SocketType.SUB)
    handshake(pub, sub)
    sub.send_subscribe(b"topic")
    sub.send_cancel(b"topic")
    sub.send_ping(ttl=3.0, context=b"ctx")
    ev_sub, ev_pub = pump(sub, pub)
    assert ev_pub == [Subscribe(b"topic"), Cancel(b"topic"), Ping(3.0, b"ctx")]
    assert ev_sub == [Pong(b"ctx")]


def test_one_pong_queued_at_a_time() -> None:
    """A PING flood while the driver does not drain (its peer does not read) queues one
    PONG, not one per PING (libzmq keeps one pending PONG too); once drained, the next
    PING is answered again."""
    pub = Connection(SocketType.PUB)
    sub = Connection(SocketType.SUB)
    handshake(pub, sub)
    for n in range(1000):
        sub.send_ping(context=b"%d" % n)
    events = pub.receive_data(wire(sub))
    assert len(events) == 1000 and all(isinstance(e, Ping) for e in events)
    assert sub.receive_data(wire(pub)) == [Pong(b"0")]
    sub.send_ping(context=b"again")
    pub.receive_data(wire(sub))
    assert sub.receive_data(wire(pub)) == [Pong(b"again")]


def test_closed_mid_message() -> None:
    a = Connection(SocketType.PUSH)
    b = Connection(SocketType.PULL)
    handshake(a, b)
    a.send_message([b"one", b"two"])
    data = wire(a)
    assert b.receive_data(data[:6]) == []
    assert b.receive_data(b"") == [Closed()]
