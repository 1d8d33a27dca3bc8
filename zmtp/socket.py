"""``zmtp.Socket``: a ZeroMQ socket as a trio async context manager.

The socket owns a nursery for its background work (one task per listener, per
connecting endpoint, and per connection's reader/writer) and a pattern object that
decides where each message goes.  ``send``/``recv`` touch only the pattern and the
pipes' deques: when a message can be queued or is waiting, they return without
switching tasks, and every 256th call takes a full trio checkpoint so that a busy loop
still lets the I/O tasks run.  Only when they must wait do they park, and they are woken
by exactly the event that lets them progress (room in a pipe, a message arriving).

Cancellation follows trio: a cancelled ``send`` queued nothing, a cancelled ``recv``
consumed nothing.
"""

from __future__ import annotations

import builtins
import logging
import math
import random
import socket as stdlib_socket
from collections import deque
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any

import trio

from . import inproc
from .endpoint import Endpoint, parse_endpoint
from .engine import Engine
from .errors import Again, EndpointError, SocketClosed
from .monitor import EventKind, EventSink, SocketEvent
from .options import OPTIONS, Options, OptionValues
from .patterns import StateError, make_pattern
from .pipe import Message, Pipe, Received, frame_list
from .protocol import HandshakeComplete
from .protocol.sockettypes import SocketType, is_compatible
from .transport import Listener, configure_stream_socket, open_listener, open_stream
from .waiters import Waiters

__all__ = ["Socket", "StateError"]

log = logging.getLogger("zmtp")

#: send/recv take a full trio checkpoint once per this many calls that did not wait
#: (a power of two): often enough that a busy loop lets the connections' tasks run,
#: rarely enough that the checkpoint's cost (several microseconds) is spread thin.
_CHECKPOINT_EVERY = 256
_ZERO_COPY_MIN = 64 * 1024
_CONFLATE_TYPES = frozenset(
    {SocketType.PUSH, SocketType.PULL, SocketType.PUB, SocketType.SUB, SocketType.DEALER}
)


def _frame(data: Any) -> bytes:
    """Accept any bytes-like frame, and take it as it is at the time of the call.

    Like libzmq's zmq_send, the bytes sent are those the buffer held when ``send``
    was called: a writable buffer (bytearray, array, numpy, mmap, a view of one) is
    copied once here, since the caller may reuse it as soon as ``send`` returns while
    the frame still waits in a queue.  Immutable data is never copied: ``bytes``
    itself, and for large frames a read-only view of a ``bytes`` object (sent
    scatter/gather without a copy).
    """
    if type(data) is bytes:
        return data
    if isinstance(data, str):
        raise TypeError(
            "frames are bytes, not str: encode text first (e.g. text.encode()) "
            "or use send_string"
        )
    view = memoryview(data)
    if (
        view.readonly
        and isinstance(view.obj, bytes)
        and view.nbytes >= _ZERO_COPY_MIN
        and view.contiguous
    ):
        return view.cast("B")  # type: ignore[return-value]  # immutable: zero-copy is safe
    return view.tobytes()


class _Connecter:
    """One ``connect()``ed endpoint: its retry loop, its current engine, its pipe."""

    def __init__(self, endpoint: str, parsed: Endpoint) -> None:
        self.endpoint = endpoint
        self.parsed = parsed
        self.scope = trio.CancelScope()
        self.engine: Engine | None = None
        self.pipe: Pipe | None = None  # persistent pipe (queues before/between connections)
        self.inproc_pipe: Pipe | None = None
        self.assigned_routing_id = b""  # connect_routing_id when connect() was called


class _Binding:
    def __init__(self, endpoint: str, listener: Listener | None) -> None:
        self.endpoint = endpoint
        self.listener = listener
        self.scope = trio.CancelScope()
        self.engines: set[Engine] = set()
        self.inproc_pipes: list[Pipe] = []


