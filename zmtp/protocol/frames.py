"""ZMTP frames: the incremental decoder and the coalescing, zero-copy encoder.

This is the hot path of the whole library, so it is written for speed on purpose: one
tight loop per ``feed()`` over a single ``bytes`` object, local variables only, no
function call per frame (``Message`` objects are built by writing their slot directly),
and body slices taken straight from the received buffer (one copy: the one that makes the
frame a ``bytes``).  In batch mode no event object is made per message at all: a run of
messages is one ``MessageBatch``, each message only the list of its frames.  That matters
most when many messages stay alive at once, because CPython's cyclic GC keeps walking
every container object that survives.

Framing (RFC 23/37 and RFC 15): a flags octet (bit0 MORE, bit1 LONG, bit2 COMMAND; the
rest reserved), a 1-octet or 8-octet big-endian size, then the body.  ZMTP/2.0 has no
COMMAND bit, so for a 2.0 peer bit 2 counts as reserved too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from struct import Struct
from typing import Any

from ..errors import ProtocolError
from .events import (
    Cancel,
    Event,
    Message,
    MessageBatch,
    Subscribe,
    _new_message,
    _set_frames,
)

__all__ = [
    "COMMAND",
    "LARGE_FRAME",
    "LONG",
    "MORE",
    "ZERO_COPY_THRESHOLD",
    "Encoded",
    "FrameDecoder",
    "FrameEncoder",
    "encode_frame",
    "encode_message",
]

MORE = 0x01
LONG = 0x02
COMMAND = 0x04
RESERVED_V3 = 0xF8
RESERVED_V2 = 0xFC

#: Bodies at least this big are received into their own buffer (``pending_frame_buffer``),
#: so a driver can ``recv_into()`` them instead of concatenating 64 KiB reads.
LARGE_FRAME = 64 * 1024

#: Payloads at least this big are handed back to the driver as the caller's own object
#: (scatter/gather) instead of being copied into the coalescing buffer.  Measured here
#: (encode + drain + sendmsg to a socketpair, batches of 32): passing through already
#: wins from 4 KiB (860k vs 600k msg/s) and 8 KiB (510k vs 370k); 8 KiB keeps the iovec
#: lists short for mid-size traffic, where the driver pays per chunk on partial writes.
ZERO_COPY_THRESHOLD = 8 * 1024

#: First allocation for a large body whose bytes have not arrived yet.  The buffer then
#: grows (doubling) only as data really arrives, so a header announcing 2**63-1 octets
#: with no ``maxmsgsize`` costs this much memory, never what the header claims.
_LARGE_INITIAL_ALLOC = 1 << 20


def _memory_size() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 1 << 48


#: Without ``maxmsgsize``, a frame announcing more octets than this machine has memory can
#: never be received: it fails at once, as in libzmq (whose allocation of it fails), instead
#: of holding the connection open while the peer streams toward an inevitable MemoryError.
_NO_LIMIT = _memory_size()

#: Runs of equal short single-frame messages are unpacked a window at a time by
#: ``struct.iter_unpack`` (about 100 ns a message here instead of 300): the window
#: starts small and doubles while the traffic keeps being one run.
_RUN_WINDOW_MIN = 16
_RUN_WINDOW_MAX = 4096
_RUN_MIN = 8  # shorter runs go frame by frame
#: Octets between probes for a run: at least one whole short frame (so that the frame
#: loop always makes progress), doubling while no run shows up.
_RUN_BACKOFF_MIN = 512
_RUN_BACKOFF_MAX = 64 * 1024
_RunUnpacker = Callable[[memoryview], Iterable["tuple[bytes] | bytes"]]
_RUN_UNPACKERS: dict[tuple[int, bool], _RunUnpacker] = {}
_first = itemgetter(0)


def _run_unpacker(size: int, bare: bool) -> _RunUnpacker:
    """``iter_unpack`` for frames of ``size`` octets with their 2-octet header: it yields
    each body as a 1-tuple, which is exactly a one-frame message of a MessageBatch (or,
    ``bare``, the body itself, taken out of the tuple in C)."""
    unpack = _RUN_UNPACKERS.get((size, bare))
    if unpack is None:
        tuples = Struct(f"2x{size}s").iter_unpack
        if bare:

            def unpack(view: memoryview) -> Iterable[bytes]:
                return map(_first, tuples(view))

        else:
            unpack = tuples
        _RUN_UNPACKERS[size, bare] = unpack
    return unpack


class _Runs:
    """Finds runs of equal short final frames in one buffer and unpacks them in C.

    ``take`` is called at ``next_probe``; when no run starts there, the next probe is
    pushed further away each time (up to 64 KiB), so traffic of mixed sizes pays for a
    probe now and then only; a run found resets that."""

    __slots__ = ("_backoff", "_bare", "_data", "_n", "_view", "_window", "next_probe")

    def __init__(self, data: bytes, bare: bool) -> None:
        self._bare = bare
        self._data = data
        self._n = len(data)
        self._view = memoryview(data)
        self._window = _RUN_WINDOW_MIN
        self._backoff = _RUN_BACKOFF_MIN
        self.next_probe = 0

    def take(self, pos: int, extend: Callable[[Iterable[tuple[bytes] | bytes]], None]) -> int:
        """Unpack the run of frames starting at ``pos`` (if any) into ``extend``; returns
        the position after it."""
        data = self._data
        n = self._n
        while pos + 1 < n and not data[pos]:
            size = data[pos + 1]
            stride = size + 2
            second = pos + stride
            if second + 1 >= n or data[second] or data[second + 1] != size:
                break  # the next frame differs (or has not arrived)
            count = min((n - pos) // stride, self._window)
            stop = pos + count * stride
            heads = data[pos:stop:stride]
            sizes = data[pos + 1 : stop : stride]
            if heads.count(0) == count and sizes.count(size) == count:
                run = count
                self._window = min(2 * count, _RUN_WINDOW_MAX)
            else:
                run = count - max(
                    len(heads.lstrip(b"\x00")), len(sizes.lstrip(_SHORT_LAST[size][1:]))
                )
                self._window = _RUN_WINDOW_MIN
            if run < _RUN_MIN:
                break
            stop = pos + run * stride
            extend(_run_unpacker(size, self._bare)(self._view[pos:stop]))
            pos = stop
            self._backoff = _RUN_BACKOFF_MIN
            if run < count:
                break  # the run ended inside the window: frame by frame for a while
        else:
            self.next_probe = pos + self._backoff
            return pos
        self.next_probe = pos + self._backoff
        self._backoff = min(2 * self._backoff, _RUN_BACKOFF_MAX)
        return pos


_LONG_HDR = Struct(">BQ")
_pack_long = _LONG_HDR.pack
_SHORT_LAST = [bytes((0, n)) for n in range(256)]
_SHORT_MORE = [bytes((MORE, n)) for n in range(256)]

# on_command(body, events) -> True when the connection was closed by this command and
# parsing must stop (the peer's ERROR).
CommandHandler = Callable[[bytes, list[Event]], bool]
# on_early_message(frames, events): a message arrived while messages are not accepted
# (before the handshake completed).  Raises ProtocolError, or consumes it (the ZMTP/2.0
# identity frame) and may switch accept_messages on.
EarlyMessageHandler = Callable[[list[bytes], list[Event]], None]


def _writable_bytes() -> Callable[[int], tuple[bytes, memoryview]] | None:
    """CPython: a maker of fresh ``bytes`` objects filled in place, as C code does.

    A large body is received straight into the ``bytes`` object that becomes the frame,
    instead of into a bytearray copied once complete (that copy was about half of the
    receiver's CPU time at 1 MiB).  ``PyBytes_FromStringAndSize(NULL, n)`` makes a new,
    uninitialised object that nothing else has seen; the view on it is writable only
    until the frame is complete and handed out (the decoder keeps no view after that).
    The view keeps the object alive.  Elsewhere (no ``ctypes.pythonapi``): None, and
    large bodies are copied once, as before.
    """
    try:
        import ctypes

        api = ctypes.pythonapi
        new = api.PyBytes_FromStringAndSize
        address = api.PyBytes_AsString
    except (ImportError, AttributeError, OSError):
        return None
    new.restype = ctypes.py_object
    new.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t)
    address.restype = ctypes.c_void_p
    address.argtypes = (ctypes.py_object,)
    # One ctypes array type per power of two (ctypes caches every array type it makes,
    # so exact sizes chosen by the peer would grow that cache without bound); the view
    # is cut to the exact size, so the slack beyond the object is never reachable.
    types: dict[int, Any] = {}
    char = ctypes.c_char

    def fresh(size: int) -> tuple[bytes, memoryview]:
        if size < 2:  # 0- and 1-octet bytes objects are shared singletons
            raise ValueError("fresh bytes need at least 2 octets")
        obj = new(None, size)
        cap = 1 << (size - 1).bit_length()
        kind = types.get(cap)
        if kind is None:
            kind = types[cap] = char * cap
        array = kind.from_address(address(obj))
        array.owner = obj  # type: ignore[union-attr]  # the view keeps it alive, via the array
        return obj, memoryview(array).cast("B")[:size]

    try:
        obj, view = fresh(4)
        view[:] = b"zmtp"
        if obj != b"zmtp":
            return None
    except Exception:
        return None
    return fresh


_fresh_bytes = _writable_bytes()

#: The largest block ``_hint_allocator`` has made so far.
_heap_hint = [0]
#: glibc adapts its thresholds only to freed blocks of at most 32 MiB (64-bit).
_HEAP_HINT_MAX = (32 << 20) - (64 << 10)


def _hint_allocator(size: int) -> None:
    """Tell glibc's malloc that blocks of ``size`` octets come and go here.

    glibc serves blocks above its mmap threshold (128 KiB at first) with mmap and
    returns the memory to the system as soon as they are freed; it raises the threshold
    (and the heap's trim threshold, to twice that) to the size of the largest such block
    it has freed.  With frames of 1 MiB, a few in flight at once, the heap top then
    crosses the trim threshold again and again: memory goes back to the system and every
    new frame faults its pages in anew, which cost more than the whole rest of receiving
    it (measured: 600 -> 140 us of CPU per 1 MiB frame over ipc).  One block four
    times the frame size, allocated (calloc: its pages are never touched) and freed once,
    moves both thresholds past that churn; at most about eight times the largest frame
    size (bounded) stays cached in the heap.  Harmless with other allocators.
    """
    block = min(4 * size, _HEAP_HINT_MAX)
    if block > _heap_hint[0]:
        _heap_hint[0] = block
        del_me = bytes(block)
        del del_me


def _bad_flags(flags: int, v2: bool) -> ProtocolError:
    if v2 and flags & COMMAND and not flags & 0xF8:
        return ProtocolError(
            f"frame flags 0x{flags:02x}: the COMMAND bit does not exist in ZMTP/2.0 framing"
        )
    return ProtocolError(
        f"frame flags 0x{flags:02x} set reserved bits (valid flags are 0x00-0x07); "
        "the peer is not speaking ZMTP or the stream is corrupt"
    )


def _too_big(size: int, limit: int) -> ProtocolError:
    if limit < 0:
        return ProtocolError(
            f"peer announced a frame of {size} octets, more than this machine's memory "
            f"({_NO_LIMIT} octets): it could never be received; the peer is broken or hostile"
        )
    return ProtocolError(
        f"peer announced a frame of {size} octets, more than maxmsgsize={limit}; "
        "raise maxmsgsize if such frames are expected"
    )


class FrameDecoder:
    """Turns a byte stream, cut anywhere, into Message events and command bodies.

    Messages are assembled here (a partial message is never reported).  Commands are
    passed to ``on_command`` because their meaning depends on the connection's state.
    """

    __slots__ = (
        "_large",
        "_large_filled",
        "_large_flags",
        "_large_obj",
        "_large_size",
        "_limit",
        "_maxmsgsize",
        "_need",
        "_parts",
        "_reserved",
        "_tail",
        "_v2",
        "accept_messages",
        "bare",
        "batch",
        "on_command",
        "on_early_message",
        "stopped",
        "subscriptions",
    )

    def __init__(
        self,
        *,
        maxmsgsize: int = -1,
        on_command: CommandHandler | None = None,
        on_early_message: EarlyMessageHandler | None = None,
        v2: bool = False,
        accept_messages: bool = True,
        subscriptions: bool = False,
        batch: bool = False,
        bare: bool = False,
    ) -> None:
        if bare and not batch:
            raise ValueError("bare one-frame messages exist only in batch mode")
        self._maxmsgsize = maxmsgsize
        self._limit = _NO_LIMIT if maxmsgsize < 0 else maxmsgsize
        self._v2 = v2
        self._reserved = RESERVED_V2 if v2 else RESERVED_V3
        self._tail = bytearray()  # incomplete header/body bytes (always < LARGE_FRAME + 9)
        self._need = 0  # len(_tail) needed before parsing can make progress
        self._parts: list[bytes] = []  # frames of the message being assembled
        # Body buffer of a large frame in progress: a bytearray while it may still grow,
        # or a writable view of the fresh ``bytes`` in ``_large_obj`` that becomes the frame.
        self._large: bytearray | memoryview | None = None
        self._large_obj: bytes | None = None
        self._large_filled = 0
        self._large_size = 0
        self._large_flags = 0
        self.on_command: CommandHandler = on_command or _refuse_command
        self.on_early_message: EarlyMessageHandler = on_early_message or _refuse_early
        #: False until the handshake completes: a message then goes to on_early_message.
        self.accept_messages = accept_messages
        #: PUB/XPUB: a one-frame message starting 0x01/0x00 is a (un)subscription.
        self.subscriptions = subscriptions
        self.stopped = False
        #: Report messages as MessageBatch events (runs of messages) instead of Message.
        self.batch = batch
        #: In a MessageBatch, a one-frame message is its frame's ``bytes``, not a 1-tuple.
        self.bare = bare

    @property
    def buffered(self) -> int:
        """Octets held for an incomplete frame (the fuzz suite checks its bound)."""
        return len(self._tail) + self._large_filled

    @property
    def allocated(self) -> int:
        """Octets of input buffers held: bounded by what arrived, never by a header's claim."""
        large = self._large
        return len(self._tail) + (len(large) if large is not None else 0)

    @property
    def mid_message(self) -> bool:
        return bool(self._tail or self._parts or self._large is not None)

    # -- input -------------------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview, events: list[Event]) -> None:
        """Parse as much of ``data`` as possible, appending events; raises ProtocolError."""
        if self.stopped:
            return
        if type(data) is memoryview and (data.format != "B" or data.ndim != 1):
            data = bytes(data)  # count octets, not items, from here on
        if self._large is not None:
            data = self._fill_large(data, events)
            if not data or self.stopped:
                return
        tail = self._tail
        if tail:
            if len(tail) + len(data) < self._need:
                tail += data
                return
            buf = bytes(tail) + data  # one copy of the new data, not two
            tail.clear()
        elif type(data) is bytes:
            buf = data
        else:
            buf = bytes(data)
        self._parse(buf, events)

    def _parse(self, data: bytes, events: list[Event]) -> None:
        # The hot loop.  Everything it touches per frame is a local.
        n = len(data)
        pos = 0
        parts = self._parts
        limit = self._limit
        reserved = self._reserved
        accept = self.accept_messages
        subs = self.subscriptions
        append = events.append
        batch = self.batch
        bare = self.bare
        # Batch mode: messages not reported yet.  Flushed as one MessageBatch before any
        # other event is appended (order is kept) and when this call ends, however it ends.
        msgs: list[tuple[bytes, ...] | bytes] = []
        add_msg = msgs.append
        add_runs = msgs.extend
        runs = _Runs(data, bare)
        new_message = _new_message
        set_frames = _set_frames
        from_bytes = int.from_bytes
        msg_cls = Message
        # Fast path: a short, final, non-command frame that starts a message, with no
        # subscription or handshake logic in play: the bulk of small-message traffic.
        fast = accept and not subs and limit >= 255
        try:
            while True:
                if fast and not parts:
                    if batch:
                        if pos >= runs.next_probe:
                            pos = runs.take(pos, add_runs)
                        while True:
                            # Frame by frame up to the next probe for a run, which costs
                            # this loop nothing: it is the bound it checks anyway.
                            lim = runs.next_probe if runs.next_probe < n else n
                            if bare:  # the same loop, without the tuple
                                while pos + 1 < n and not data[pos]:
                                    end = pos + 2 + data[pos + 1]
                                    if end > lim:
                                        break
                                    add_msg(data[pos + 2 : end])
                                    pos = end
                                else:
                                    break  # not a short final frame: the general path
                            else:
                                while pos + 1 < n and not data[pos]:
                                    end = pos + 2 + data[pos + 1]
                                    if end > lim:
                                        break
                                    add_msg((data[pos + 2 : end],))
                                    pos = end
                                else:
                                    break  # not a short final frame: the general path
                            if end > n:
                                break  # incomplete
                            pos = runs.take(pos, add_runs)  # moves next_probe on
                    else:
                        while pos + 1 < n and not data[pos]:
                            end = pos + 2 + data[pos + 1]
                            if end > n:
                                break
                            m = new_message(msg_cls)
                            set_frames(m, [data[pos + 2 : end]])
                            append(m)
                            pos = end
                avail = n - pos
                if avail < 2:
                    if avail and data[pos] & reserved:
                        raise _bad_flags(data[pos], self._v2)
                    need = 2
                    break
                flags = data[pos]
                if flags & reserved:
                    raise _bad_flags(flags, self._v2)
                if flags & LONG:
                    if avail < 9:
                        need = 9
                        break
                    size = from_bytes(data[pos + 1 : pos + 9], "big")
                    start = pos + 9
                else:
                    size = data[pos + 1]
                    start = pos + 2
                if size > limit:
                    raise _too_big(size, self._maxmsgsize)
                end = start + size
                if end > n:
                    if size >= LARGE_FRAME:
                        self._parts = parts
                        self._start_large(flags, size, data, start, events)
                        return
                    need = end - pos
                    break
                frame = data[start:end]
                pos = end
                if flags & COMMAND:
                    if flags & MORE or parts:
                        raise _bad_command_framing(flags)
                    self._parts = parts
                    if msgs:
                        append(MessageBatch(msgs))
                        msgs = []
                        add_msg = msgs.append
                        add_runs = msgs.extend
                    if self.on_command(frame, events):
                        self.stopped = True
                        return
                    accept = self.accept_messages
                    subs = self.subscriptions
                    fast = accept and not subs and limit >= 255
                    continue
                if flags & MORE:
                    if not accept:
                        raise _early_multipart()
                    parts.append(frame)
                    continue
                if parts:
                    parts.append(frame)
                    frames = parts
                    parts = self._parts = []
                else:
                    frames = [frame]
                    if subs and size and frame[0] < 2 and accept:
                        if msgs:
                            append(MessageBatch(msgs))
                            msgs = []
                            add_msg = msgs.append
                            add_runs = msgs.extend
                        append(Subscribe(frame[1:]) if frame[0] else Cancel(frame[1:]))
                        continue
                if not accept:
                    # (no message can be pending in msgs: accept never goes back to False)
                    self.on_early_message(frames, events)
                    accept = self.accept_messages
                    subs = self.subscriptions
                    fast = accept and not subs and limit >= 255
                    continue
                if batch:
                    add_msg(frame if bare and len(frames) == 1 else tuple(frames))
                    continue
                m = new_message(msg_cls)
                set_frames(m, frames)
                append(m)
            self._parts = parts
            if pos < n:
                self._tail += data[pos:] if pos else data
                self._need = need
        finally:
            if msgs:
                append(MessageBatch(msgs))

    # -- large frames ------------------------------------------------------------------

    def _start_large(
        self, flags: int, size: int, data: bytes, start: int, events: list[Event]
    ) -> None:
        if flags & COMMAND and (flags & MORE or self._parts):
            raise _bad_command_framing(flags)
        if not flags & COMMAND and not self.accept_messages:
            # It would be refused once complete anyway (no 2.0 identity is this big):
            # refuse it now rather than buffer it first.
            raise _early_multipart()
        have = len(data) - start
        if 4 * size > _heap_hint[0]:
            _hint_allocator(size)
        alloc = min(size, max(_LARGE_INITIAL_ALLOC, 2 * have))
        body: bytearray | memoryview
        if alloc == size and _fresh_bytes is not None:
            # The whole body fits in the first allocation: receive it straight into the
            # bytes object that becomes the frame (no copy when it completes).
            self._large_obj, body = _fresh_bytes(size)
        else:
            body = bytearray(alloc)
        body[:have] = memoryview(data)[start:]
        self._large = body
        self._large_filled = have
        self._large_size = size
        self._large_flags = flags

    def _fill_large(
        self, data: bytes | bytearray | memoryview, events: list[Event]
    ) -> bytes | bytearray | memoryview:
        """Copy ``data`` into the large body; return what is left after it."""
        body = self._large
        assert body is not None
        filled = self._large_filled
        take = min(self._large_size - filled, len(data))
        if filled + take > len(body):
            body = self._grow(filled + take)
        view = memoryview(data)
        body[filled : filled + take] = view[:take]
        self._large_filled = filled + take
        if self._large_filled == self._large_size:
            self._finish_large(events)
        return view[take:]

    def _grow(self, minimum: int) -> bytearray | memoryview:
        old = self._large
        assert old is not None
        # A fresh buffer instead of resizing: the driver may still hold a view of the old one.
        size = min(self._large_size, max(minimum, 2 * len(old)))
        new: bytearray | memoryview
        if size == self._large_size and _fresh_bytes is not None:
            self._large_obj, new = _fresh_bytes(size)  # the last growth: the frame itself
        else:
            new = bytearray(size)
        new[: self._large_filled] = memoryview(old)[: self._large_filled]
        self._large = new
        return new

    def pending_buffer(self) -> memoryview | None:
        """A writable view of (part of) the rest of a large body, for ``recv_into``."""
        body = self._large
        if body is None or self.stopped:
            return None
        filled = self._large_filled
        if filled == len(body):
            body = self._grow(filled + 1)
        return memoryview(body)[filled:]

    def buffer_filled(self, nbytes: int, events: list[Event]) -> None:
        """The driver wrote ``nbytes`` into the view from ``pending_buffer()``."""
        body = self._large
        if body is None:
            raise RuntimeError("frame_data_received() without a pending frame buffer")
        if nbytes < 0 or self._large_filled + nbytes > len(body):
            raise RuntimeError(f"frame_data_received({nbytes}): more than the buffer holds")
        self._large_filled += nbytes
        if self._large_filled == self._large_size:
            self._finish_large(events)

    def _finish_large(self, events: list[Event]) -> None:
        body = self._large
        assert body is not None
        flags = self._large_flags
        obj = self._large_obj
        self._large = self._large_obj = None
        self._large_filled = 0
        frame = bytes(body) if obj is None else obj
        del body, obj
        self._deliver(flags, frame, events)

    def _deliver(self, flags: int, frame: bytes, events: list[Event]) -> None:
        """The hot loop's per-frame logic for the (rare) frames that bypass it."""
        if flags & COMMAND:
            if self.on_command(frame, events):
                self.stopped = True
            return
        parts = self._parts
        if flags & MORE:
            parts.append(frame)
            return
        if parts:
            parts.append(frame)
            frames = parts
            self._parts = []
        else:
            frames = [frame]
            if self.accept_messages and self.subscriptions and frame and frame[0] < 2:
                events.append(Subscribe(frame[1:]) if frame[0] else Cancel(frame[1:]))
                return
        if not self.accept_messages:
            self.on_early_message(frames, events)
            return
        if self.batch:
            bare = self.bare and len(frames) == 1
            events.append(MessageBatch([frame if bare else tuple(frames)]))
            return
        m = _new_message(Message)
        _set_frames(m, frames)
        events.append(m)


def _bad_command_framing(flags: int) -> ProtocolError:
    if flags & MORE:
        return ProtocolError(
            f"command frame with the MORE flag (flags 0x{flags:02x}); commands are single frames"
        )
    return ProtocolError("command frame in the middle of a multipart message")


def _early_multipart() -> ProtocolError:
    return ProtocolError("message frame received before the handshake completed")


def _refuse_command(body: bytes, events: list[Event]) -> bool:
    raise ProtocolError("command frame where none is allowed")


def _refuse_early(frames: list[bytes], events: list[Event]) -> None:
    raise ProtocolError("message received before the handshake completed")


# -- encoding ----------------------------------------------------------------------------


def _as_octets(frame: Any) -> Any:
    """A view with one octet per item, so len() counts octets (e.g. array('i') input)."""
    view = memoryview(frame)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def encode_frame(body: bytes | bytearray | memoryview, flags: int = 0) -> bytes:
    """One frame as bytes (tests, handshake commands); the hot path uses FrameEncoder."""
    n = len(memoryview(body).cast("B")) if not isinstance(body, (bytes, bytearray)) else len(body)
    if n < 256:
        return bytes((flags & ~LONG, n)) + bytes(body)
    return _pack_long(flags | LONG, n) + bytes(body)


class Encoded(bytes):
    """A whole message already framed for the wire, which ``FrameEncoder.messages`` (and so
    ``Connection.send_messages``) writes as it is.

    ZMTP 2.0, 3.0 and 3.1 frame messages alike, so one encoding fits every connection: a
    PUB encodes once what it sends to many subscribers, instead of once per subscriber,
    and a batch of them is written with one ``join``.  Made by ``encode_message``."""

    __slots__ = ()


def encode_message(frames: Sequence[Any]) -> Encoded:
    """``frames`` as one ``Encoded`` (a copy: meant for messages of a few KiB at most)."""
    if len(frames) == 1:
        frame = frames[0]
        if type(frame) is bytes and len(frame) < 256:
            return Encoded(_SHORT_LAST[len(frame)] + frame)
    encoder = FrameEncoder(zero_copy_threshold=1 << 62)
    encoder.messages((frames,))
    return Encoded(b"".join(encoder.drain()))


_ONLY_ENCODED = {Encoded}


class FrameEncoder:
    """Coalesces small frames into one bytearray; passes big payloads through uncopied."""

    __slots__ = ("_chunks", "_out", "zero_copy_threshold")

    def __init__(self, zero_copy_threshold: int = ZERO_COPY_THRESHOLD) -> None:
        self._out = bytearray()
        self._chunks: list[bytes | bytearray | memoryview] = []
        self.zero_copy_threshold = zero_copy_threshold

    @property
    def pending(self) -> bool:
        return bool(self._out or self._chunks)

    def drain(self) -> list[bytes | bytearray | memoryview]:
        out = self._out
        chunks = self._chunks
        if out:
            chunks.append(out)
            self._out = bytearray()
        elif not chunks:
            return []
        self._chunks = []
        return chunks

    def raw(self, data: bytes) -> None:
        """Pre-encoded bytes (greeting parts)."""
        self._out += data

    def command(self, body: bytes) -> None:
        n = len(body)
        out = self._out
        if n < 256:
            out.append(COMMAND)
            out.append(n)
        else:
            out += _pack_long(COMMAND | LONG, n)
        out += body

    def message(self, frames: Sequence[Any]) -> None:
        self.messages((frames,))

    def messages(self, messages: Iterable[Sequence[Any]]) -> None:
        if (
            type(messages) is list
            and messages
            and type(messages[0]) is Encoded
            and set(map(type, messages)) == _ONLY_ENCODED
        ):
            self._out += b"".join(messages)  # a PUB's batch: no Python per message
            return
        out = self._out
        threshold = self.zero_copy_threshold
        short_more = _SHORT_MORE
        short_last = _SHORT_LAST
        pack_long = _pack_long
        # Where the current multipart message started, so a frame the caller got wrong
        # (TypeError) cannot leave half a message on the wire.  A single-frame message
        # fails, if at all, before anything is written.
        start_out: bytearray | None = None
        mark = 0
        chunk_mark = 0
        try:
            for frames in messages:
                if type(frames) is Encoded:
                    out += frames
                    continue
                last = len(frames) - 1
                if last < 0:
                    raise ValueError("a message needs at least one frame")
                if last:
                    start_out = out
                    mark = len(out)
                    chunk_mark = len(self._chunks)
                    for frame in frames[:last]:
                        t = type(frame)
                        if t is not bytes and t is not bytearray:
                            frame = _as_octets(frame)
                        n = len(frame)
                        if n < 256:
                            out += short_more[n]
                            out += frame
                        else:
                            out += pack_long(3, n)
                            if n < threshold:
                                out += frame
                            else:
                                self._chunks += (out, frame)
                                out = self._out = bytearray()
                frame = frames[last]
                t = type(frame)
                if t is not bytes and t is not bytearray:
                    frame = _as_octets(frame)
                n = len(frame)
                if n < 256:
                    out += short_last[n]
                    out += frame
                else:
                    out += pack_long(2, n)
                    if n < threshold:
                        out += frame
                    else:
                        self._chunks += (out, frame)
                        out = self._out = bytearray()
                start_out = None
        except BaseException:
            if start_out is not None:
                del self._chunks[chunk_mark:]
                del start_out[mark:]
                self._out = start_out
            raise
