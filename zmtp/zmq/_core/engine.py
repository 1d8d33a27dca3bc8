"""One ZMTP connection as an asyncio ``BufferedProtocol`` over the sans-IO ``Connection``.

Threading: every method here runs on the core's event loop.  The only state shared with
user threads is the pipe (and through it the pattern), which is touched under the core's
lock; the sans-IO ``Connection`` is private to the loop, so parsing and encoding happen
outside the lock and a user thread waits for it only while whole messages change hands.

Reads land in a 256 KiB buffer (one per I/O thread, shared by its connections), or
straight in the body buffer of a large frame (``pending_frame_buffer``, no copy); every
complete message of a read goes to the pipe in one call.  Writes drain the pipe into the
core (up to 256 KiB of payload per batch) and hand the encoded chunks to the transport,
small ones joined, large ones as views of their own; ``pause_writing`` stops draining, so
a slow peer fills the pipe up to its HWM and the sender then blocks (or drops), as in
libzmq.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from ...engine import make_mechanism
from ...errors import ProtocolError
from ...pipe import Pipe, Received
from ...protocol import (
    Cancel,
    Closed,
    Connection,
    HandshakeComplete,
    MessageBatch,
    PeerError,
    Ping,
    Subscribe,
)
from ...protocol import Message as MessageEvent
from ...protocol.frames import FrameEncoder
from ...transport import configure_stream_socket
from .events import EV, handshake_failure

if TYPE_CHECKING:
    from .core import SocketCore, _Binding, _Connecter

__all__ = ["StreamEngine"]

log = logging.getLogger("zmtp.zmq")

RECV_SIZE = 256 * 1024
#: One read buffer per thread, shared by its connections: the core consumes a read
#: before the next one starts, and 1,000 idle connections must not hold 256 MiB.
_thread_buffers = threading.local()
_IOV_MAX = 1024
#: Whether a user thread may write to an idle connection itself (see ``wake_writer``).
_DIRECT = True
#: Seconds since a writer of the socket was last woken after which a send counts as
#: "not in a burst".
DIRECT_GAP = 50e-6
_clock = time.perf_counter
_TAKE_BATCH = 1024
#: At most this much payload per batch: asyncio's transport copies what the kernel does
#: not take at once (and ``writelines`` joins everything first), so batches of large
#: messages are cut to what a socket buffer holds.
_TAKE_BYTES = 256 * 1024
#: Buffers this large are handed to the transport on their own, as views (never joined).
_SEPARATE_WRITE = 64 * 1024
#: Seconds a connection closed for a failure may take to write what it holds (the ERROR
#: command telling the peer why) before it is aborted.
FAIL_GRACE = 1.0


def _loop_buffer() -> memoryview:
    buffer: memoryview | None = getattr(_thread_buffers, "buffer", None)
    if buffer is None:
        buffer = _thread_buffers.buffer = memoryview(bytearray(RECV_SIZE))
    return buffer


class StreamEngine(asyncio.BufferedProtocol):
    """Drives one tcp/ipc connection of a ``SocketCore``."""

    def __init__(
        self,
        core: SocketCore,
        endpoint: str,
        connecter: _Connecter | None = None,
        binding: _Binding | None = None,
    ) -> None:
        self.core = core
        self.loop = core.loop
        self.lock = core.lock
        self.endpoint = endpoint
        self.connecter = connecter
        self.binding = binding
        options = core.options
        self.options = options
        self.conn = Connection(
            core.socket_type,
            mechanism=make_mechanism(options),
            routing_id=options.routing_id,
            maxmsgsize=options.maxmsgsize,
            batch_messages=True,  # runs of messages as one event: no object per message
        )
        self.transport: asyncio.Transport | None = None
        self.pipe: Pipe | None = None
        self.peer = ""
        self.fd = -1
        self._buf = _loop_buffer()
        self._large = False
        self._write_paused = False
        self._read_paused = False
        self._flush_scheduled = False
        self._writing = False
        self._tail: list[bytes | bytearray | memoryview] | None = None
        self._raw_fd = -1
        self._loop_tid = core.driver.thread_id
        self._encoder = FrameEncoder()
        self.closed = False
        self.close_reason = ""
        self._hs_timer: asyncio.TimerHandle | None = None
        self._hb_timer: asyncio.TimerHandle | None = None
        self._last_recv = 0.0
        self._unanswered_since: float | None = None
        self._peer_ttl = 0.0
        self._next_ping = 0.0

    # -- asyncio protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            host = str(peer[0])
            self.peer = f"[{host}]:{peer[1]}" if ":" in host else f"{host}:{peer[1]}"
        else:
            self.peer = self.endpoint
        sock = transport.get_extra_info("socket")
        self.fd = sock.fileno() if sock is not None else -1
        if sock is not None:
            try:
                configure_stream_socket(sock, self.options)
            except OSError as exc:  # an option the system refuses: as libzmq, go on
                log.debug("zmtp.zmq: socket options on %s: %s", self.peer, exc)
        self._loop_tid = self.core.driver.thread_id
        if not self.core.engine_started(self):
            self.close("socket closed", abort=True)
            return
        self._last_recv = self.loop.time()
        ivl = self.options.handshake_ivl
        if ivl > 0:
            self._hs_timer = self.loop.call_later(ivl, self._handshake_timeout)
        self._write_out()

    def get_buffer(self, sizehint: int) -> memoryview:
        body = self.conn.pending_frame_buffer()
        if body is not None:
            self._large = True
            return body
        self._large = False
        return self._buf

    def buffer_updated(self, nbytes: int) -> None:
        conn = self.conn
        try:
            if self._large:
                events = conn.frame_data_received(nbytes)
            else:
                events = conn.receive_data(self._buf[:nbytes])
        except ProtocolError as exc:
            self._on_events(exc.events)
            if self.closed or (self.transport is not None and self.transport.is_closing()):
                return
            self._fail(f"protocol error: {exc}", *handshake_failure(str(exc)))
            return
        self._last_recv = self.loop.time()
        self._unanswered_since = None
        if events:
            self._on_events(events)
        if conn.has_data_to_send and not self._write_paused:
            # (While the transport is over its high-water mark what reading produced,
            # a PONG, stays in the core, one at most; resume_writing sends it.)
            self._write_out()

    def eof_received(self) -> bool | None:
        """The peer closed its side.  asyncio then closes ours after writing what we
        hold; a peer that half-closed and reads nothing gets FAIL_GRACE for that, as
        after a failure (libzmq drops it at once), not for ever."""
        if not self.close_reason:
            self._peer_gone(None)
        transport = self.transport
        if transport is not None and transport.get_write_buffer_size():
            self.loop.call_later(FAIL_GRACE, self._abort_late)
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed and self.transport is None:
            return
        with self.lock:
            self.closed = True
            self.transport = None
            self._drop_raw_fd()
        for timer in (self._hs_timer, self._hb_timer):
            if timer is not None:
                timer.cancel()
        self._hs_timer = self._hb_timer = None
        if not self.close_reason:
            self._peer_gone(exc)
        self.core.engine_stopped(self)

    def _peer_gone(self, exc: Exception | None) -> None:
        """The peer went away (we did not close): say so, as the trio engine does, and,
        in the handshake, report it as libzmq does: HANDSHAKE_FAILED_NO_DETAIL with the
        errno (EPIPE for an orderly close, libzmq's value for EOF)."""
        reason = f"connection lost: {exc}" if exc is not None else "closed by peer"
        self.close_reason = reason
        level = logging.DEBUG if exc is None else logging.INFO
        log.log(level, "zmtp.zmq: connection %s (%s) closed: %s", self.peer,
                self.endpoint, reason)
        if self.pipe is None and self.fd >= 0:
            code = getattr(exc, "errno", None) or errno.EPIPE
            self.core.emit(EV.HANDSHAKE_FAILED_NO_DETAIL, self.endpoint, code)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._flush()

    # -- handshake and delivery ------------------------------------------------------------

    def _on_events(self, events: Sequence[object]) -> None:
        if self.pipe is None:
            for index, event in enumerate(events):
                if isinstance(event, HandshakeComplete):
                    if self._hs_timer is not None:
                        self._hs_timer.cancel()
                        self._hs_timer = None
                    pipe = self.core.engine_ready(self, event)
                    if pipe is None:
                        self.close("peer refused: the socket already has that peer", abort=True)
                        return
                    with self.lock:
                        self.pipe = pipe
                        self._raw_fd = _dup(self.fd)
                    if self.options.heartbeat_ivl > 0:
                        self._start_heartbeats()
                    self._deliver(events[index + 1 :])
                    self._flush()
                    return
                if isinstance(event, PeerError):
                    reason = f"peer sent ERROR during handshake: {event.reason}"
                    self._fail(reason, *handshake_failure(reason))
                    return
                if isinstance(event, Closed):
                    self.close("peer closed during the handshake", grace=FAIL_GRACE)
                    return
            return
        self._deliver(events)

    def _deliver(self, events: Sequence[object]) -> None:
        pipe = self.pipe
        if pipe is None:
            return
        batch: list[Received] = []
        core = self.core
        with self.lock:
            for event in events:
                if type(event) is MessageBatch:
                    if batch:
                        batch.extend(event.messages)
                    else:
                        batch = cast("list[Received]", event.messages)  # fresh, ours
                    continue
                if type(event) is MessageEvent:
                    batch.append(event.frames)
                    continue
                if batch:
                    pipe.deliver(batch)
                    batch = []
                if isinstance(event, Subscribe):
                    core.peer_subscription(pipe, event.topic, True)
                elif isinstance(event, Cancel):
                    core.peer_subscription(pipe, event.topic, False)
                elif isinstance(event, Ping):
                    self._peer_ttl = event.ttl
                    if event.ttl > 0:
                        self.loop.call_soon(self._start_heartbeats)
                elif isinstance(event, Closed):
                    self.loop.call_soon(self._close_failed, "closed by peer")
                elif isinstance(event, PeerError):
                    self.loop.call_soon(self._close_failed, f"peer sent ERROR: {event.reason}")
            if batch:
                pipe.deliver(batch)
            if pipe.in_full() and not self._read_paused and self.transport is not None:
                pipe.in_blocked = True
                self._read_paused = True
                self.transport.pause_reading()

    # -- hooks installed on the pipe (called under the lock, from any thread) --------------

    def wake_writer(self) -> None:
        """The pipe's queue went from empty to non-empty (under the lock, any thread).

        From a user thread, with the connection idle (nothing buffered, nothing being
        written), the message is written right here: one syscall instead of waking the
        I/O thread, which is what makes a round trip cheap.  Otherwise the I/O thread is
        woken once and drains whatever has been queued by the time it runs.
        """
        if self._flush_scheduled or self.closed:
            return
        if (_DIRECT and self._raw_fd >= 0 and not self._writing and self._tail is None
                and not self._write_paused and threading.get_ident() != self._loop_tid):
            # Latency-bound: the first send after a recv or after a pause.  A send in a
            # burst (or the next peer of a PUB fanning out) is left to the I/O thread.
            core = self.core
            now = _clock()
            quiet = core.received or now - core.last_wake > DIRECT_GAP
            core.last_wake = now
            core.received = False
            transport = self.transport
            if (quiet and transport is not None and not transport.get_write_buffer_size()
                    and not self.conn.has_data_to_send):
                self._direct_write()
                return
        self._flush_scheduled = True
        self.core.call_soon(self._flush)

    def _direct_write(self) -> None:
        """Under the lock, from a user thread: encode and write the queued messages."""
        pipe = self.pipe
        if pipe is None:
            return
        encoder = self._encoder
        try:
            encoder.messages(pipe.take(_TAKE_BATCH, _TAKE_BYTES))
        except (TypeError, ValueError):
            encoder.drain()
            raise
        buffers = encoder.drain()
        total = 0
        for buffer in buffers:
            total += len(buffer) if type(buffer) is not memoryview else buffer.nbytes
        try:
            if len(buffers) == 1:
                sent = os.write(self._raw_fd, buffers[0])
            else:
                sent = os.writev(self._raw_fd, buffers[:_IOV_MAX]) if len(buffers) <= _IOV_MAX \
                    else 0
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            sent = 0  # the I/O thread meets the same error and closes the connection
        if sent >= total:
            return
        # The rest goes through the transport, on the loop, before anything else.
        rest: list[bytes | bytearray | memoryview] = []
        for buffer in buffers:
            view = memoryview(buffer).cast("B")
            if sent >= view.nbytes:
                sent -= view.nbytes
                continue
            rest.append(view[sent:] if sent else buffer)
            sent = 0
        self._tail = rest
        self.core.call_soon(self._write_tail)

    def _drop_raw_fd(self) -> None:
        """Under the lock: stop direct writes and close our duplicate of the socket's fd.

        Direct writes use a duplicate so that, whatever the transport does with its own
        fd (close it, then the number is reused), they can only ever reach this
        connection."""
        fd = self._raw_fd
        self._raw_fd = -1
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass

    def _write_tail(self) -> None:
        self._write_out()
        with self.lock:
            pipe = self.pipe
            if pipe is not None and pipe.outq and not self._flush_scheduled:
                self._flush_scheduled = True
                self.loop.call_soon(self._flush)

    def wake_reader(self) -> None:
        self.core.call_soon(self._resume_reading)

    def send_subscription(self, topic: bytes, subscribe: bool) -> None:
        self.core.call_soon(self._send_subscription, topic, subscribe)

    def _send_subscription(self, topic: bytes, subscribe: bool) -> None:
        if self.closed or self.conn.closed:
            return
        if subscribe:
            self.conn.send_subscribe(topic)
        else:
            self.conn.send_cancel(topic)
        self._write_out()

    def _resume_reading(self) -> None:
        if self._read_paused and self.transport is not None and not self.closed:
            self._read_paused = False
            self.transport.resume_reading()

    def wire(self, pipe: Pipe) -> None:
        pipe.notify_out = self.wake_writer
        pipe.notify_in_space = self.wake_reader
        pipe.send_subscription = self.send_subscription

    # -- writing ---------------------------------------------------------------------------

    def _flush(self) -> None:
        """Drain the pipe into the connection and the transport (loop thread).

        ``_writing`` tells a user thread, while messages taken here are being encoded
        outside the lock, that it must not write directly (it would overtake them).
        """
        conn = self.conn
        pipe = self.pipe
        while True:
            with self.lock:
                self._flush_scheduled = False
                if (self.closed or self._write_paused or pipe is None or not pipe.outq
                        or conn.closed):
                    break
                messages = pipe.take(_TAKE_BATCH, _TAKE_BYTES)
                self._writing = True
            try:
                conn.send_messages(messages)
            except (ProtocolError, RuntimeError, ValueError) as exc:
                self._writing = False
                self.close(f"cannot send: {exc}", grace=FAIL_GRACE)
                return
            self._write_out()
        self._write_out()

    def _write_out(self) -> None:
        """Write a direct write's unsent rest, then what the connection has encoded.

        Loop thread.  ``_writing`` stays set until the transport has the bytes, so that a
        user thread cannot write directly in between and overtake them.
        """
        transport = self.transport
        if transport is None:
            with self.lock:
                self._writing = False
            return
        with self.lock:
            tail = self._tail
            self._tail = None
            self._writing = True
        try:
            if tail:
                _write_buffers(transport, tail)
            if self.conn.has_data_to_send:
                _write_buffers(transport, self.conn.data_to_send())
        finally:
            with self.lock:
                self._writing = False

    def write_idle(self) -> bool:
        """Nothing of ours is left to send (linger uses this)."""
        transport = self.transport
        if transport is None:
            return True
        pipe = self.pipe
        if pipe is not None and pipe.outq:
            return False
        return transport.get_write_buffer_size() == 0 and not self.conn.has_data_to_send

    # -- timers ----------------------------------------------------------------------------

    def _handshake_timeout(self) -> None:
        self._hs_timer = None
        if self.pipe is None and not self.closed:
            self._fail("handshake timed out (handshake_ivl)", EV.HANDSHAKE_FAILED_NO_DETAIL,
                       errno.EAGAIN)  # libzmq's value for its handshake timer

    def _start_heartbeats(self) -> None:
        if self._hb_timer is None and not self.closed:
            self._next_ping = self.loop.time()
            self._heartbeat()

    def _heartbeat(self) -> None:
        self._hb_timer = None
        if self.closed:
            return
        options = self.options
        interval = options.heartbeat_ivl
        timeout = options.effective_heartbeat_timeout
        now = self.loop.time()
        if interval > 0 and now >= self._next_ping:
            try:
                self.conn.send_ping(options.heartbeat_ttl)
            except (ProtocolError, RuntimeError):
                return
            self._write_out()
            if self._unanswered_since is None:
                self._unanswered_since = now
            self._next_ping = now + interval
        since = self._unanswered_since
        if interval > 0 and timeout > 0 and since is not None and now - since >= timeout:
            # A dead peer reads nothing: what we hold for it is dropped (as libzmq does).
            self.close(f"heartbeat timed out: nothing received for {now - since:.3f} s",
                       abort=True)
            return
        ttl = self._peer_ttl
        if ttl > 0 and now - self._last_recv > ttl:
            self.close(f"peer's heartbeat TTL of {ttl:.1f} s expired without traffic",
                       abort=True)
            return
        ticks = [value for value in (interval, timeout, ttl) if value > 0]
        step = min(ticks) / 4 if ticks else 1.0
        self._hb_timer = self.loop.call_later(max(step, 0.001), self._heartbeat)

    # -- closing ---------------------------------------------------------------------------

    def _fail(self, reason: str, event: int, value: int = 0) -> None:
        if self.pipe is None and not self.close_reason:
            self.core.emit(event, self.endpoint, value)
        try:
            buffers = self.conn.data_to_send()  # an ERROR command the core queued
            if buffers and self.transport is not None:
                self.transport.writelines(buffers)
        except (ProtocolError, RuntimeError):
            pass
        self.close(reason, grace=FAIL_GRACE)

    def abandon(self) -> None:
        """Our loop was closed under us: close the socket ourselves and report the
        connection lost (the transport cannot, its loop is gone)."""
        transport = self.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        raw = getattr(sock, "_sock", None)  # asyncio's TransportSocket wraps the socket
        if raw is not None:
            try:
                raw.close()
            except OSError:
                pass
        self.close_reason = self.close_reason or "event loop closed"
        self.connection_lost(None)

    def _close_failed(self, reason: str) -> None:
        self.close(reason, grace=FAIL_GRACE)

    def _abort_late(self) -> None:
        transport = self.transport
        if transport is not None:
            transport.abort()

    def close(self, reason: str = "closed locally", *, abort: bool = False,
              grace: float | None = None) -> None:
        """Close; with ``abort`` at once, else after writing what is queued, waiting at
        most ``grace`` seconds for the peer to take it when given (failure closes: a
        hostile or dead peer that never reads must not hold the connection forever)."""
        if not self.close_reason:
            self.close_reason = reason
        transport = self.transport
        if transport is None:
            return
        if transport.is_closing():
            # Already closing gracefully (unbound, or failed), waiting to flush what it
            # holds: an abort (linger over, or 0) must not wait for a peer that may
            # never read (the socket's shutdown, and so term(), would wait forever).
            if abort:
                transport.abort()
            return
        with self.lock:
            self._drop_raw_fd()  # no direct write may race the close
            tail = self._tail
        if tail is not None and not abort:
            self._write_out()
        level = logging.DEBUG if reason in ("closed by peer", "closed locally") else logging.INFO
        log.log(level, "zmtp.zmq: connection %s (%s) closing: %s", self.peer, self.endpoint,
                reason)
        if abort:
            transport.abort()
        else:
            transport.close()
            if grace is not None and transport.get_write_buffer_size():
                self.loop.call_later(grace, self._abort_late)



def _dup(fd: int) -> int:
    if fd < 0:
        return -1
    try:
        return os.dup(fd)
    except OSError:
        return -1  # out of fds: this connection simply has no direct writes


def _write_buffers(transport: asyncio.Transport,
                   buffers: Sequence[bytes | bytearray | memoryview]) -> None:
    """Small buffers joined into one write, large ones written alone as views: asyncio's
    ``writelines`` would join everything (a copy of every large frame), and ``write``
    of a ``bytes`` copies what the kernel does not take, where a view's rest is a view."""
    small: list[bytes | bytearray | memoryview] = []
    for buffer in buffers:
        if len(buffer) >= _SEPARATE_WRITE:
            if small:
                transport.write(b"".join(small))
                small = []
            transport.write(memoryview(buffer))
        else:
            small.append(buffer)
    if small:
        transport.write(small[0] if len(small) == 1 else b"".join(small))
