"""Handshake edge cases: cuts anywhere, mismatches, misbehaving peers, a 3.0 peer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zmtp.errors import ProtocolError
from zmtp.protocol import (
    LARGE_FRAME,
    Connection,
    Event,
    HandshakeComplete,
    Mechanism,
    Message,
    NullMechanism,
    PeerError,
    Ping,
    PlainClientMechanism,
    PlainServerMechanism,
    Pong,
    SocketType,
    Subscribe,
)
from zmtp.protocol.greeting import encode_greeting
from zmtp.protocol.metadata import encode_metadata


def wire(conn: Connection) -> bytes:
    return b"".join(bytes(c) for c in conn.data_to_send())


def command(body: bytes) -> bytes:
    return bytes([0x04, len(body)]) + body if len(body) < 256 else (
        b"\x06" + len(body).to_bytes(8, "big") + body
    )


def ready(**props: bytes) -> bytes:
    return command(b"\x05READY" + encode_metadata({k.replace("_", "-"): v
                                                   for k, v in props.items()}))


def peer_greeting(minor: int = 1, mechanism: bytes = b"NULL") -> bytes:
    return encode_greeting(mechanism, minor=minor)


def feed_split(conn: Connection, data: bytes, cuts: list[int]) -> list[Event]:
    events: list[Event] = []
    pos = 0
    for size in [*cuts, len(data)]:
        if pos < len(data):
            events += conn.receive_data(data[pos : pos + size])
        pos += size
    return events


def exchange(a: Connection, b: Connection, cuts: list[int]) -> tuple[list[Event], list[Event]]:
    ev_a: list[Event] = []
    ev_b: list[Event] = []
    for _ in range(20):
        da, db = wire(a), wire(b)
        if not da and not db:
            break
        ev_b += feed_split(b, da, cuts)
        ev_a += feed_split(a, db, cuts)
    return ev_a, ev_b


def mechanisms(kind: str) -> tuple[Mechanism, Mechanism]:
    if kind == "NULL":
        return NullMechanism(), NullMechanism()
    return PlainClientMechanism(b"user", b"pw"), PlainServerMechanism(lambda u, p: p == b"pw")


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from(["NULL", "PLAIN"]),
    st.lists(st.integers(1, 80), max_size=30),
    st.lists(st.lists(st.binary(max_size=300), min_size=1, max_size=4), max_size=4),
)
def test_handshake_random_cuts(kind: str, cuts: list[int], messages: list[list[bytes]]) -> None:
    ma, mb = mechanisms(kind)
    a = Connection(SocketType.DEALER, mechanism=ma, routing_id=b"A", metadata={"X-K": b"v"})
    b = Connection(SocketType.ROUTER, mechanism=mb)
    ev_a, ev_b = exchange(a, b, cuts)
    assert ev_a == [HandshakeComplete(SocketType.ROUTER, b"",
                                      {"Socket-Type": b"ROUTER", "Identity": b""}, (3, 1))]
    assert ev_b == [HandshakeComplete(SocketType.DEALER, b"A",
                                      {"Socket-Type": b"DEALER", "Identity": b"A",
                                       "X-K": b"v"}, (3, 1))]
    a.send_messages(messages)
    ev_a, ev_b = exchange(a, b, cuts)
    assert ev_b == [Message(m) for m in messages]


@pytest.mark.parametrize("kind", ["NULL", "PLAIN"])
def test_handshake_byte_by_byte(kind: str) -> None:
    ma, mb = mechanisms(kind)
    a = Connection(SocketType.REQ, mechanism=ma)
    b = Connection(SocketType.REP, mechanism=mb)
    ev_a, ev_b = exchange(a, b, [1] * 10_000)
    assert isinstance(ev_a[-1], HandshakeComplete) and isinstance(ev_b[-1], HandshakeComplete)


@pytest.mark.parametrize(
    ("ours", "theirs", "match"),
    [
        (SocketType.PUSH, b"PUSH", "PUSH cannot talk to a PUSH"),
        (SocketType.PUSH, b"push", "unknown Socket-Type"),
        (SocketType.PUSH, b"BANANA", "unknown Socket-Type"),
    ],
)
def test_bad_socket_type_gets_error_command(ours: SocketType, theirs: bytes, match: str) -> None:
    conn = Connection(ours)
    wire(conn)
    with pytest.raises(ProtocolError, match=match):
        conn.receive_data(peer_greeting() + ready(Socket_Type=theirs))
    assert b"\x05ERROR" in wire(conn)
    assert conn.closed


def test_missing_socket_type() -> None:
    conn = Connection(SocketType.PULL)
    with pytest.raises(ProtocolError, match="no Socket-Type"):
        conn.receive_data(peer_greeting() + ready(X_Other=b"1"))
    assert b"\x05ERROR" in wire(conn)


def test_socket_type_name_lookup_is_case_insensitive() -> None:
    conn = Connection(SocketType.PULL)
    events = conn.receive_data(peer_greeting() + command(
        b"\x05READY" + b"\x0bSOCKET-TYPE\x00\x00\x00\x04PUSH"))
    assert events[0] == HandshakeComplete(SocketType.PUSH, b"", {"SOCKET-TYPE": b"PUSH"}, (3, 1))


def test_message_before_ready() -> None:
    conn = Connection(SocketType.PULL)
    with pytest.raises(ProtocolError, match="before the NULL handshake completed"):
        conn.receive_data(peer_greeting() + b"\x00\x01x")


def test_command_before_handshake() -> None:
    conn = Connection(SocketType.PULL)
    with pytest.raises(ProtocolError, match="expected READY, got 'PING'"):
        conn.receive_data(peer_greeting() + command(b"\x04PING\x00\x00"))


def test_error_instead_of_ready_is_peer_error() -> None:
    conn = Connection(SocketType.PULL)
    events = conn.receive_data(peer_greeting() + command(b"\x05ERROR\x03400") + b"junk")
    assert events == [PeerError("400")]
    assert conn.closed
    assert conn.receive_data(b"late") == []
    with pytest.raises(ProtocolError, match="peer's ERROR"):
        conn.send_message([b"x"])


def test_events_before_violation_are_kept() -> None:
    conn = Connection(SocketType.PULL)
    with pytest.raises(ProtocolError) as info:
        conn.receive_data(peer_greeting() + ready(Socket_Type=b"PUSH") + b"\x00\x01a\xf0\x00")
    assert [type(e) for e in info.value.events] == [HandshakeComplete, Message]
    with pytest.raises(ProtocolError, match="already failed"):
        conn.receive_data(b"\x00\x01a")
    with pytest.raises(ProtocolError):
        conn.send_message([b"x"])


def test_after_handshake_commands() -> None:
    conn = Connection(SocketType.PUB)
    conn.receive_data(peer_greeting() + ready(Socket_Type=b"SUB"))
    wire(conn)
    events = conn.receive_data(
        command(b"\x07UNKNOWNxyz")  # ignored
        + command(b"\x04PING\x00\x1e" + b"c" * 16)
        + command(b"\x04PONGabc")
        + command(b"\x09SUBSCRIBEt")
        + command(b"\x05READY")  # a second READY: unknown at this stage, ignored
    )
    assert events == [Ping(3.0, b"c" * 16), Pong(b"abc"), Subscribe(b"t")]
    assert wire(conn) == command(b"\x04PONG" + b"c" * 16)
    # An over-long context is cut to 16 octets and PONGed, as libzmq 4.3.5 does.
    assert conn.receive_data(command(b"\x04PING\x00\x1e" + b"c" * 17)) == [Ping(3.0, b"c" * 16)]
    assert wire(conn) == command(b"\x04PONG" + b"c" * 16)


def test_subscribe_ignored_by_non_pub() -> None:
    conn = Connection(SocketType.PULL)
    conn.receive_data(peer_greeting() + ready(Socket_Type=b"PUSH"))
    assert conn.receive_data(command(b"\x09SUBSCRIBEt")) == []


def test_zmtp30_peer_gets_subscriptions_as_messages() -> None:
    sub = Connection(SocketType.SUB)
    sub.receive_data(peer_greeting(minor=0) + ready(Socket_Type=b"PUB"))
    assert sub.peer_version == (3, 0)
    wire(sub)
    sub.send_subscribe(b"a")
    sub.send_cancel(b"a")
    sub.send_ping(1.0)  # 3.0 has no PING: nothing goes out
    assert wire(sub) == b"\x00\x02\x01a\x00\x02\x00a"
    sub31 = Connection(SocketType.SUB)
    sub31.receive_data(peer_greeting(minor=1) + ready(Socket_Type=b"PUB"))
    wire(sub31)
    sub31.send_subscribe(b"a")
    sub31.send_ping(1.0)
    assert wire(sub31) == command(b"\x09SUBSCRIBEa") + command(b"\x04PING\x00\x0a")


def test_send_before_handshake_is_local_misuse() -> None:
    conn = Connection(SocketType.PUSH)
    with pytest.raises(RuntimeError, match="handshake"):
        conn.send_message([b"x"])
    conn.receive_data(peer_greeting() + ready(Socket_Type=b"PULL"))
    with pytest.raises(ValueError):
        conn.send_message([])
    with pytest.raises(TypeError):
        conn.send_message(b"not a list")


def test_send_error_closes() -> None:
    conn = Connection(SocketType.PUSH)
    conn.receive_data(peer_greeting() + ready(Socket_Type=b"PULL"))
    wire(conn)
    conn.send_error("going away")
    assert wire(conn) == command(b"\x05ERROR\x0agoing away")
    assert conn.closed
    with pytest.raises(RuntimeError):
        conn.send_message([b"x"])


def test_maxmsgsize_on_connection() -> None:
    # like libzmq, the limit applies to every frame, handshake commands included
    conn = Connection(SocketType.PULL, maxmsgsize=30)
    conn.receive_data(peer_greeting() + ready(Socket_Type=b"PUSH"))
    assert conn.receive_data(b"\x00\x1e" + b"x" * 30) == [Message([b"x" * 30])]
    with pytest.raises(ProtocolError, match="maxmsgsize=30"):
        conn.receive_data(b"\x02" + (2**63 - 1).to_bytes(8, "big"))


def test_pending_frame_buffer_on_connection() -> None:
    conn = Connection(SocketType.PULL)
    conn.receive_data(peer_greeting() + ready(Socket_Type=b"PUSH"))
    assert conn.pending_frame_buffer() is None
    body = bytes(range(256)) * (LARGE_FRAME // 128)
    frame = b"\x02" + len(body).to_bytes(8, "big") + body
    assert conn.receive_data(frame[:1000]) == []
    pos = 1000
    events: list[Event] = []
    while (view := conn.pending_frame_buffer()) is not None:
        n = min(len(view), 40_000)
        view[:n] = frame[pos : pos + n]
        pos += n
        events += conn.frame_data_received(n)
    assert events == [Message([body])]


def test_plain_roles_misconfigured() -> None:
    a = Connection(SocketType.PUSH, mechanism=PlainClientMechanism(b"u", b"p"))
    b = Connection(SocketType.PULL, mechanism=PlainClientMechanism(b"u", b"p"))
    with pytest.raises(ProtocolError, match="both peers are PLAIN clients"):
        exchange(a, b, [])
    a = Connection(SocketType.PUSH, mechanism=PlainServerMechanism())
    b = Connection(SocketType.PULL, mechanism=PlainServerMechanism())
    assert exchange(a, b, []) == ([], [])  # both wait for HELLO: the driver's timeout ends it


def test_plain_server_without_authenticator_accepts_anyone() -> None:
    a = Connection(SocketType.PUSH, mechanism=PlainClientMechanism(b"", b""))
    b = Connection(SocketType.PULL, mechanism=PlainServerMechanism())
    _, ev_b = exchange(a, b, [])
    assert isinstance(ev_b[0], HandshakeComplete)
    server = b.mechanism
    assert isinstance(server, PlainServerMechanism) and server.username == b""


def test_plain_server_can_refuse_everyone_without_authenticator() -> None:
    """What the sockets use: libzmq's PLAIN server without a ZAP handler refuses every
    client, closing without a reply."""
    a = Connection(SocketType.PUSH, mechanism=PlainClientMechanism(b"u", b"p"))
    b = Connection(SocketType.PULL,
                   mechanism=PlainServerMechanism(refuse_without_authenticator=True))
    with pytest.raises(ProtocolError, match="no authenticator"):
        exchange(a, b, [])
    assert b.closed


def test_plain_wire_format() -> None:
    client = Connection(SocketType.PUSH, mechanism=PlainClientMechanism(b"admin", b"secret"))
    wire(client)
    client.receive_data(peer_greeting(mechanism=b"PLAIN"))
    assert wire(client).endswith(command(b"\x05HELLO\x05admin\x06secret"))
    client.receive_data(command(b"\x07WELCOME"))
    assert wire(client) == command(b"\x08INITIATE\x0bSocket-Type\x00\x00\x00\x04PUSH")
    events = client.receive_data(command(b"\x05READY\x0bSocket-Type\x00\x00\x00\x04PULL"))
    assert isinstance(events[0], HandshakeComplete)


def test_one_mechanism_object_serves_many_connections() -> None:
    mech = PlainClientMechanism(b"u", b"p")
    for _ in range(2):
        a = Connection(SocketType.PUSH, mechanism=mech)
        b = Connection(SocketType.PULL, mechanism=PlainServerMechanism())
        ev_a, _ = exchange(a, b, [])
        assert isinstance(ev_a[0], HandshakeComplete)


def test_local_config_errors() -> None:
    with pytest.raises(ValueError):
        Connection(SocketType.PUSH, routing_id=b"x" * 256)
    with pytest.raises(ValueError):
        Connection(SocketType.PUSH, metadata={"socket-type": b"PULL"})
    with pytest.raises(ValueError):
        Connection(SocketType.PUSH, metadata={"bad name": b""})


def test_libzmq_mangled_error_is_an_error() -> None:
    # libzmq 4.3.5's PLAIN server writes "\x05ERROR" as a C literal: 0x5E "RROR"
    conn = Connection(SocketType.DEALER, mechanism=PlainClientMechanism(b"a", b"b"))
    conn.receive_data(peer_greeting(mechanism=b"PLAIN"))
    assert conn.receive_data(b"\x04\x09^RROR\x03400") == [PeerError("400")]


def test_large_message_before_handshake_refused_from_header() -> None:
    conn = Connection(SocketType.PULL)
    with pytest.raises(ProtocolError, match="before the handshake"):
        conn.receive_data(peer_greeting() + b"\x02" + (1 << 30).to_bytes(8, "big") + b"x")


def test_authenticate_callable_raising_closes_connection() -> None:
    def broken(user: bytes, password: bytes) -> bool:
        raise KeyError("user database down")

    a = Connection(SocketType.PUSH, mechanism=PlainClientMechanism(b"u", b"p"))
    b = Connection(SocketType.PULL, mechanism=PlainServerMechanism(broken))
    with pytest.raises(KeyError):
        exchange(a, b, [])
    assert b.closed
    with pytest.raises(ProtocolError, match="KeyError"):
        b.receive_data(b"x")
