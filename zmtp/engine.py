"""One ZMTP connection over a socket: handshake, then a reader, a writer and heartbeats.

The hot paths are shaped for throughput and latency at once:
- the engine drives a plain non-blocking stdlib socket itself: ``send``/``recv`` are
  called directly and trio is asked to wait (``wait_readable``/``wait_writable``) only
  when the kernel says EAGAIN.  trio's own socket methods end every successful call with
  a trip through the scheduler, which is most of a small message's cost here;
- the reader takes large chunks and lets the sans-IO core parse every frame in them,
  then hands the whole batch of messages to the pipe in one call;
- the writer drains everything queued in the pipe into the core and writes it with one
  ``send`` (small frames coalesced) or one ``sendmsg`` (large frames, no copy);
- a message queued while the writer is idle, and not within moments of the previous
  such message, is written at once from the sending task (the writer is not woken: one
  task switch less on the latency path); in a burst the writer takes over and batches;
- nothing here runs per message except appending to a list.
"""

from __future__ import annotations

import logging
import socket as stdlib_socket
from collections.abc import Callable, Sequence
from time import perf_counter
from typing import cast

import trio

from .errors import ProtocolError
from .monitor import EventKind, EventSink
from .options import Options
from .pipe import Pipe, Received
from .protocol import (
    Cancel,
    Closed,
    Connection,
    HandshakeComplete,
    Mechanism,
    MessageBatch,
    NullMechanism,
    PeerError,
    Ping,
    PlainClientMechanism,
    PlainServerMechanism,
    Subscribe,
)
from .protocol import Message as MessageEvent
from .protocol.sockettypes import SocketType
from .waiters import Waiters

__all__ = ["Engine", "make_mechanism"]

log = logging.getLogger("zmtp")

#: Octets asked for per read.  Below malloc's mmap threshold (128 KiB in glibc and musl):
#: a bigger buffer is mapped, shrunk with mremap to what arrived and unmapped again by
#: every read, three system calls (a ROUTER answering 200 peers: 12k -> 19k round trips/s).
RECV_SIZE = 64 * 1024
_IOV_MAX = 1024
_HAS_SENDMSG = hasattr(stdlib_socket.socket, "sendmsg")
#: A message queued to an idle writer is written from the sending task unless the last
#: one written that way went out less than this long ago (seconds): then a burst is
#: under way, and the writer task batches it into few system calls instead.
DIRECT_SEND_GAP = 50e-6
#: A connection that wrote nothing for this long (seconds) is written to directly even
#: during a burst (see ``_wake_writer``).
QUIET_PEER_GAP = 1e-3
#: Consecutive reads that filled the whole buffer before the reader lets others run.
_READS_PER_CHECKPOINT = 4

#: When the last direct write was made, process-wide (see ``_wake_writer``).
_last_direct = [0.0]

#: A watchdog waking this much later than it asked to (seconds) saw the process stall.
_STALL = 0.05

_wait_readable = trio.lowlevel.wait_readable
_wait_writable = trio.lowlevel.wait_writable


def make_mechanism(options: Options) -> Mechanism:
    if options.plain_server:
        return PlainServerMechanism(options.plain_authenticator,
                                    refuse_without_authenticator=True)
    if options.plain_username is not None:
        return PlainClientMechanism(
            options.plain_username.encode(), (options.plain_password or "").encode()
        )
    return NullMechanism()


