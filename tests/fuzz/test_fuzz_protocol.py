"""Fuzzing the sans-IO core with hypothesis: nothing but ProtocolError may escape.

Inputs are arbitrary byte streams and mutations (flips, insertions, deletions,
truncations, splices) of valid transcripts recorded from real handshakes between two
Connections, fed to both ends in random cuts.  After every call the buffered input must
stay within its bound, and after a ProtocolError the connection must stay closed.
Example counts are sized so the whole file runs well under a minute on a small
shared machine; tools/fuzz_atheris.py is the place for long runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zmtp.errors import ProtocolError
from zmtp.protocol import (
    LARGE_FRAME,
    Connection,
    Event,
    Mechanism,
    NullMechanism,
    PlainClientMechanism,
    PlainServerMechanism,
    SocketType,
)
from zmtp.protocol.frames import FrameDecoder

FUZZ = settings(
    max_examples=700,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass(frozen=True)
class Setup:
    name: str
    make_a: Callable[[], Connection]
    make_b: Callable[[], Connection]


def _plain_server() -> Mechanism:
    return PlainServerMechanism(lambda user, password: password == b"pw")


SETUPS = [
    Setup(
        "null-dealer-router",
        lambda: Connection(SocketType.DEALER, routing_id=b"id", metadata={"X-A": b"1"}),
        lambda: Connection(SocketType.ROUTER),
    ),
    Setup(
        "plain-req-rep",
        lambda: Connection(SocketType.REQ, mechanism=PlainClientMechanism(b"u", b"pw")),
        lambda: Connection(SocketType.REP, mechanism=_plain_server()),
    ),
    Setup(
        "null-sub-pub",
        lambda: Connection(SocketType.SUB),
        lambda: Connection(SocketType.PUB),
    ),
    Setup(
        "small-limit",
        lambda: Connection(SocketType.PUSH, maxmsgsize=300),
        lambda: Connection(SocketType.PULL, maxmsgsize=300),
    ),
]


def _record(setup: Setup) -> tuple[bytes, bytes]:
    """Run a real exchange and return the bytes each side sent (a->b, b->a)."""
    a, b = setup.make_a(), setup.make_b()
    sent_a, sent_b = bytearray(), bytearray()

    def pump() -> None:
        for _ in range(20):
            da = b"".join(bytes(c) for c in a.data_to_send())
            db = b"".join(bytes(c) for c in b.data_to_send())
            if not da and not db:
                return
            sent_a.extend(da)
            sent_b.extend(db)
            if da:
                b.receive_data(da)
            if db:
                a.receive_data(db)

    pump()
    assert a.handshake_complete and b.handshake_complete, setup.name
    a.send_message([b"a", b"", b"x" * 280])
    a.send_messages([[b"one"], [b"\x01topic"]])
    b.send_message([b"reply", b"y" * 40])
    a.send_ping(2.0, b"ctx")
    if a.socket_type == SocketType.SUB:
        a.send_subscribe(b"t")
        a.send_cancel(b"t")
    pump()
    return bytes(sent_a), bytes(sent_b)


TRANSCRIPTS = {s.name: _record(s) for s in SETUPS}

ZMTP2 = (
    b"\xff" + bytes(8) + b"\x7f\x01\x05\x00\x02id"  # 2.0 DEALER, identity "id"
    + b"\x01\x00\x00\x03abc\x02" + (300).to_bytes(8, "big") + b"L" * 300
)


FIRST_LARGE_ALLOC = 1 << 20


def check_bounds(buffered: int, allocated: int, limit: int) -> None:
    """The input-buffer invariants.

    An incomplete small frame is kept whole (< LARGE_FRAME + 9 octets); a large body holds
    only what has arrived, in a buffer at most twice that (or the first 1 MiB); with a
    limit nothing beyond one frame of it (+ header) is held; the greeting is <= 64 octets.
    """
    if limit >= 0:
        assert buffered <= max(limit + 9, 64), (buffered, limit)
    assert allocated <= max(2 * buffered, FIRST_LARGE_ALLOC) + LARGE_FRAME + 9, (
        allocated, buffered)


def feed(conn: Connection, data: bytes, cuts: list[int]) -> None:
    """Feed in pieces; only ProtocolError may escape; check bounds and closed-for-good."""
    pos = 0
    try:
        for size in [*cuts, len(data)]:
            if pos >= len(data):
                break
            chunk = data[pos : pos + size]
            pos += size
            events = conn.receive_data(chunk)
            assert all(isinstance(e, Event) for e in events)
            check_bounds(conn.buffered, conn.allocated, conn.maxmsgsize)
            conn.data_to_send()
        conn.receive_data(b"")
    except ProtocolError as exc:
        assert conn.closed
        assert all(isinstance(e, Event) for e in exc.events)
        conn.data_to_send()  # a last ERROR may be queued; draining must work
        try:
            conn.receive_data(b"\x00\x01x")
        except ProtocolError:
            pass
        else:
            raise AssertionError("a failed connection accepted more input") from None


def _conn_for(name: str, side: str) -> Connection:
    setup = next(s for s in SETUPS if s.name == name)
    # Bytes sent by a are received by b and vice versa.
    return setup.make_b() if side == "a" else setup.make_a()


mutation = st.tuples(
    st.sampled_from(["flip", "set", "insert", "delete", "truncate", "dup"]),
    st.integers(0, 10_000),
    st.integers(0, 255),
)


def mutate(data: bytes, mutations: list[tuple[str, int, int]]) -> bytes:
    buf = bytearray(data)
    for kind, where, value in mutations:
        if not buf:
            break
        i = where % len(buf)
        if kind == "flip":
            buf[i] ^= 1 << (value % 8)
        elif kind == "set":
            buf[i] = value
        elif kind == "insert":
            buf[i:i] = bytes([value]) * (1 + value % 4)
        elif kind == "delete":
            del buf[i : i + 1 + value % 8]
        elif kind == "truncate":
            del buf[i:]
        else:
            buf[i:i] = buf[i : i + 1 + value % 32]
    return bytes(buf)


cuts_st = st.lists(st.integers(1, 200), max_size=40)


@FUZZ
@given(
    st.sampled_from(sorted(TRANSCRIPTS)),
    st.sampled_from(["a", "b"]),
    st.lists(mutation, min_size=1, max_size=6),
    cuts_st,
)
def test_mutated_transcripts(name: str, side: str, mutations: list[tuple[str, int, int]],
                             cuts: list[int]) -> None:
    sent_a, sent_b = TRANSCRIPTS[name]
    data = sent_a if side == "a" else sent_b
    feed(_conn_for(name, side), mutate(data, mutations), cuts)


@FUZZ
@given(st.lists(mutation, max_size=6), cuts_st,
       st.sampled_from([SocketType.ROUTER, SocketType.PUB, SocketType.PULL]))
def test_mutated_zmtp2(mutations: list[tuple[str, int, int]], cuts: list[int],
                       ours: SocketType) -> None:
    feed(Connection(ours), mutate(ZMTP2, mutations), cuts)


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(sorted(TRANSCRIPTS)), st.sampled_from(["a", "b"]), cuts_st)
def test_unmutated_transcripts_never_fail(name: str, side: str, cuts: list[int]) -> None:
    sent_a, sent_b = TRANSCRIPTS[name]
    conn = _conn_for(name, side)
    pos = 0
    for size in [*cuts, len(sent_a)]:
        data = sent_a if side == "a" else sent_b
        if pos < len(data):
            conn.receive_data(data[pos : pos + size])
        pos += size
    assert conn.handshake_complete and not conn.closed


prefix_st = st.sampled_from(
    [b"", b"\xff" + bytes(8) + b"\x7f", b"\xff" + bytes(8) + b"\x7f\x03",
     TRANSCRIPTS["null-dealer-router"][0][:64], TRANSCRIPTS["plain-req-rep"][0][:64]]
)


@FUZZ
@given(prefix_st, st.binary(max_size=400), cuts_st,
       st.sampled_from(["null", "plain-client", "plain-server"]), st.sampled_from([-1, 100]),
       st.booleans())
def test_arbitrary_bytes(prefix: bytes, tail: bytes, cuts: list[int], mech: str,
                         limit: int, batch: bool) -> None:
    mechanism: Mechanism = {
        "null": NullMechanism(),
        "plain-client": PlainClientMechanism(b"u", b"p"),
        "plain-server": _plain_server(),
    }[mech]
    feed(Connection(SocketType.DEALER, mechanism=mechanism, maxmsgsize=limit,
                    batch_messages=batch), prefix + tail, cuts)


@FUZZ
@given(st.binary(max_size=600), cuts_st, st.booleans(), st.booleans(),
       st.sampled_from([-1, 0, 50, 1 << 20]), st.booleans())
def test_frame_decoder(data: bytes, cuts: list[int], v2: bool, subs: bool, limit: int,
                       batch: bool) -> None:
    def on_command(body: bytes, events: list[Event]) -> bool:
        return body[:1] == b"\x05"

    dec = FrameDecoder(maxmsgsize=limit, on_command=on_command, v2=v2, subscriptions=subs,
                       batch=batch)
    events: list[Event] = []
    pos = 0
    try:
        for size in [*cuts, len(data)]:
            dec.feed(data[pos : pos + size], events)
            pos += size
            check_bounds(dec.buffered, dec.allocated, limit)
            view = dec.pending_buffer()
            if view is not None:
                assert len(view) <= 1 << 21
    except ProtocolError:
        pass


def _large_transcript() -> bytes:
    a = Connection(SocketType.PUSH)
    b = Connection(SocketType.PULL)
    sent = bytearray()
    for _ in range(10):
        da = b"".join(bytes(c) for c in a.data_to_send())
        db = b"".join(bytes(c) for c in b.data_to_send())
        sent += da
        if da:
            b.receive_data(da)
        if db:
            a.receive_data(db)
    a.send_messages([[b"head", b"L" * (LARGE_FRAME + 100)], [b"tail"], [b"\x07" * 300]])
    sent += b"".join(bytes(c) for c in a.data_to_send())
    return bytes(sent)


LARGE = _large_transcript()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(mutation, max_size=4), st.lists(st.integers(1, 40_000), min_size=1, max_size=30),
       st.sampled_from([-1, 70_000, LARGE_FRAME + 200]))
def test_large_frames_via_pending_buffer(mutations: list[tuple[str, int, int]],
                                         reads: list[int], limit: int) -> None:
    """A driver that recv_into()s large bodies: the two input paths must agree on bounds."""
    data = mutate(LARGE, mutations)
    conn = Connection(SocketType.PULL, maxmsgsize=limit)
    pos = 0
    i = 0
    try:
        while pos < len(data):
            want = reads[i % len(reads)]
            i += 1
            view = conn.pending_frame_buffer()
            if view is not None:
                n = min(len(view), want, len(data) - pos)
                view[:n] = data[pos : pos + n]
                events = conn.frame_data_received(n)
            else:
                n = min(want, len(data) - pos)
                events = conn.receive_data(data[pos : pos + n])
            pos += n
            assert all(isinstance(e, Event) for e in events)
            check_bounds(conn.buffered, conn.allocated, limit)
        conn.receive_data(b"")
    except ProtocolError:
        assert conn.closed