class Socket(OptionValues):
    """A ZeroMQ socket.  Use as ``async with zmtp.Socket(zmtp.PUSH, sndhwm=100) as s:``.

    Options are libzmq's names in lower case, given as keyword arguments or set and read
    as attributes (properties installed below the class; ``OptionValues`` types them);
    times are in seconds.  ``zmtp.options.OPTIONS`` documents them all.
    """

    def __init__(self, socket_type: SocketType | int | str, **options: Any) -> None:
        if isinstance(socket_type, str):
            try:
                kind = SocketType[socket_type.upper()]
            except KeyError:
                raise ValueError(f"unknown socket type {socket_type!r}") from None
        else:
            kind = SocketType(socket_type)
        self._type = kind
        self._options = Options(**options)
        self._pattern = make_pattern(kind, self._options)
        self._closed = False
        self._shut_down = False
        self._entered = False
        self._nursery: trio.Nursery | None = None
        self._nursery_manager: Any = None
        self._recv_lot = Waiters()
        self._send_lot = Waiters()
        # Bound once: the hot paths skip two attribute lookups per message.
        self._pattern_send = self._pattern.send
        self._refresh_receiver()
        self._until_checkpoint = _CHECKPOINT_EVERY  # counts down; see _tick
        self._pipes: set[Pipe] = set()
        self._engines: set[Engine] = set()
        self._bindings: dict[str, _Binding] = {}
        self._connecters: dict[str, _Connecter] = {}
        self._events = EventSink()
        self.last_endpoint = ""

    @property
    def socket_type(self) -> SocketType:
        return self._type

    @property
    def type(self) -> SocketType:
        return self._type

    @property
    def closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._pipes)} peers"
        return f"<zmtp.Socket {self._type.name} {state}>"

    # -- lifetime ------------------------------------------------------------------------

    async def __aenter__(self) -> Socket:
        if self._entered:
            raise RuntimeError("a zmtp.Socket can be entered only once")
        self._entered = True
        self._nursery_manager = trio.open_nursery()
        self._nursery = await self._nursery_manager.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: builtins.type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        try:
            await self.aclose()
        finally:
            self._shutdown()
            # The body's own exception is not handed to the nursery: our background tasks
            # never raise, and a user's `except zmtp.Again` must not meet an ExceptionGroup.
            await self._nursery_manager.__aexit__(None, None, None)
        return None

    async def aclose(self) -> None:
        """Close: keep sending what is queued for up to ``linger`` seconds, then drop it."""
        if self._closed:
            return
        self._closed = True
        self._recv_lot.unpark_all()
        self._send_lot.unpark_all()
        try:
            linger = self._options.linger
            if linger != 0:
                with trio.move_on_after(linger if linger > 0 else math.inf):
                    await self._flush()
        finally:
            self._shutdown()

    async def _flush(self) -> None:
        """Wait until every queued outgoing message has been written to its connection."""
        while True:
            busy = [e for e in self._engines if e.pipe is not None and not e.idle.is_set()]
            if busy:
                await busy[0].idle.wait()
                continue
            if not any(p.outq for p in self._pipes if not p.terminated and not p.is_inproc):
                return
            await trio.sleep(0.01)  # a connection is still being made: poll for it

    def _shutdown(self) -> None:
        if self._shut_down:
            return
        self._shut_down = True
        self._closed = True
        inproc.REGISTRY.forget(self)
        for binding in self._bindings.values():
            self._end_binding(binding)
        for connecter in self._connecters.values():
            self._end_connecter(connecter)
        for engine in list(self._engines):
            engine.close()
        for pipe in list(self._pipes):
            self._terminate_pipe(pipe)
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()
        self._events.emit(EventKind.CLOSED, self.last_endpoint)
        self._events.close()

    def _check_open(self) -> trio.Nursery:
        if self._closed:
            raise SocketClosed(f"the {self._type.name} socket is closed")
        if self._nursery is None:
            raise RuntimeError(
                "use the socket inside 'async with zmtp.Socket(...) as s:' before bind/connect"
            )
        return self._nursery

    # -- monitoring ----------------------------------------------------------------------

    def events(self, max_buffer: int = 1000) -> trio.MemoryReceiveChannel[SocketEvent]:
        """A stream of connection events (accepted, handshake succeeded/failed, ...)."""
        return self._events.subscribe(max_buffer)

    # -- pipes ---------------------------------------------------------------------------

    def _new_pipe(self, endpoint: str, locally_initiated: bool) -> Pipe:
        options = self._options
        pipe = Pipe(
            out_limit=options.sndhwm,
            in_limit=options.rcvhwm,
            endpoint=endpoint,
            locally_initiated=locally_initiated,
        )
        self._install(pipe)
        return pipe

    def _install(self, pipe: Pipe) -> None:
        pipe.on_readable = self._on_readable
        pipe.on_writable = self._on_writable
        if self._options.conflate and self._type in _CONFLATE_TYPES:
            # libzmq's ZMQ_CONFLATE: one message per queue, so the HWMs do not apply
            # (a conflating sender never blocks); other socket types ignore the option.
            pipe.conflate = True
            pipe.out_limit = pipe.in_limit = 0
        if isinstance(pipe, inproc.InprocPipe):
            pipe.on_peer_gone = self._terminate_pipe
        self._pipes.add(pipe)

    def _on_readable(self, pipe: Pipe) -> None:
        self._pattern.readable(pipe)
        if self._recv_lot:
            self._recv_lot.unpark_all()

    def _on_writable(self, pipe: Pipe) -> None:
        if self._send_lot:
            self._send_lot.unpark_all()

    def _peer_ready(self, pipe: Pipe) -> bool:
        """The peer on ``pipe`` is known: let the pattern accept or refuse it."""
        pipe.ready = True
        if not self._pattern.pipe_ready(pipe):
            pipe.ready = False
            return False
        displaced = getattr(self._pattern, "displaced", None)
        if displaced:
            for old in displaced:
                self._close_pipe_peer(old, "routing id handed over to a new peer")
            displaced.clear()
        if self._send_lot:
            self._send_lot.unpark_all()
        return True

    def _terminate_pipe(self, pipe: Pipe) -> None:
        if pipe.terminated:
            return
        pipe.terminated = True
        pipe.ready = False
        self._pattern.detach(pipe)
        self._pipes.discard(pipe)
        pipe.unhook_transport()
        if isinstance(pipe, inproc.InprocPipe):
            pipe.peer_terminated()
        if self._recv_lot:
            self._recv_lot.unpark_all()
        if self._send_lot:
            # A sender waiting for room in this pipe must re-decide: with router_mandatory
            # the peer is now unknown (HostUnreachable), it must not wait forever.
            self._send_lot.unpark_all()

    def _close_pipe_peer(self, pipe: Pipe, reason: str) -> None:
        for engine in self._engines:
            if engine.pipe is pipe:
                engine.close(reason)
                return
        self._terminate_pipe(pipe)

    def _on_peer_subscription(self, pipe: Pipe, topic: bytes, subscribe: bool) -> None:
        self._pattern.peer_subscription(pipe, topic, subscribe)
        if self._recv_lot and self._pattern.has_message():
            self._recv_lot.unpark_all()

    # -- engines -------------------------------------------------------------------------

    def _make_engine(
        self, sock: stdlib_socket.socket, endpoint: str, peer: str, connecter: _Connecter | None
    ) -> Engine:
        def attach(engine: Engine, event: HandshakeComplete) -> Pipe | None:
            if self._shut_down:  # while lingering, new connections may still drain queues
                return None
            if connecter is not None and connecter.pipe is not None:
                pipe = connecter.pipe
            else:
                pipe = self._new_pipe(endpoint, connecter is not None)
                self._pattern.attach(pipe)
            pipe.routing_id = event.peer_routing_id
            if connecter is not None:
                pipe.assigned_routing_id = connecter.assigned_routing_id
            pipe.peer_socket_type = event.peer_socket_type
            engine.wire(pipe)
            if not self._peer_ready(pipe):
                engine.unwire(pipe)
                if connecter is None or connecter.pipe is not pipe:
                    self._terminate_pipe(pipe)
                return None
            return pipe

        def detach(engine: Engine, pipe: Pipe) -> None:
            if connecter is not None and connecter.pipe is pipe and not self._shut_down:
                pipe.ready = False  # keeps its queue for the next connection
                if self._pattern.queues_before_connect:
                    return
            self._terminate_pipe(pipe)

        engine = Engine(
            sock,
            self._type,
            self._options,
            endpoint=endpoint,
            peer_address=peer,
            events=self._events,
            attach=attach,
            detach=detach,
            subscription=self._on_peer_subscription,
        )
        return engine

    async def _run_engine(self, engine: Engine, binding: _Binding | None = None) -> None:
        self._engines.add(engine)
        if binding is not None:
            binding.engines.add(engine)
        try:
            await engine.run()
        finally:
            self._engines.discard(engine)
            if binding is not None:
                binding.engines.discard(engine)

    # -- bind / unbind -------------------------------------------------------------------

    async def bind(self, endpoint: str) -> str:
        """Listen on ``endpoint``; returns the endpoint really bound (port ``*`` resolved)."""
        nursery = self._check_open()
        parsed = parse_endpoint(endpoint)
        if parsed.transport == "inproc":
            if not inproc.REGISTRY.bind(parsed.path, self):
                raise EndpointError(f"cannot bind {endpoint}: address already in use")
            binding = _Binding(endpoint, None)
            self._bindings[endpoint] = binding
            for waiting, pair in inproc.REGISTRY.take_waiting(parsed.path):
                if inproc.complete(pair, waiting, self):
                    binding.inproc_pipes.append(pair[1])
            self.last_endpoint = endpoint
            self._events.emit(EventKind.LISTENING, endpoint)
            await trio.lowlevel.checkpoint()
            return endpoint
        try:
            listener = await open_listener(parsed, self._options)
        except EndpointError as exc:
            self._events.emit(EventKind.BIND_FAILED, endpoint, reason=str(exc))
            raise
        resolved = listener.endpoint
        binding = _Binding(resolved, listener)
        self._bindings[resolved] = binding
        if endpoint != resolved:
            self._bindings.setdefault(endpoint, binding)
        nursery.start_soon(self._accept_loop, binding)
        self.last_endpoint = resolved
        self._events.emit(EventKind.LISTENING, resolved)
        return resolved

    async def _accept_loop(self, binding: _Binding) -> None:
        listener = binding.listener
        assert listener is not None
        try:
            await self._accept_connections(binding, listener)
        finally:
            listener.close()  # here, once nothing waits on it any more

    async def _accept_connections(self, binding: _Binding, listener: Listener) -> None:
        with binding.scope:
            async with trio.open_nursery() as nursery:
                while True:
                    try:
                        sock, address = await listener.accept()
                    except OSError as exc:
                        log.warning("zmtp: accept on %s failed: %s", binding.endpoint, exc)
                        await trio.sleep(0.1)  # e.g. EMFILE: back off instead of spinning
                        continue
                    try:
                        configure_stream_socket(sock, self._options)
                    except OSError as exc:  # reset before we got to it (EINVAL on BSDs)
                        log.info("zmtp: accepted connection %s on %s lost at once: %s",
                                 _peer_name(address), binding.endpoint, exc)
                        sock.close()
                        continue
                    peer = _peer_name(address)
                    self._events.emit(EventKind.ACCEPTED, binding.endpoint, peer)
                    engine = self._make_engine(sock, binding.endpoint, peer, None)
                    nursery.start_soon(self._run_engine, engine, binding)

    async def unbind(self, endpoint: str) -> None:
        """Stop listening on ``endpoint`` and drop the connections accepted through it."""
        self._check_open()
        binding = self._bindings.get(endpoint)
        if binding is None:
            raise EndpointError(
                f"not bound to {endpoint!r}; bound: {sorted(set(self._bindings)) or 'nothing'}"
            )
        for key in [key for key, value in self._bindings.items() if value is binding]:
            del self._bindings[key]
        self._end_binding(binding)
        await trio.lowlevel.checkpoint()

    def _end_binding(self, binding: _Binding) -> None:
        binding.scope.cancel()
        for engine in list(binding.engines):
            engine.close("unbound")
        if binding.listener is None:
            parsed = parse_endpoint(binding.endpoint)
            inproc.REGISTRY.unbind(parsed.path, self)
            for pipe in binding.inproc_pipes:
                self._terminate_pipe(pipe)

    # -- connect / disconnect ------------------------------------------------------------

    async def connect(self, endpoint: str) -> None:
        """Connect to ``endpoint``, now or whenever it appears; reconnects if it goes away."""
        nursery = self._check_open()
        parsed = parse_endpoint(endpoint)
        if endpoint in self._connecters:
            raise EndpointError(f"already connected to {endpoint}")
        if parsed.transport == "tcp" and (parsed.port == 0 or parsed.host == "*"):
            raise EndpointError(f"cannot connect to {endpoint}: give a host and a port")
        connecter = _Connecter(endpoint, parsed)
        self._connecters[endpoint] = connecter
        self.last_endpoint = endpoint
        if self._options.connect_routing_id:
            connecter.assigned_routing_id = self._options.connect_routing_id
            self._options.connect_routing_id = b""  # for this connect only, as libzmq
        if parsed.transport == "inproc":
            self._inproc_connect(connecter)
            await trio.lowlevel.checkpoint()
            return
        if self._pattern.queues_before_connect and not self._options.immediate:
            connecter.pipe = self._new_pipe(endpoint, True)
            self._pattern.attach(connecter.pipe)
            if self._send_lot:
                self._send_lot.unpark_all()
        nursery.start_soon(self._connect_loop, connecter)
        await trio.lowlevel.checkpoint()

    async def _connect_loop(self, connecter: _Connecter) -> None:
        options = self._options
        delay = options.reconnect_ivl
        with connecter.scope:
            while True:
                try:
                    sock = await open_stream(connecter.parsed, options)
                except EndpointError as exc:
                    log.warning("zmtp: cannot connect to %s: %s", connecter.endpoint, exc)
                    self._events.emit(EventKind.CONNECT_RETRIED, connecter.endpoint,
                                      reason=str(exc))
                    return
                except OSError as exc:
                    self._events.emit(EventKind.CONNECT_RETRIED, connecter.endpoint,
                                      reason=exc.strerror or str(exc))
                else:
                    peer = connecter.endpoint
                    self._events.emit(EventKind.CONNECTED, connecter.endpoint, peer)
                    engine = self._make_engine(sock, connecter.endpoint, peer, connecter)
                    connecter.engine = engine
                    try:
                        await self._run_engine(engine)
                    finally:
                        connecter.engine = None
                    if engine.pipe is None and "handshake" not in engine.close_reason:
                        delay = options.reconnect_ivl
                if options.reconnect_ivl < 0 or self._shut_down:
                    return
                base = options.reconnect_ivl
                jitter = random.uniform(0, base) if base > 0 else 0.0
                await trio.sleep(delay + jitter)
                if options.reconnect_ivl_max > 0:
                    delay = min(delay * 2, options.reconnect_ivl_max)

    async def disconnect(self, endpoint: str) -> None:
        """Stop connecting to ``endpoint`` and drop that connection (queued messages too)."""
        self._check_open()
        connecter = self._connecters.pop(endpoint, None)
        if connecter is None:
            raise EndpointError(
                f"not connected to {endpoint!r}; connected: "
                f"{sorted(self._connecters) or 'nothing'}"
            )
        self._end_connecter(connecter)
        await trio.lowlevel.checkpoint()

    def _end_connecter(self, connecter: _Connecter) -> None:
        connecter.scope.cancel()
        if connecter.engine is not None:
            connecter.engine.close("disconnected")
        for pipe in (connecter.pipe, connecter.inproc_pipe):
            if pipe is not None:
                self._terminate_pipe(pipe)
        if isinstance(connecter.inproc_pipe, inproc.InprocPipe):
            inproc.REGISTRY.forget(self, connecter.inproc_pipe)

    # -- inproc --------------------------------------------------------------------------

    def _inproc_connect(self, connecter: _Connecter) -> None:
        name = connecter.parsed.path
        binder = inproc.REGISTRY.bound.get(name)
        pair = inproc.open_pair(self, connecter.endpoint, binder)
        c_pipe = pair[0]
        c_pipe.assigned_routing_id = connecter.assigned_routing_id
        connecter.inproc_pipe = c_pipe
        self._install(c_pipe)
        self._pattern.attach(c_pipe)
        if binder is None:
            inproc.REGISTRY.wait_for(name, self, pair)
            if self._send_lot:
                self._send_lot.unpark_all()
        elif inproc.complete(pair, self, binder) and isinstance(binder, Socket):
            binding = binder._bindings.get(connecter.endpoint)
            if binding is not None:
                binding.inproc_pipes.append(pair[1])

    def _inproc_limits(self) -> tuple[int, int, bytes]:
        options = self._options
        return options.sndhwm, options.rcvhwm, options.routing_id

    def _inproc_attach(self, pipe: Pipe, endpoint: str, locally_initiated: bool) -> bool:
        """The binder's end of an inproc pair arrives: accept the peer or refuse it."""
        if self._closed:
            return False
        peer_type = pipe.peer_socket_type
        if peer_type is not None and not is_compatible(self._type, peer_type):
            log.warning("zmtp: inproc %s: %s cannot talk to %s", endpoint, self._type.name,
                        peer_type.name)
            return False
        self._install(pipe)
        self._pattern.attach(pipe)
        if not self._peer_ready(pipe):
            # Refused (PAIR already paired, ROUTER id taken): unhook the pipe, or what the
            # refused peer writes would still reach our pattern through on_readable.
            self._pattern.detach(pipe)
            pipe.on_readable = pipe.on_writable = _ignore_pipe
            self._pipes.discard(pipe)
            return False
        self._events.emit(EventKind.ACCEPTED, endpoint, "inproc")
        self._events.emit(EventKind.HANDSHAKE_SUCCEEDED, endpoint, "inproc")
        if pipe.inq:
            self._on_readable(pipe)
        return True

    def _inproc_ready(self, pipe: Pipe) -> bool:
        """The connecter's end: the binder accepted, so the peer is known now."""
        if self._closed or pipe.terminated:
            return False
        if not self._peer_ready(pipe):
            self._terminate_pipe(pipe)
            return False
        self._events.emit(EventKind.HANDSHAKE_SUCCEEDED, pipe.endpoint, "inproc")
        if pipe.inq:
            self._on_readable(pipe)
        return True

    def _inproc_subscription(self, pipe: Pipe, topic: bytes, subscribe: bool) -> None:
        if not pipe.terminated:
            self._on_peer_subscription(pipe, topic, subscribe)

    # -- sending -------------------------------------------------------------------------

    async def send(self, data: Any) -> None:
        """Send a single-frame message (any bytes-like object)."""
        # The hot path, written out rather than delegating to send_multipart: a message
        # that can be queued is queued without a task switch (see _tick).
        if self._closed:
            raise SocketClosed(f"the {self._type.name} socket is closed")
        # A tuple: queued messages then cost the GC nothing (see MessageBatch).
        message = (data if type(data) is bytes else _frame(data),)
        self._until_checkpoint -= 1
        if not self._until_checkpoint:
            await self._tick()
        if not self._pattern_send(message):
            await self._send_wait(message)

    async def send_multipart(self, frames: Sequence[Any] | Iterable[Any]) -> None:
        """Send one message made of ``frames``; waits while the pattern says so (HWM)."""
        if self._closed:
            raise SocketClosed(f"the {self._type.name} socket is closed")
        message = [_frame(frame) for frame in frames]
        if not message:
            raise ValueError("a message needs at least one frame")
        self._until_checkpoint -= 1
        if not self._until_checkpoint:
            await self._tick()
        if not self._pattern_send(message):
            await self._send_wait(message)

    async def _tick(self) -> None:
        """Every so many sends/receives that did not have to wait: a full checkpoint, taken
        *before* the operation so that a cancellation it delivers leaves nothing done."""
        self._until_checkpoint = _CHECKPOINT_EVERY
        await trio.lowlevel.checkpoint()
        if self._closed:
            raise SocketClosed(f"the {self._type.name} socket was closed")

    async def _send_wait(self, message: Message) -> None:
        timeout = self._options.sndtimeo
        if timeout < 0:
            await self._send_park(message)
            return
        with trio.move_on_after(timeout):
            await self._send_park(message)
            return
        raise Again(f"send timed out after {timeout} s (sndtimeo): no peer could take it")

    async def _send_park(self, message: Message) -> None:
        while True:
            await self._send_lot.park()
            if self._closed:
                raise SocketClosed(f"the {self._type.name} socket was closed")
            if self._pattern_send(message):
                return

    def send_nowait(self, data: Any) -> None:
        self.send_multipart_nowait((data,))

    def send_multipart_nowait(self, frames: Sequence[Any] | Iterable[Any]) -> None:
        """Send or raise ``zmtp.Again`` at once if the message cannot be queued now."""
        if self._closed:
            raise SocketClosed(f"the {self._type.name} socket is closed")
        message = [_frame(frame) for frame in frames]
        if not message:
            raise ValueError("a message needs at least one frame")
        if not self._pattern_send(message):
            raise Again("no peer can take the message now (no peer, or all at sndhwm)")

    # -- receiving -----------------------------------------------------------------------

    async def recv_multipart(self) -> list[bytes]:
        """Receive one whole message as a list of frames."""
        if self._closed:
            raise SocketClosed(f"the {self._type.name} socket is closed")
        self._until_checkpoint -= 1
        if not self._until_checkpoint:
            await self._tick()
        message = self._pattern_recv()
        if message is None:
            message = await self._recv_wait()
        return frame_list(message)

    async def _recv_wait(self) -> Received:
        timeout = self._options.rcvtimeo
        if timeout < 0:  # no cancel scope to enter and leave: this is the latency path
            return await self._recv_park()
        with trio.move_on_after(timeout):
            return await self._recv_park()
        raise Again(f"recv timed out after {timeout} s (rcvtimeo): nothing arrived")

    async def _recv_park(self) -> Received:
        park = self._recv_lot.park
        while True:
            await park()
            if self._closed:
                raise SocketClosed(f"the {self._type.name} socket was closed")
            message = self._pattern_recv()
            if message is not None:
                return message

    async def recv(self) -> bytes:
        """Receive a message and return its first frame (its only frame, usually)."""
        if self._closed:
            raise SocketClosed(f"the {self._type.name} socket is closed")
        self._until_checkpoint -= 1
        if not self._until_checkpoint:
            await self._tick()
        active = self._fq_active
        if active:
            # FairQueue.recv_message's common case, written out (one call less per
            # message): the next pipe in turn has a message and nothing to notify.
            pipe = active[0]
            inq = pipe.inq
            if inq and not pipe.in_blocked and not pipe.is_inproc:
                queued = inq.popleft()
                if not inq:
                    active.popleft()
                elif len(active) > 1:
                    active.rotate(-1)
                return queued if isinstance(queued, bytes) else queued[0]
        message = self._pattern_recv()
        if message is None:
            message = await self._recv_wait()
        if isinstance(message, bytes):  # a bare one-frame message (see Received)
            return message
        return message[0]

    def recv_multipart_nowait(self) -> list[bytes]:
        if self._closed:
            raise SocketClosed(f"the {self._type.name} socket is closed")
        message = self._pattern_recv()
        if message is None:
            raise Again("no message is waiting")
        return frame_list(message)

    def recv_nowait(self) -> bytes:
        if self._closed:
            raise SocketClosed(f"the {self._type.name} socket is closed")
        message = self._pattern_recv()
        if message is None:
            raise Again("no message is waiting")
        return message if isinstance(message, bytes) else message[0]

    # -- subscriptions -------------------------------------------------------------------

    def subscribe(self, topic: bytes | str = b"") -> None:
        """SUB/XSUB: receive messages whose first frame starts with ``topic``."""
        self._check_not_closed()
        self._pattern.subscribe(topic.encode() if isinstance(topic, str) else bytes(topic))
        self._refresh_receiver()

    def unsubscribe(self, topic: bytes | str = b"") -> None:
        """Undo one ``subscribe(topic)`` (subscriptions are counted, as in libzmq)."""
        self._check_not_closed()
        self._pattern.unsubscribe(topic.encode() if isinstance(topic, str) else bytes(topic))
        self._refresh_receiver()

    def _refresh_receiver(self) -> None:
        """Ask the pattern again how to receive (after (un)subscribing, option changes)."""
        pattern = self._pattern
        self._pattern_recv = pattern.receiver()
        # recv takes straight from the fair queue's turn when that is all the pattern does
        fair = self._pattern_recv == pattern.fq.recv_message
        self._fq_active: deque[Pipe] | None = pattern.fq.active if fair else None

    def _check_not_closed(self) -> None:
        if self._closed:
            raise SocketClosed(f"the {self._type.name} socket is closed")


def _option_property(name: str) -> property:
    """``socket.<option>`` reads and sets that option.

    One property per option rather than ``__getattr__``/``__setattr__`` hooks: with a
    hook on the class, CPython stops specialising *every* attribute access on sockets,
    which cost about 80 ns per send or recv."""

    def get(self: Socket) -> Any:
        return self._options.get(name)

    def set(self: Socket, value: Any) -> None:
        self._options.set(name, value)
        self._refresh_receiver()  # invert_matching, say

    return property(get, set, doc=OPTIONS[name].doc)


for _name in OPTIONS:
    setattr(Socket, _name, _option_property(_name))


def _peer_name(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        host = str(address[0])
        return f"[{host}]:{address[1]}" if ":" in host else f"{host}:{address[1]}"
    if isinstance(address, bytes):
        return address.decode(errors="replace") or "ipc"
    return str(address) or "ipc"



def _ignore_pipe(pipe: Pipe) -> None:
    return None
