"""One ZMTP connection over a trio socket: handshake, then a reader, a writer and heartbeats.

The hot paths are shaped for throughput and latency at once:
- the reader takes large chunks and lets the sans-IO core parse every frame in them,
  then hands the whole batch of messages to the pipe in one call;
- the writer drains everything queued in the pipe into the core and writes it with one
  ``send`` (small frames coalesced) or one ``sendmsg`` (large frames, no copy);
- nothing here runs per message except appending to a list.
"""

from __future__ import annotations

import logging
import socket as stdlib_socket
from collections.abc import Callable, Sequence

import trio

from .errors import ProtocolError
from .monitor import EventKind, EventSink
from .options import Options
from .pipe import Message, Pipe
from .protocol import (
    Cancel,
    Closed,
    Connection,
    HandshakeComplete,
    Mechanism,
    NullMechanism,
    PeerError,
    Ping,
    PlainClientMechanism,
    PlainServerMechanism,
    Subscribe,
)
from .protocol import Message as MessageEvent
from .protocol.sockettypes import SocketType

__all__ = ["Engine", "make_mechanism"]

log = logging.getLogger("zmtp")

RECV_SIZE = 256 * 1024
_IOV_MAX = 1024
_HAS_SENDMSG = hasattr(stdlib_socket.socket, "sendmsg")


def make_mechanism(options: Options) -> Mechanism:
    if options.plain_server:
        return PlainServerMechanism(options.plain_authenticator)
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
        sock: trio.socket.SocketType,
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
        )
        self.pipe: Pipe | None = None
        self._writer_lot = trio.lowlevel.ParkingLot()
        self._reader_lot = trio.lowlevel.ParkingLot()
        self._writer_parked = False
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
            self._writer_parked = False
            self._writer_lot.unpark_all()

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
            self._nursery.start_soon(self._watchdog)

    async def _handshake(self) -> Sequence[object]:
        conn = self.conn
        timeout = self.options.handshake_ivl
        with trio.fail_after(timeout if timeout > 0 else float("inf")):
            while True:
                data = await self.sock.recv(RECV_SIZE)
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

    def _deliver(self, events: Sequence[object]) -> bool:
        """Hand parsed events to the pipe and the pattern; False once the peer is gone."""
        pipe = self.pipe
        if pipe is None:
            return False
        batch: list[Message] = []
        alive = True
        for event in events:
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
        while True:
            body = conn.pending_frame_buffer()
            if body is not None:
                count = await sock.recv_into(body)
                if count == 0:
                    events = conn.receive_data(b"")
                else:
                    events = conn.frame_data_received(count)
            else:
                data = await sock.recv(RECV_SIZE)
                events = conn.receive_data(data)
            self._last_recv = trio.current_time()
            self._unanswered_since = None
            if not self._deliver(events):
                return
            while pipe.in_full():
                pipe.in_blocked = True
                await self._reader_lot.park()

    async def _writer(self, cancel_scope: trio.CancelScope) -> None:
        conn = self.conn
        pipe = self.pipe
        assert pipe is not None
        outq = pipe.outq
        try:
            while True:
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

    async def _send_buffers(self, buffers: list[bytes | bytearray | memoryview]) -> None:
        sock = self.sock
        if len(buffers) == 1 or not _HAS_SENDMSG:
            for buffer in buffers:
                view = memoryview(buffer)
                while view:
                    sent = await sock.send(view)
                    view = view[sent:]
            return
        pending = [memoryview(buffer) for buffer in buffers]
        while pending:
            sent = await sock.sendmsg(pending[:_IOV_MAX])
            while sent and pending:
                head = pending[0]
                if sent >= len(head):
                    sent -= len(head)
                    pending.pop(0)
                else:
                    pending[0] = head[sent:]
                    sent = 0

    async def _watchdog(self) -> None:
        """libzmq's heartbeat rules: PING every heartbeat_ivl; close when nothing at all
        arrived within heartbeat_timeout of a PING, or within the TTL the peer announced."""
        options = self.options
        interval = options.heartbeat_ivl
        timeout = options.effective_heartbeat_timeout
        ticks = [value for value in (interval, timeout) if value > 0]
        next_ping = trio.current_time()
        while True:
            now = trio.current_time()
            if interval > 0 and now >= next_ping:
                self.conn.send_ping(options.heartbeat_ttl)
                self._wake_writer()
                if self._unanswered_since is None:
                    self._unanswered_since = now
                next_ping = now + interval
            since = self._unanswered_since
            if interval > 0 and timeout > 0 and since is not None and now - since >= timeout:
                self.close(f"heartbeat timed out: nothing received for {now - since:.3f} s")
                return
            ttl = self._peer_ttl
            if ttl > 0 and now - self._last_recv > ttl:
                self.close(f"peer's heartbeat TTL of {ttl:.1f} s expired without traffic")
                return
            step = min([*ticks, ttl] if ttl > 0 else ticks) if (ticks or ttl > 0) else 1.0
            await trio.sleep(max(step / 4, 0.001))


class _Refused(Exception):
    """The pattern refused the peer (PAIR already paired, ROUTER id taken)."""
