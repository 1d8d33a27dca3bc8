"""Speaking to a ZMTP/2.0 peer (RFC 15) as libzmq does: byte strings from the RFC."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zmtp.errors import ProtocolError
from zmtp.protocol import (
    Connection,
    Event,
    HandshakeComplete,
    Message,
    PlainClientMechanism,
    SocketType,
    Subscribe,
)

# greeting = signature revision socket-type identity
SIGNATURE = b"\xff\x00\x00\x00\x00\x00\x00\x00\x00\x7f"  # RFC 15: %xFF 8%x00 %x7F
REVISION = b"\x01"


def v2_greeting(socket_code: int, identity: bytes = b"") -> bytes:
    # identity = final-short-frame (flags %x00, short length, body)
    return SIGNATURE + REVISION + bytes([socket_code]) + b"\x00" + bytes([len(identity)]) + identity


def wire(conn: Connection) -> bytes:
    return b"".join(bytes(c) for c in conn.data_to_send())


def test_handshake_with_zmtp2_peer() -> None:
    conn = Connection(SocketType.PULL, routing_id=b"me")
    assert wire(conn) == b"\xff" + (3).to_bytes(8, "big") + b"\x7f"
    conn.receive_data(SIGNATURE)
    assert wire(conn) == b"\x03"
    conn.receive_data(REVISION)
    # to a 2.0 peer: our socket type (PULL = 0x07) and our identity frame
    assert wire(conn) == b"\x07\x00\x02me"
    events = conn.receive_data(b"\x08\x00\x03abc")  # PUSH, identity "abc"
    assert events == [HandshakeComplete(SocketType.PUSH, b"abc", {}, (2, 0))]
    assert conn.peer_version == (2, 0)
    # 2.0 frames: flags (bit0 MORE, bit1 LONG) + 1- or 8-octet size + body
    long_body = b"L" * 300
    events = conn.receive_data(
        b"\x01\x01a\x00\x01b" + b"\x02" + (300).to_bytes(8, "big") + long_body + b"\x00\x00"
    )
    assert events == [Message([b"a", b"b"]), Message([long_body]), Message([b""])]


def test_zmtp2_sending() -> None:
    conn = Connection(SocketType.PUSH)
    conn.receive_data(v2_greeting(7))  # a PULL peer
    wire(conn)
    conn.send_message([b"a", b"x" * 256])
    assert wire(conn) == b"\x01\x01a\x02" + (256).to_bytes(8, "big") + b"x" * 256


def test_subscriptions_are_messages() -> None:
    sub = Connection(SocketType.SUB)
    events = sub.receive_data(v2_greeting(1))  # PUB
    assert isinstance(events[0], HandshakeComplete)
    wire(sub)
    sub.send_subscribe(b"news")
    sub.send_cancel(b"news")
    assert wire(sub) == b"\x00\x05\x01news\x00\x05\x00news"
    sub.send_ping(1.0)  # no heartbeats in 2.0: nothing is sent
    assert wire(sub) == b""

    pub = Connection(SocketType.XPUB)
    events = pub.receive_data(v2_greeting(2) + b"\x00\x05\x01news")  # SUB
    assert events[1:] == [Subscribe(b"news")]


def test_libzmq3_xsub_code_accepted() -> None:
    pub = Connection(SocketType.PUB)
    assert isinstance(pub.receive_data(v2_greeting(10))[0], HandshakeComplete)  # XSUB = 10


def test_downgrade_refused_with_security() -> None:
    conn = Connection(SocketType.PUSH, mechanism=PlainClientMechanism(b"u", b"p"))
    with pytest.raises(ProtocolError, match="downgrade"):
        conn.receive_data(SIGNATURE + REVISION)


def test_socket_type_unknown_to_zmtp2() -> None:
    conn = Connection(SocketType.CLIENT)
    with pytest.raises(ProtocolError, match="no CLIENT socket type"):
        conn.receive_data(SIGNATURE + REVISION)


@pytest.mark.parametrize(("code", "match"), [(99, "unknown socket type 99"), (8, "cannot talk")])
def test_bad_peer_socket_type(code: int, match: str) -> None:
    conn = Connection(SocketType.PUSH)
    with pytest.raises(ProtocolError, match=match):
        conn.receive_data(v2_greeting(code))


def test_command_bit_is_reserved_in_zmtp2() -> None:
    conn = Connection(SocketType.PULL)
    conn.receive_data(v2_greeting(8))
    with pytest.raises(ProtocolError, match=r"ZMTP/2\.0"):
        conn.receive_data(b"\x04\x05\x04PING")


def test_identity_frame_with_more_refused() -> None:
    conn = Connection(SocketType.PULL)
    with pytest.raises(ProtocolError, match="before the handshake"):
        conn.receive_data(SIGNATURE + REVISION + b"\x08\x01\x01a")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 20), max_size=10))
def test_random_cuts(cuts: list[int]) -> None:
    data = v2_greeting(5, b"peer") + b"\x01\x00\x00\x03abc" + b"\x00\x01z"
    conn = Connection(SocketType.ROUTER)
    events: list[Event] = []
    pos = 0
    for size in [*cuts, len(data)]:
        if pos < len(data):
            events += conn.receive_data(data[pos : pos + size])
        pos += size
    assert events == [
        HandshakeComplete(SocketType.DEALER, b"peer", {}, (2, 0)),
        Message([b"", b"abc"]),
        Message([b"z"]),
    ]