class Engine:
    """Drives one connection; ``run`` returns when the connection is over, never raises
    for anything the peer did (the reason is logged and reported to ``events``)."""

    def __init__(
        self,
        sock: stdlib_socket.socket,
        socket_type: SocketType,
        options: Options,
        *,
        endpoint: str,
        peer_address: str,
        events: EventSink,
        attach: Callable[[Engine, HandshakeComplete], Pipe | None],
        detach: Callable[[Engine, Pipe], None],
        subscription: Callable[[Pipe, bytes, bool], None],
    ) -> None:
        self.sock = sock
        self.options = options
        self.endpoint = endpoint
        self.peer_address = peer_address
        self.events = events
        self._attach = attach
        self._detach = detach
        self._subscription = subscription
        self.conn = Connection(
            socket_type,
            mechanism=make_mechanism(options),
            routing_id=options.routing_id,
            maxmsgsize=options.maxmsgsize,
            batch_messages=True,  # runs of messages as one event: no object per message
            bare_single_frames=True,  # and a one-frame message is its bytes (see Received)
        )
        self.pipe: Pipe | None = None
        self._writer_lot = Waiters()
        self._reader_lot = Waiters()
        self._writer_parked = False
        self._writer_running = False
        # Bytes a direct write (from a sending task) could not finish: the writer sends
        # them before anything else.
        self._unsent: list[memoryview] = []
        self._last_direct = 0.0  # when the last direct write was made (perf_counter)
        self._last_recv = trio.current_time()
        self._unanswered_since: float | None = None
        self._peer_ttl = 0.0
        self._nursery: trio.Nursery | None = None
        self._watchdog_running = False
        self._cancel_scope: trio.CancelScope | None = None
        self.close_reason = ""
        #: Writer idle with nothing queued: the pipe is flushed (used by linger).
        self.idle = trio.Event()

    # -- wiring to the pipe --------------------------------------------------------------

    def _wake_writer(self) -> None:
        if self._writer_parked:
            now = perf_counter()
            if (now - _last_direct[0] >= DIRECT_SEND_GAP
                    or now - self._last_direct >= QUIET_PEER_GAP):
                # A burst (anything sent within DIRECT_SEND_GAP anywhere in the process:
                # a PUB fanning out, many sockets sending at once) goes to the writers,
                # which coalesce it; but a peer this quiet gets its message written now
                # even then (a ROUTER answering many peers once each: waking each one's
                # writer would add a task switch per message and coalesce nothing).
                _last_direct[0] = self._last_direct = now
                if self._write_direct():
                    return
            self._writer_parked = False
            self._writer_lot.unpark_all()

    def _write_direct(self) -> bool:
        """Write what is queued now, from the caller's task; False: leave it to the writer.

        Only called while the writer is parked with nothing pending, so the order on the
        wire holds.  Whatever the kernel does not take now is left in ``_unsent`` for the
        writer, which is then woken.
        """
        conn = self.conn
        pipe = self.pipe
        if pipe is None or conn.closed or not self._writer_running or self._unsent:
            return False
        try:
            if pipe.outq:
                conn.send_messages(pipe.take())
            buffers = conn.data_to_send()
            if not buffers:
                return True
            rest = _send_now(self.sock, buffers)
        except Exception as exc:
            # The writer (woken by the caller) or the reader reports the failure.
            if isinstance(exc, OSError) and not self.close_reason:
                self.close(f"connection lost: {exc.strerror or exc}")
            return False
        if rest:
            self._unsent = rest
            if self.idle.is_set():
                self.idle = trio.Event()
            return False
        return True

    def _wake_reader(self) -> None:
        self._reader_lot.unpark_all()

    def _send_subscription(self, topic: bytes, subscribe: bool) -> None:
        if self.conn.closed:
            return
        if subscribe:
            self.conn.send_subscribe(topic)
        else:
            self.conn.send_cancel(topic)
        self._wake_writer()

    def wire(self, pipe: Pipe) -> None:
        """Connect ``pipe``'s hooks to this connection.  The socket calls this before the
        pattern's ``pipe_ready``, which may already send on it (XSUB/SUB re-send their
        subscriptions to a new publisher there)."""
        pipe.notify_out = self._wake_writer
        pipe.notify_in_space = self._wake_reader
        pipe.send_subscription = self._send_subscription

    def unwire(self, pipe: Pipe) -> None:
        pipe.unhook_transport()

    def close(self, reason: str = "closed locally") -> None:
        """End the connection now (used by disconnect, handover, socket close)."""
        if not self.close_reason:
            self.close_reason = reason
        if self._cancel_scope is not None:
            self._cancel_scope.cancel()

    # -- the connection's life -----------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._run_scoped()
        finally:
            self._finish()  # also when an outer scope (the socket closing) cancelled us

    async def _run_scoped(self) -> None:
        with trio.CancelScope() as scope:
            self._cancel_scope = scope
            try:
                await self._run()
            except ProtocolError as exc:
                self.close_reason = self.close_reason or f"protocol error: {exc}"
                self._deliver(exc.events)
                await self._flush_final()
            except OSError as exc:
                self.close_reason = self.close_reason or f"connection lost: {exc.strerror or exc}"
            except trio.TooSlowError:
                self.close_reason = self.close_reason or "handshake timed out (handshake_ivl)"
            except _Refused:
                self.close_reason = self.close_reason or (
                    "peer refused: the socket already has that peer or routing id"
                )
            except Exception as exc:
                # Not the peer's violation but our side choking on its input (e.g. the
                # application's PLAIN authenticator raising on a hostile username): it costs
                # this one connection, never the socket, and the traceback is kept.
                self.close_reason = self.close_reason or (
                    f"internal error while serving the peer: {type(exc).__name__}: {exc}"
                )
                log.error("zmtp: connection %s (%s): unexpected error", self.peer_address,
                          self.endpoint, exc_info=exc)

    def _finish(self) -> None:
        reason = self.close_reason or "closed by peer"
        trio.lowlevel.notify_closing(self.sock)
        self.sock.close()
        pipe = self.pipe
        if pipe is not None:
            self.unwire(pipe)
            self._detach(self, pipe)
            self.pipe = None
        else:
            self.events.emit(EventKind.HANDSHAKE_FAILED, self.endpoint, self.peer_address, reason)
        self.events.disconnected(self.endpoint, self.peer_address, reason)
        self.idle.set()
        level = logging.DEBUG if reason in ("closed by peer", "closed locally") else logging.INFO
        log.log(level, "zmtp: connection %s (%s) closed: %s", self.peer_address, self.endpoint,
                reason)

    async def _flush_final(self) -> None:
        """Write the last bytes the core queued (an ERROR command) before closing."""
        with trio.move_on_after(1.0):
            try:
                buffers = self.conn.data_to_send()
                if buffers:
                    await self._send_buffers(buffers)
            except (OSError, ProtocolError, RuntimeError):
                pass

    async def _run(self) -> None:
        conn = self.conn
        await self._send_buffers(conn.data_to_send())
        leftover = await self._handshake()
        assert self.pipe is not None  # wired by the socket's attach (see wire())
        self._deliver(leftover)
        failure: BaseException | None = None
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._writer, nursery.cancel_scope)
            if self.options.heartbeat_ivl > 0:
                self._start_watchdog()
            try:
                await self._reader()
            except (ProtocolError, OSError) as exc:
                failure = exc  # raised below, outside the nursery, unwrapped
            nursery.cancel_scope.cancel()
        if failure is not None:
            raise failure

    def _start_watchdog(self) -> None:
        if not self._watchdog_running and self._nursery is not None:
            self._watchdog_running = True
            self._last_recv = trio.current_time()
            self._nursery.start_soon(self._watchdog)

    async def _handshake(self) -> Sequence[object]:
        conn = self.conn
        timeout = self.options.handshake_ivl
        with trio.fail_after(timeout if timeout > 0 else float("inf")):
            while True:
                data = await self._recv()
                events = conn.receive_data(data)
                # Events first, our reply after: a peer that sent its handshake and a
                # message, then closed, makes our reply fail (EPIPE), and what it sent
                # intact must still be delivered.  On success the writer sends our reply.
                for index, event in enumerate(events):
                    if isinstance(event, HandshakeComplete):
                        pipe = self._attach(self, event)
                        if pipe is None:
                            raise _Refused
                        self.pipe = pipe
                        self.events.handshake_succeeded(self.endpoint, self.peer_address)
                        return events[index + 1 :]
                    if isinstance(event, PeerError):
                        raise ProtocolError(f"peer sent ERROR during handshake: {event.reason}")
                    if isinstance(event, Closed):
                        raise OSError("peer closed the connection during the handshake")
                buffers = conn.data_to_send()
                if buffers:
                    await self._send_buffers(buffers)

    async def _recv(self) -> bytes:
        sock = self.sock
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            try:
                return sock.recv(RECV_SIZE)
            except BlockingIOError:
                await _wait_readable(sock)

    def _deliver(self, events: Sequence[object]) -> bool:
        """Hand parsed events to the pipe and the pattern; False once the peer is gone."""
        pipe = self.pipe
        if pipe is None:
            return False
        batch: list[Received] = []
        alive = True
        for event in events:
            if type(event) is MessageBatch:
                if batch:
                    batch.extend(event.messages)
                else:
                    # a fresh list nobody else holds (tuples and bare frames: see MessageBatch)
                    batch = cast("list[Received]", event.messages)
                continue
            if type(event) is MessageEvent:
                batch.append(event.frames)
                continue
            if batch:
                pipe.deliver(batch)
                batch = []
            if isinstance(event, Subscribe):
                self._subscription(pipe, event.topic, True)
            elif isinstance(event, Cancel):
                self._subscription(pipe, event.topic, False)
            elif isinstance(event, Ping):
                self._peer_ttl = event.ttl
                if event.ttl > 0:
                    self._start_watchdog()
            elif isinstance(event, Closed):
                alive = False
            elif isinstance(event, PeerError):
                self.close_reason = f"peer sent ERROR: {event.reason}"
                alive = False
        if batch:
            pipe.deliver(batch)
        if self.conn.has_data_to_send:
            self._wake_writer()
        return alive

    async def _reader(self) -> None:
        conn = self.conn
        sock = self.sock
        pipe = self.pipe
        assert pipe is not None
        full_reads = 0
        while True:
            body = conn.pending_frame_buffer()
            try:
                if body is not None:
                    count = sock.recv_into(body)
                    more = count == len(body)
                    events = (
                        conn.frame_data_received(count) if count else conn.receive_data(b"")
                    )
                else:
                    data = sock.recv(RECV_SIZE)
                    more = len(data) == RECV_SIZE
                    events = conn.receive_data(data)
            except BlockingIOError:
                full_reads = 0
                await _wait_readable(sock)
                continue
            if self._watchdog_running:  # the clock only matters to heartbeats
                self._last_recv = trio.current_time()
                self._unanswered_since = None
            if not self._deliver(events):
                return
            if pipe.in_full():
                while pipe.in_full():
                    pipe.in_blocked = True
                    await self._reader_lot.park()
                full_reads = 0
            elif not more and body is None:
                # The kernel had less than we asked for: nothing more is waiting, most
                # likely, so wait for readiness instead of paying for an EAGAIN.
                full_reads = 0
                await _wait_readable(sock)
            else:
                full_reads += 1
                if full_reads >= _READS_PER_CHECKPOINT:
                    full_reads = 0
                    await trio.lowlevel.checkpoint()

    async def _writer(self, cancel_scope: trio.CancelScope) -> None:
        conn = self.conn
        pipe = self.pipe
        assert pipe is not None
        outq = pipe.outq
        self._writer_running = True
        try:
            while True:
                if self._unsent:
                    unsent = self._unsent
                    self._unsent = []
                    await self._send_views(unsent)
                    continue
                if not outq and not conn.has_data_to_send:
                    self.idle.set()
                    self._writer_parked = True
                    await self._writer_lot.park()
                    continue
                if self.idle.is_set():
                    self.idle = trio.Event()
                if outq:
                    conn.send_messages(pipe.take())
                await self._send_buffers(conn.data_to_send())
        except OSError as exc:
            self.close_reason = self.close_reason or f"connection lost: {exc.strerror or exc}"
            cancel_scope.cancel()
        except (ProtocolError, RuntimeError):
            cancel_scope.cancel()  # the reader found the violation and reports it
        finally:
            self._writer_running = False
            self._writer_parked = False

    async def _send_buffers(self, buffers: list[bytes | bytearray | memoryview]) -> None:
        if buffers:
            rest = _send_now(self.sock, buffers)
            if rest:
                await self._send_views(rest)

    async def _send_views(self, pending: list[memoryview]) -> None:
        """Write ``pending`` completely, waiting for the kernel to take it."""
        sock = self.sock
        while pending:
            await _wait_writable(sock)
            pending = _send_now(sock, pending)

    def _bytes_waiting(self) -> bool:
        """Whether the peer sent something the reader has not taken yet (or closed)."""
        try:
            self.sock.recv(1, _PEEK)
        except BlockingIOError:
            return False
        except OSError:
            return True  # the reader meets the error and reports it
        return True

    async def _watchdog(self) -> None:
        """libzmq's heartbeat rules: PING every heartbeat_ivl; close when nothing at all
        arrived within heartbeat_timeout of a PING, or within the TTL the peer announced."""
        options = self.options
        interval = options.heartbeat_ivl
        timeout = options.effective_heartbeat_timeout
        ticks = [value for value in (interval, timeout) if value > 0]
        next_ping = trio.current_time()
        wake_at = next_ping
        while True:
            now = trio.current_time()
            overrun = now - wake_at
            if overrun > _STALL:
                # This process did not run (blocked loop, stopped, starved): the time
                # it lost is not the peer's silence; a PING queued before the stall may
                # not even have left yet.
                self._last_recv += overrun
                if self._unanswered_since is not None:
                    self._unanswered_since += overrun
            if interval > 0 and now >= next_ping:
                self.conn.send_ping(options.heartbeat_ttl)
                self._wake_writer()
                if self._unanswered_since is None:
                    self._unanswered_since = now
                next_ping = now + interval
            since = self._unanswered_since
            ttl = self._peer_ttl
            silent_for = now - since if since is not None else 0.0
            timed_out = interval > 0 and timeout > 0 and since is not None
            timed_out = timed_out and silent_for >= timeout
            ttl_expired = ttl > 0 and now - self._last_recv > ttl
            if (timed_out or ttl_expired) and self._bytes_waiting():
                # After a stall of this process the watchdog can run before the reader:
                # bytes in the kernel (a PONG, any traffic) prove the peer alive.
                self._last_recv = now
                self._unanswered_since = None
            elif timed_out:
                self.close(f"heartbeat timed out: nothing received for {silent_for:.3f} s")
                return
            elif ttl_expired:
                self.close(f"peer's heartbeat TTL of {ttl:.1f} s expired without traffic")
                return
            step = min([*ticks, ttl] if ttl > 0 else ticks) if (ticks or ttl > 0) else 1.0
            pause = max(step / 4, 0.001)
            wake_at = now + pause
            await trio.sleep(pause)


_PEEK = stdlib_socket.MSG_PEEK | getattr(stdlib_socket, "MSG_DONTWAIT", 0)


def _send_now(
    sock: stdlib_socket.socket, buffers: Sequence[bytes | bytearray | memoryview]
) -> list[memoryview]:
    """Write as much of ``buffers`` as the kernel takes now; returns what is left."""
    if len(buffers) == 1 or not _HAS_SENDMSG:
        for index, buffer in enumerate(buffers):
            view = memoryview(buffer)
            while view:
                try:
                    sent = sock.send(view)
                except BlockingIOError:
                    return [view, *(memoryview(rest) for rest in buffers[index + 1 :])]
                view = view[sent:]
        return []
    pending = [memoryview(buffer) for buffer in buffers]
    count = len(pending)
    start = 0
    while start < count:
        try:
            sent = sock.sendmsg(pending[start : start + _IOV_MAX])
        except BlockingIOError:
            return pending[start:]
        while start < count:
            head = pending[start]
            size = head.nbytes
            if sent >= size:
                sent -= size
                start += 1
                continue
            if sent:
                pending[start] = head[sent:]
            break
    return []


class _Refused(Exception):
    """The pattern refused the peer (PAIR already paired, ROUTER id taken)."""
