"""The greeting, written byte for byte from RFC 23/37 and libzmq's behaviour."""

from __future__ import annotations

import pytest

from zmtp.errors import ProtocolError
from zmtp.protocol import Connection, PlainClientMechanism, SocketType
from zmtp.protocol.greeting import (
    Greeting,
    decode_greeting,
    encode_greeting,
    encode_greeting_rest,
    encode_signature,
)

# RFC 23 greeting, NULL, version 3.1, as libzmq writes it (padding = id length + 1)
NULL_31 = (
    b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f"  # signature
    b"\x03\x01"  # version 3.1
    b"NULL" + b"\x00" * 16  # mechanism, NUL-padded to 20
    + b"\x00"  # as-server
    + b"\x00" * 31  # filler
)


def wire(conn: Connection) -> bytes:
    return b"".join(bytes(c) for c in conn.data_to_send())


def test_encode_whole_greeting() -> None:
    assert encode_greeting() == NULL_31
    assert len(NULL_31) == 64
    assert encode_signature(5) == b"\xff" + (6).to_bytes(8, "big") + b"\x7f"
    assert encode_greeting_rest(b"PLAIN")[:6] == b"\x01PLAIN"


def test_decode_greeting() -> None:
    assert decode_greeting(NULL_31) == Greeting(3, 1, b"NULL", False)
    plain_30 = NULL_31[:11] + b"\x00PLAIN" + bytes(15) + b"\x01" + bytes(31)
    assert decode_greeting(plain_30) == Greeting(3, 0, b"PLAIN", True)


def test_padding_is_never_validated() -> None:
    odd = b"\xff" + b"\xde\xad\xbe\xef\x00\x11\x22\x33" + b"\x7f" + NULL_31[10:]
    assert decode_greeting(odd).mechanism == b"NULL"
    conn = Connection(SocketType.PULL)
    conn.receive_data(odd)
    assert conn.peer_version == (3, 1)


@pytest.mark.parametrize("routing_id", [b"", b"x" * 10, b"y" * 255])
def test_three_steps_like_libzmq(routing_id: bytes) -> None:
    conn = Connection(SocketType.DEALER, routing_id=routing_id)
    # step 1: the signature at once
    assert wire(conn) == encode_signature(len(routing_id))
    # nothing more until the peer's 10 signature octets are in
    for octet in NULL_31[:9]:
        assert conn.receive_data(bytes([octet])) == []
        assert wire(conn) == b""
    conn.receive_data(NULL_31[9:10])
    assert wire(conn) == b"\x03"  # step 2: the major version
    conn.receive_data(NULL_31[10:11])
    assert wire(conn) == NULL_31[11:]  # step 3: minor, mechanism, as-server 0, filler
    conn.receive_data(NULL_31[11:])
    ready = wire(conn)  # then the NULL READY command (a long frame with a 255-octet id)
    assert (ready[0], ready[2:8]) == (0x04, b"\x05READY") or (
        ready[0],
        ready[9:15],
    ) == (0x06, b"\x05READY")


@pytest.mark.parametrize(
    "version", [(3, 0), (3, 1), (3, 7), (4, 2)]
)
def test_higher_versions_are_3x(version: tuple[int, int]) -> None:
    conn = Connection(SocketType.PULL)
    conn.receive_data(NULL_31[:10] + bytes(version) + NULL_31[12:])
    assert conn.peer_version == version
    assert wire(conn).endswith(b"\x04\x1a\x05READY\x0bSocket-Type\x00\x00\x00\x04PULL")


def test_mechanism_mismatch_names_both() -> None:
    conn = Connection(SocketType.PUSH, mechanism=PlainClientMechanism(b"u", b"p"))
    with pytest.raises(ProtocolError, match=r"we use PLAIN, the peer uses NULL"):
        conn.receive_data(NULL_31)
    assert conn.closed
    with pytest.raises(ProtocolError):
        conn.receive_data(b"more")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x01\x00", "first octet 0x01"),  # ZMTP/1.0 identity frame, short length
        (b"\xff" + bytes(8) + b"\x00", "low bit clear"),  # 1.0 long length + flags 0
        (b"\xff" + bytes(8) + b"\x7f\x00", "revision octet 0"),
        (b"GET / HTTP/1.1\r\n", "first octet 0x47"),
    ],
)
def test_zmtp10_refused(data: bytes, match: str) -> None:
    conn = Connection(SocketType.PULL)
    with pytest.raises(ProtocolError, match=match) as info:
        conn.receive_data(data)
    assert "ZMTP/1.0" in str(info.value)


def test_invalid_mechanism_name_in_greeting() -> None:
    bad = NULL_31[:12] + b"nul\x00l" + bytes(15) + NULL_31[32:]
    with pytest.raises(ProtocolError, match="invalid mechanism"):
        Connection(SocketType.PULL).receive_data(bad)


def test_peer_sending_whole_greeting_first_still_works() -> None:
    # A peer that waits for nothing: greeting, READY and a message in one write.
    ready = b"\x05READY" + b"\x0bSocket-Type" + (4).to_bytes(4, "big") + b"PUSH"
    data = NULL_31 + bytes([0x04, len(ready)]) + ready + b"\x00\x02hi"
    conn = Connection(SocketType.PULL)
    events = conn.receive_data(data)
    assert [type(e).__name__ for e in events] == ["HandshakeComplete", "Message"]
