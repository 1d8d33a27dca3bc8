"""Framing (RFC 23/37 section "Framing"; RFC 15 for 2.0): decoder and encoder."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zmtp.errors import ProtocolError
from zmtp.protocol import Cancel, Connection, Event, Message, MessageBatch, SocketType, Subscribe
from zmtp.protocol import frames as frames_module
from zmtp.protocol.frames import (
    LARGE_FRAME,
    ZERO_COPY_THRESHOLD,
    Encoded,
    FrameDecoder,
    FrameEncoder,
    encode_frame,
    encode_message,
)


def decode(data: bytes, **kwargs: object) -> tuple[list[Event], list[bytes]]:
    commands: list[bytes] = []

    def on_command(body: bytes, events: list[Event]) -> bool:
        commands.append(body)
        return False

    dec = FrameDecoder(on_command=on_command, **kwargs)  # type: ignore[arg-type]
    events: list[Event] = []
    dec.feed(data, events)
    return events, commands


def feed_in_cuts(dec: FrameDecoder, wire: bytes, cuts: list[int]) -> list[Event]:
    """Feed ``wire`` in pieces of the sizes in ``cuts``, then the rest."""
    events: list[Event] = []
    pos = 0
    for size in cuts:
        dec.feed(wire[pos : pos + size], events)
        pos += size
    dec.feed(wire[pos:], events)
    return events


def encode(*messages: list[bytes]) -> bytes:
    enc = FrameEncoder()
    enc.messages(messages)
    return b"".join(bytes(c) for c in enc.drain())


# -- byte strings from the RFC grammar ---------------------------------------------------

def test_short_frame() -> None:
    # final-short = %x00 short-size ; short-size = OCTET
    assert encode([b"Hello"]) == b"\x00\x05Hello"
    assert decode(b"\x00\x05Hello")[0] == [Message([b"Hello"])]


def test_empty_frame() -> None:
    assert encode([b""]) == b"\x00\x00"
    assert decode(b"\x00\x00")[0] == [Message([b""])]


def test_long_frame() -> None:
    # final-long = %x02 long-size ; long-size = 8OCTET (network order)
    body = bytes(range(256)) * 2
    wire = b"\x02\x00\x00\x00\x00\x00\x00\x02\x00" + body
    assert encode([body]) == wire
    assert decode(wire)[0] == [Message([body])]
    # a long header for a short body is legal too (writers SHOULD, not MUST, use short)
    assert decode(b"\x02" + (3).to_bytes(8, "big") + b"abc")[0] == [Message([b"abc"])]


def test_multipart() -> None:
    # more-short = %x01 short-size
    wire = b"\x01\x01a\x01\x00\x00\x01b"
    assert encode([b"a", b"", b"b"]) == wire
    assert decode(wire)[0] == [Message([b"a", b"", b"b"])]
    # a long MORE frame is %x03
    body = b"x" * 300
    assert encode([body, b""]) == b"\x03" + (300).to_bytes(8, "big") + body + b"\x00\x00"


def test_command_frames() -> None:
    # command = command-size command-body ; short %x04, long %x06
    events, commands = decode(b"\x04\x05\x04PING" + b"\x06" + (4).to_bytes(8, "big") + b"\x03ABC")
    assert events == [] and commands == [b"\x04PING", b"\x03ABC"]


@pytest.mark.parametrize("flags", [0x08, 0x10, 0x20, 0x40, 0x80, 0xFF])
def test_reserved_flag_bits(flags: int) -> None:
    with pytest.raises(ProtocolError, match="reserved"):
        decode(bytes([flags, 0]))


def test_command_bit_reserved_in_zmtp2() -> None:
    with pytest.raises(ProtocolError, match=r"ZMTP/2\.0"):
        decode(b"\x04\x00", v2=True)


def test_command_with_more_refused() -> None:
    with pytest.raises(ProtocolError, match="MORE"):
        decode(b"\x05\x01a")
    with pytest.raises(ProtocolError, match="middle of a multipart"):
        decode(b"\x01\x01a\x04\x01a")


def test_every_cut_point() -> None:
    wire = encode([b"a", b"", b"b" * 300], [b"single"], [b"x" * 1000])
    expected = [Message([b"a", b"", b"b" * 300]), Message([b"single"]), Message([b"x" * 1000])]
    for cut in range(len(wire) + 1):
        dec = FrameDecoder()
        events: list[Event] = []
        dec.feed(wire[:cut], events)
        dec.feed(wire[cut:], events)
        assert events == expected, cut
    dec = FrameDecoder()
    events = []
    for i in range(len(wire)):
        dec.feed(wire[i : i + 1], events)
    assert events == expected


def test_subscription_messages_for_pub() -> None:
    events, _ = decode(b"\x00\x04\x01abc\x00\x01\x00\x00\x02\x02x\x01\x01\x01\x00\x00",
                       subscriptions=True)
    assert events == [Subscribe(b"abc"), Cancel(b""), Message([b"\x02x"]),
                      Message([b"\x01", b""])]


# -- limits --------------------------------------------------------------------------------

def test_maxmsgsize_checked_from_header() -> None:
    assert decode(b"\x00\x03abc", maxmsgsize=3)[0] == [Message([b"abc"])]
    with pytest.raises(ProtocolError, match="maxmsgsize=3"):
        decode(b"\x00\x04", maxmsgsize=3)  # header alone, body never arrived
    with pytest.raises(ProtocolError, match="maxmsgsize"):
        decode(b"\x02" + (1 << 40).to_bytes(8, "big"), maxmsgsize=1 << 20)


def test_huge_header_fails_instantly() -> None:
    header = b"\x02" + (2**63 - 1).to_bytes(8, "big")
    t0 = time.perf_counter()
    with pytest.raises(ProtocolError, match="maxmsgsize"):
        decode(header, maxmsgsize=1 << 30)
    assert time.perf_counter() - t0 < 0.5


def test_huge_header_without_limit_allocates_only_what_arrives() -> None:
    dec = FrameDecoder()
    events: list[Event] = []
    # As big as memory allows (more fails at once, below): only what arrived is held.
    dec.feed(b"\x02" + frames_module._NO_LIMIT.to_bytes(8, "big") + b"abc", events)
    assert events == [] and dec.buffered == 3
    view = dec.pending_buffer()
    assert view is not None and len(view) <= 1 << 21  # a modest first allocation


def test_header_beyond_memory_fails_at_once_without_limit() -> None:
    """2**63-1 octets can never be held: refused at once (libzmq's allocation fails)."""
    with pytest.raises(ProtocolError, match="memory"):
        FrameDecoder().feed(b"\x02" + (2**63 - 1).to_bytes(8, "big"), [])


# -- large frames straight into their buffer -----------------------------------------------

def test_large_frame_pending_buffer() -> None:
    body = bytes(range(256)) * (LARGE_FRAME // 256 * 5)
    wire = encode([b"head", body]) + encode([b"next"])
    dec = FrameDecoder()
    events: list[Event] = []
    split = 6 + 9 + 100  # "head" frame, long header, 100 body octets
    dec.feed(wire[:split], events)
    assert dec.pending_buffer() is None or events == []
    pos = split
    body_end = 6 + 9 + len(body)
    while (view := dec.pending_buffer()) is not None:
        n = min(len(view), 70_000, body_end - pos)
        view[:n] = wire[pos : pos + n]
        pos += n
        dec.buffer_filled(n, events)
    assert pos == body_end
    dec.feed(wire[pos:], events)
    assert events == [Message([b"head", body]), Message([b"next"])]


def test_large_frame_via_feed_in_small_pieces() -> None:
    body = b"z" * (LARGE_FRAME * 3 + 17)
    wire = encode([body]) * 2
    dec = FrameDecoder()
    events: list[Event] = []
    for i in range(0, len(wire), 5000):
        dec.feed(wire[i : i + 5000], events)
    assert events == [Message([body]), Message([body])]
    assert dec.buffered == 0


@pytest.mark.parametrize("size", [LARGE_FRAME, 300_000, (1 << 20) + 12_345, 3 << 20])
def test_large_frames_are_plain_bytes(size: int) -> None:
    """Received in place (no copy at the end) yet a real, hashable, immutable ``bytes``,
    also when the body outgrows the first allocation (above 1 MiB)."""
    body = bytes(range(251)) * (size // 251) + b"t" * (size % 251)
    wire = encode([body]) + encode([body[::-1]])
    dec = FrameDecoder(batch=True, bare=True)
    events: list[Event] = []
    pos = 4096
    dec.feed(wire[:pos], events)
    while (view := dec.pending_buffer()) is not None:
        n = min(len(view), 200_000)
        view[:n] = wire[pos : pos + n]
        pos += n
        dec.buffer_filled(n, events)
    dec.feed(wire[pos:], events)
    frames = [m for e in events for m in e.messages]  # type: ignore[attr-defined]
    assert [type(f) for f in frames] == [bytes, bytes]
    assert frames == [body, body[::-1]]
    assert hash(frames[0]) == hash(bytes(bytearray(body)))
    assert {frames[0]: 1}[body] == 1
    assert dec.buffered == 0 and dec.allocated == 0


def test_fresh_bytes_refuses_shared_singletons() -> None:
    fresh = frames_module._fresh_bytes
    if fresh is None:
        pytest.skip("no ctypes.pythonapi here: large bodies are copied instead")
    with pytest.raises(ValueError):
        fresh(1)
    obj, view = fresh(5)
    view[:] = b"hello"
    assert obj == b"hello" and len(view) == 5


# -- encoder -------------------------------------------------------------------------------

def test_encoder_zero_copy() -> None:
    big = bytearray(b"q" * ZERO_COPY_THRESHOLD)
    enc = FrameEncoder()
    enc.messages([[b"a", big, b"b"], [b"c"]])
    chunks = enc.drain()
    assert len(chunks) == 3
    assert chunks[1] is big  # the caller's object, not a copy
    assert bytes(chunks[0]) == b"\x01\x01a\x03" + len(big).to_bytes(8, "big")
    assert bytes(chunks[2]) == b"\x00\x01b\x00\x01c"
    assert enc.drain() == []


def test_encoder_coalesces_small_frames() -> None:
    enc = FrameEncoder()
    enc.messages([[b"x" * 100]] * 50)
    chunks = enc.drain()
    assert len(chunks) == 1 and len(chunks[0]) == 50 * 102


def test_encoder_memoryview_of_wide_items() -> None:
    import array

    arr = array.array("i", [1, 2, 3])
    assert encode([memoryview(arr)]) == b"\x00\x0c" + arr.tobytes()  # type: ignore[list-item]


def test_encode_frame_helper() -> None:
    assert encode_frame(b"id") == b"\x00\x02id"
    assert encode_frame(b"\x05READY", 0x04) == b"\x04\x06\x05READY"
    assert encode_frame(b"x" * 256)[:9] == b"\x02" + (256).to_bytes(8, "big")


# -- hypothesis round trips ----------------------------------------------------------------

frame_st = st.one_of(
    st.binary(max_size=20), st.binary(min_size=250, max_size=300), st.binary(max_size=2000)
)
message_st = st.lists(frame_st, min_size=1, max_size=5)


@settings(max_examples=150, deadline=None)
@given(st.lists(message_st, max_size=8), st.lists(st.integers(1, 700), max_size=12))
def test_roundtrip_random_cuts(messages: list[list[bytes]], cuts: list[int]) -> None:
    wire = encode(*messages) if messages else b""
    dec = FrameDecoder()
    events = feed_in_cuts(dec, wire, cuts)
    assert events == [Message(m) for m in messages]
    assert dec.buffered == 0 and not dec.mid_message


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(message_st, st.booleans()), max_size=10))
def test_encoded_messages_write_the_same_octets(messages: list[tuple[list[bytes], bool]]) -> None:
    """``encode_message`` frames a message once (a PUB's many connections share it); a
    batch mixing Encoded and plain messages, or of Encoded only, writes what plain
    messages would."""
    plain = [m for m, _ in messages]
    mixed = [encode_message(m) if pre else m for m, pre in messages]
    assert all(type(encode_message(m)) is Encoded for m in plain)
    expected = encode(*plain) if plain else b""
    for batch in (mixed, [encode_message(m) for m in plain]):
        enc = FrameEncoder()
        enc.messages(batch)  # type: ignore[arg-type]
        assert b"".join(bytes(c) for c in enc.drain()) == expected
    dec = FrameDecoder()
    events: list[Event] = []
    dec.feed(b"".join(encode_message(m) for m in plain), events)
    assert events == [Message(m) for m in plain]


def test_feed_accepts_any_buffer() -> None:
    import array

    body = b"w" * (LARGE_FRAME + 4)
    wire = encode([body], [b"abcd"])
    wire += encode([b"p" * ((-(len(wire) + 2)) % 4)])  # pad to whole 4-octet items
    words = array.array("i")
    words.frombytes(wire)
    dec = FrameDecoder()
    events: list[Event] = []
    view = memoryview(words)
    half = len(view) // 2
    dec.feed(view[:half], events)
    dec.feed(bytearray(view[half:].tobytes()), events)
    assert events[:2] == [Message([body]), Message([b"abcd"])]


def test_bad_frame_leaves_no_half_message() -> None:
    enc = FrameEncoder()
    enc.messages([[b"ok"]])
    big = b"B" * ZERO_COPY_THRESHOLD
    for bad in ([b"a", big, 123], [b"a", 1.5], [object()]):
        with pytest.raises(TypeError):
            enc.messages([[b"fine"], bad])
    with pytest.raises(ValueError):
        enc.messages([[b"x", b"y"], []])
    assert b"".join(bytes(c) for c in enc.drain()) == (
        b"\x00\x02ok" + b"\x00\x04fine" * 3 + b"\x01\x01x\x00\x01y"
    )


# -- batch mode (MessageBatch) -----------------------------------------------------------


def _flatten(events: list[Event], bare: bool = False) -> list[Event]:
    """Batch-mode events as the default mode reports them (one Message per message),
    checking each item's form: a tuple, or with ``bare`` a one-frame message's bytes."""
    flat: list[Event] = []
    for event in events:
        if isinstance(event, MessageBatch):
            assert event.messages, "an empty MessageBatch is never reported"
            for item in event.messages:
                if isinstance(item, bytes):
                    assert bare, "bytes in a MessageBatch of a decoder without bare"
                    flat.append(Message([item]))
                else:
                    assert type(item) is tuple
                    assert not (bare and len(item) == 1), "a bare one-frame message is bytes"
                    flat.append(Message(list(item)))
        else:
            flat.append(event)
    return flat


#: (batch, bare): the decoder's three modes.
MODES = [(False, False), (True, False), (True, True)]


def test_batch_mode_keeps_order_around_other_events() -> None:
    wire = (encode([b"m1"], [b"m2", b"more"]) + b"\x00\x04\x01abc" + encode([b"m3"])
            + b"\x04\x04PING" + encode([b"m4"], [b"\x00x", b"y"]) + b"\x00\x01\x00")
    events, commands = decode(wire, subscriptions=True, batch=True)
    assert commands == [b"PING"]
    assert events == [
        MessageBatch([(b"m1",), (b"m2", b"more")]),  # tuples: see MessageBatch
        Subscribe(b"abc"),
        MessageBatch([(b"m3",)]),  # a command ends a batch: its handler may add events
        MessageBatch([(b"m4",), (b"\x00x", b"y")]),
        Cancel(b""),
    ]
    events, _ = decode(encode(*([[b"x"]] * 5)), batch=True)
    assert events == [MessageBatch([(b"x",)] * 5)]


def test_bare_mode_one_frame_messages_are_their_bytes() -> None:
    wire = (encode([b"m1"], [b"m2", b"more"], [b""], [b"", b""]) + b"\x00\x04\x01abc"
            + encode([b"m3"]) + b"\x04\x04PING" + encode(*([[b"x"]] * 40), [b"L" * 300]))
    events, commands = decode(wire, subscriptions=True, batch=True, bare=True)
    assert commands == [b"PING"]
    assert events == [
        # an empty frame is b"" alone; two empty frames stay a 2-tuple
        MessageBatch([b"m1", (b"m2", b"more"), b"", (b"", b"")]),
        Subscribe(b"abc"),
        MessageBatch([b"m3"]),
        MessageBatch([*([b"x"] * 40), b"L" * 300]),  # a run, then a long frame
    ]
    with pytest.raises(ValueError, match="batch"):
        FrameDecoder(bare=True)
    with pytest.raises(ValueError, match="batch_messages"):
        Connection(SocketType.PULL, bare_single_frames=True)


@settings(max_examples=150, deadline=None)
@given(st.lists(message_st, max_size=8), st.lists(st.integers(1, 700), max_size=12))
def test_batch_mode_same_messages_as_default(
    messages: list[list[bytes]], cuts: list[int]
) -> None:
    wire = encode(*messages) if messages else b""
    big = encode([b"L" * LARGE_FRAME], [b"after"])
    wire = wire + big + wire
    expected = [*messages, [b"L" * LARGE_FRAME], [b"after"], *messages]
    for bare in (False, True):
        dec = FrameDecoder(batch=True, bare=bare)
        events = feed_in_cuts(dec, wire, cuts)
        assert _flatten(events, bare) == [Message(m) for m in expected]
        assert all(isinstance(e, MessageBatch) for e in events)
        assert dec.buffered == 0 and not dec.mid_message


@pytest.mark.parametrize("bare", [False, True])
def test_batch_mode_through_connection_and_errors(bare: bool) -> None:
    a = Connection(SocketType.PUSH)
    b = Connection(SocketType.PULL, batch_messages=True, bare_single_frames=bare)
    for _ in range(4):
        for src, dst in ((a, b), (b, a)):
            for chunk in src.data_to_send():
                dst.receive_data(bytes(chunk))
    assert b.handshake_complete
    a.send_messages([[b"one"], [b"two", b""]])
    wire = b"".join(bytes(c) for c in a.data_to_send())
    # bare (the trio engine's choice): a one-frame message is its bytes
    batch = MessageBatch([b"one" if bare else (b"one",), (b"two", b"")])
    assert b.receive_data(wire) == [batch]
    # Messages parsed before a violation travel with the ProtocolError, batched too.
    with pytest.raises(ProtocolError) as info:
        b.receive_data(wire + b"\xff\x00")
    assert info.value.events == [batch]


# -- runs of equal frames (unpacked a window at a time) ----------------------------------

def _recorder(commands: list[bytes]) -> Callable[[bytes, list[Event]], bool]:
    def on_command(body: bytes, events: list[Event]) -> bool:
        commands.append(body)
        return False

    return on_command


run_st = st.tuples(st.integers(0, 255), st.integers(1, 300), st.binary(max_size=3))


@settings(max_examples=150, deadline=None)
@given(st.lists(run_st, max_size=6), st.lists(st.integers(1, 5000), max_size=12))
def test_runs_of_equal_frames_decode_as_frame_by_frame(
    runs: list[tuple[int, int, bytes]], cuts: list[int]
) -> None:
    # Runs of one size, each followed by an odd message (another size, a multipart, or
    # a command) that ends the run somewhere inside a probe window.
    messages: list[list[bytes]] = []
    for size, count, odd in runs:
        messages += [[bytes([count % 256]) * size] for _ in range(count)]
        messages.append([odd, b"tail"] if len(odd) == 2 else [odd * 300])
    wire = encode(*messages) if messages else b""
    wire += b"\x04\x04PING" + wire
    expected = [Message(m) for m in messages] * 2
    for batch, bare in MODES:
        commands: list[bytes] = []
        dec = FrameDecoder(batch=batch, bare=bare, on_command=_recorder(commands))
        events = feed_in_cuts(dec, wire, cuts)
        assert (_flatten(events, bare) if batch else events) == expected
        assert commands == [b"PING"]
        assert dec.buffered == 0 and not dec.mid_message


def test_run_stops_at_a_bad_header_and_keeps_what_came_before() -> None:
    good = [[b"r" * 16]] * 100
    wire = encode(*good)
    # Where the 101st header of the run would be: reserved flag bits, same size octet.
    bad = wire + b"\x08\x10" + b"r" * 16 + encode(*good)
    for bare in (False, True):
        dec = FrameDecoder(batch=True, bare=bare)
        events: list[Event] = []
        with pytest.raises(ProtocolError, match="reserved"):
            dec.feed(bad, events)
        assert _flatten(events, bare) == [Message(m) for m in good]
        # A run that ends in a different size, a multipart or a long frame: nothing lost.
        for tail in ([b"x" * 17], [b"r" * 16, b"more"], [b"L" * 300]):
            events, _ = decode(encode(*good, tail, *good), batch=True, bare=bare)
            assert _flatten(events, bare) == [Message(m) for m in [*good, tail, *good]]


def test_runs_cost_mixed_traffic_no_probe_per_frame() -> None:
    # The probe for a run backs off while none shows up: frames of alternating sizes
    # are parsed frame by frame with a probe only every so many octets.
    probes = 0
    take = frames_module._Runs.take

    def counting(self: frames_module._Runs, pos: int, extend: object) -> int:
        nonlocal probes
        probes += 1
        return take(self, pos, extend)  # type: ignore[arg-type]

    frames_module._Runs.take = counting  # type: ignore[method-assign]
    try:
        sizes = [i % 7 for i in range(20_000)]
        events, _ = decode(encode(*[[b"z" * s] for s in sizes]), batch=True)
    finally:
        frames_module._Runs.take = take  # type: ignore[method-assign]
    assert len(_flatten(events)) == len(sizes)
    assert probes < 20
