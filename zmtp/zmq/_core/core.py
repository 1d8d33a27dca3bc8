"""The socket core: one socket's pattern, pipes, options, bindings and connections.

Shared by the user's thread(s) and the loop that runs the connections, under the
context's lock (one re-entrant lock per context, because inproc pipes reach straight
into the peer socket's pattern).  The user side calls ``send``/``recv``; when a message
can be queued or is waiting they return at once: the only cross-thread effect of a send
is one ``call_soon_threadsafe`` per burst (when a connection's writer goes from idle to
busy), and a recv with a message waiting wakes nobody.  Waiting uses conditions on the
same lock, notified by the loop side only when someone waits.

Errors are zmtp's own (``Again``, ``SocketClosed``, ``StateError``, ``EndpointError``,
``HostUnreachable``) plus ``Terminated``; the faces translate them to pyzmq's.
"""

from __future__ import annotations

import asyncio
import errno as errno_mod
import logging
import os
import random
import socket as stdlib_socket
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from ... import inproc
from ...endpoint import Endpoint, parse_endpoint
from ...errors import Again, EndpointError, SocketClosed, ZMTPError
from ...options import Options
from ...patterns import make_pattern
from ...patterns.pubsub import Sub as _Sub
from ...pipe import Message, Pipe, frame_list
from ...protocol import HandshakeComplete
from ...protocol.sockettypes import SocketType, is_compatible
from .driver import Driver, LoopDriver
from .engine import StreamEngine
from .events import EV, encode_event

__all__ = ["Shared", "SocketCore", "Terminated"]

log = logging.getLogger("zmtp.zmq")
#: Longest ipc path a sockaddr_un takes on Linux (without the terminating NUL).
IPC_PATH_MAX_LEN = 107
#: Messages a blocking recv may take ahead for the patterns where that is invisible.
RECV_BATCH = 64


class Terminated(ZMTPError):
    """The context was terminated (libzmq's ETERM)."""


class Shared:
    """What the sockets of one context share: the lock, the inproc names, the driver."""

    def __init__(self, driver: Driver) -> None:
        self.lock = threading.RLock()
        self.registry = inproc.Registry()
        self.driver = driver
        self.cores: set[SocketCore] = set()
        self.done = threading.Condition(self.lock)
        self.terminated = False
        self.closed = False  # the context was terminated
        if isinstance(driver, LoopDriver):
            driver.on_new_loop = self._rehome

    def _rehome(self) -> None:
        """The loop changed (asyncio face): every socket restarts its network I/O on it."""
        with self.lock:
            cores = list(self.cores)
        for core in cores:
            core.rehome()


class _Binding:
    def __init__(self, endpoint: str, sock: stdlib_socket.socket | None,
                 ipc_path: str | None = None) -> None:
        self.endpoint = endpoint
        self.sock = sock
        self.ipc_path = ipc_path
        self.server: asyncio.AbstractServer | None = None
        self.starting = False
        self.closed = False
        self.engines: set[StreamEngine] = set()
        self.inproc_pipes: list[Pipe] = []

    def is_closed(self) -> bool:
        return self.closed


class _Connecter:
    def __init__(self, endpoint: str, parsed: Endpoint) -> None:
        self.endpoint = endpoint
        self.parsed = parsed
        self.engine: StreamEngine | None = None
        self.pipe: Pipe | None = None
        self.inproc_pipe: Pipe | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[Any] | None = None
        self.closed = False
        self.delay = 0.0
        self.assigned_routing_id = b""  # connect_routing_id when connect() was called


def _ignore_pipe(pipe: Pipe) -> None:
    return None


class SocketCore:
    """See the module docstring.  Methods named ``engine_*``/``_loop_*`` run on the loop."""

    def __init__(self, shared: Shared, socket_type: SocketType) -> None:
        self.shared = shared
        self.lock = shared.lock
        self.driver = shared.driver
        self.socket_type = socket_type
        self.options = Options()
        self.pattern = make_pattern(socket_type, self.options)
        self.recv_cond = threading.Condition(self.lock)
        self.send_cond = threading.Condition(self.lock)
        self.recv_waiters = 0
        self.send_waiters = 0
        #: Called (under the lock) whenever readiness may have changed; set by watchers.
        self.hook: Callable[[], None] | None = None
        self._fd_r = -1
        self._fd_w = -1
        self._fd_signalled = False
        self.closed = False  # closed by the user
        self.terminated = False  # the context is terminating
        self.shut_down = False
        self.done = False  # shut down and lingered: the context may end
        self.pipes: set[Pipe] = set()
        self.engines: set[StreamEngine] = set()
        self.bindings: dict[str, _Binding] = {}
        self.connecters: dict[str, _Connecter] = {}
        self.last_endpoint = ""
        self.monitors: list[tuple[SocketCore, int]] = []
        self.uses_loop = False
        self.tracks: list[tuple[Any, Any]] = []
        #: A recv happened since the last wake of a writer (see StreamEngine.wake_writer).
        self.received = False
        #: When a writer of this socket was last woken (same).
        self.last_wake = 0.0
        with self.lock:
            shared.cores.add(self)

    # -- the loop ----------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self.driver.loop
        assert loop is not None
        return loop

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        self.driver.call_soon(fn, *args)

    def _on_loop(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the loop (soon); if the loop cannot run yet, when it can."""
        self.uses_loop = True
        if self.driver.ensure() is None:
            self.driver.pending.append(fn)
            return
        self.call_soon(fn)

    def start_pending(self) -> None:
        """asyncio face: a loop is running now; start what bind/connect left waiting
        (for every socket of the context: a peer may be used before this one is)."""
        driver = self.driver
        if driver.pending and driver.ensure() is not None:
            pending, driver.pending = driver.pending, []
            for fn in pending:
                self.call_soon(fn)

    # -- readiness notifications (under the lock) ----------------------------------------

    def _changed(self) -> None:
        if self.recv_waiters:
            self.recv_cond.notify_all()
        if self.send_waiters:
            self.send_cond.notify_all()
        hook = self.hook
        if hook is not None:
            hook()
        if self._fd_w >= 0 and not self._fd_signalled:
            self._fd_signalled = True
            try:
                os.write(self._fd_w, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass

    def _on_readable(self, pipe: Pipe) -> None:
        self.pattern.readable(pipe)
        if self.recv_waiters:
            self.recv_cond.notify()
        if self.hook is not None or self._fd_w >= 0:
            self._changed()

    def _on_writable(self, pipe: Pipe) -> None:
        self._changed()

    def fileno(self) -> int:
        """An fd that turns readable when events may have changed (ZMQ_FD)."""
        with self.lock:
            if self._fd_r < 0:
                if hasattr(os, "eventfd"):
                    fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
                    self._fd_r = self._fd_w = fd
                else:
                    r, w = os.pipe()
                    os.set_blocking(r, False)
                    os.set_blocking(w, False)
                    self._fd_r, self._fd_w = r, w
                self._fd_signalled = False
                self._changed()  # level at first: the caller checks EVENTS
            return self._fd_r

    def events(self) -> int:
        """POLLIN|POLLOUT bits now; also re-arms the fd (reading EVENTS drains it)."""
        with self.lock:
            if self._fd_signalled:
                self._fd_signalled = False
                try:
                    os.read(self._fd_r, 8)
                except OSError:
                    pass
            return self.poll_events()

    def poll_events(self) -> int:
        if self.closed:
            return 0
        pattern = self.pattern
        bits = 0
        if pattern.can_recv and (pattern.has_message() if type(pattern) is not _Sub
                                 else _sub_has_message(pattern)):
            bits |= 1
        if pattern.can_send and _can_send(pattern):
            bits |= 2
        return bits

    # -- user side: send / recv ----------------------------------------------------------

    def _check(self) -> None:
        if self.closed:
            raise SocketClosed("the socket is closed")
        if self.terminated:
            raise Terminated("the context was terminated")

    def send(self, message: Message, block: bool = True, timeout: float = -1.0) -> None:
        with self.lock:
            if self.closed or self.terminated:
                self._check()
            if self.pattern.send(message):
                return
            if not block or timeout == 0:
                raise Again("no peer can take the message now")
            deadline = None if timeout < 0 else time.monotonic() + timeout
            self.send_waiters += 1
            try:
                while True:
                    if deadline is None:
                        self.send_cond.wait()
                    else:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            raise Again("send timed out (sndtimeo)")
                        self.send_cond.wait(left)
                    self._check()
                    if self.pattern.send(message):
                        return
            finally:
                self.send_waiters -= 1

    def try_send(self, message: Message) -> bool:
        with self.lock:
            self._check()
            return self.pattern.send(message)

    def recv(self, block: bool = True, timeout: float = -1.0) -> list[bytes]:
        with self.lock:
            self._check()
            self.received = True
            message = self.pattern.recv()
            if message is not None:
                return frame_list(message)
            if not block or timeout == 0:
                raise Again("no message is waiting")
            deadline = None if timeout < 0 else time.monotonic() + timeout
            self.recv_waiters += 1
            try:
                while True:
                    if deadline is None:
                        self.recv_cond.wait()
                    else:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            raise Again("recv timed out (rcvtimeo)")
                        self.recv_cond.wait(left)
                    self._check()
                    message = self.pattern.recv()
                    if message is not None:
                        return frame_list(message)
            finally:
                self.recv_waiters -= 1

    def recv_batch(self, into: deque[list[bytes]], block: bool = True,
                   timeout: float = -1.0) -> list[bytes]:
        """Like ``recv``, and also move up to ``RECV_BATCH`` more waiting messages into
        ``into``, under the same lock: the face hands them out without locking again.
        Only for patterns where taking a message early changes nothing (see
        ``batchable``)."""
        with self.lock:
            message = self.recv(block, timeout)
            pattern = self.pattern
            recv = pattern.receiver()
            append = into.append
            for _ in range(RECV_BATCH):
                more = recv()
                if more is None:
                    break
                append(frame_list(more))
            return message

    def try_recv(self) -> list[bytes] | None:
        with self.lock:
            self._check()
            message = self.pattern.recv()
            return None if message is None else frame_list(message)

    def wait_events(self, mask: int, timeout: float) -> int:
        """Block until one of ``mask``'s bits is ready, or ``timeout`` s (-1: forever)."""
        deadline = None if timeout < 0 else time.monotonic() + timeout
        with self.lock:
            self.recv_waiters += 1
            self.send_waiters += 1
            try:
                while True:
                    self._check()
                    bits = self.poll_events() & mask
                    if bits or (deadline is not None and deadline <= time.monotonic()):
                        return bits
                    cond = self.recv_cond if mask & 1 else self.send_cond
                    cond.wait(None if deadline is None else deadline - time.monotonic())
            finally:
                self.recv_waiters -= 1
                self.send_waiters -= 1

    def subscribe(self, topic: bytes, on: bool) -> None:
        with self.lock:
            self._check()
            if on:
                self.pattern.subscribe(topic)
            else:
                self.pattern.unsubscribe(topic)

    # -- pipes ---------------------------------------------------------------------------

    def _new_pipe(self, endpoint: str, locally_initiated: bool) -> Pipe:
        options = self.options
        pipe = Pipe(out_limit=options.sndhwm, in_limit=options.rcvhwm, endpoint=endpoint,
                    locally_initiated=locally_initiated)
        self._install(pipe)
        return pipe

    def _install(self, pipe: Pipe) -> None:
        pipe.on_readable = self._on_readable
        pipe.on_writable = self._on_writable
        pipe.conflate = self.options.conflate
        if isinstance(pipe, inproc.InprocPipe):
            pipe.on_peer_gone = self._terminate_pipe
        self.pipes.add(pipe)

    def _peer_ready(self, pipe: Pipe) -> bool:
        pipe.ready = True
        if not self.pattern.pipe_ready(pipe):
            pipe.ready = False
            return False
        displaced = getattr(self.pattern, "displaced", None)
        if displaced:
            for old in displaced:
                self._close_pipe_peer(old, "routing id handed over to a new peer")
            displaced.clear()
        self._changed()
        return True

    def _terminate_pipe(self, pipe: Pipe) -> None:
        if pipe.terminated:
            return
        pipe.terminated = True
        pipe.ready = False
        self.pattern.detach(pipe)
        self.pipes.discard(pipe)
        pipe.unhook_transport()
        if isinstance(pipe, inproc.InprocPipe):
            pipe.peer_terminated()
        self._changed()

    def _close_pipe_peer(self, pipe: Pipe, reason: str) -> None:
        for engine in self.engines:
            if engine.pipe is pipe:
                self.call_soon(engine.close, reason)
                return
        self._terminate_pipe(pipe)

    def peer_subscription(self, pipe: Pipe, topic: bytes, subscribe: bool) -> None:
        self.pattern.peer_subscription(pipe, topic, subscribe)
        if self.pattern.has_message():
            self._changed()

    # -- monitor -------------------------------------------------------------------------

    def emit(self, event: int, endpoint: str, value: int = 0) -> None:
        if not self.monitors:
            return
        with self.lock:
            for mon, mask in list(self.monitors):
                if mask & event and not mon.closed:
                    try:
                        mon.pattern.send(encode_event(event, value, endpoint))
                    except ZMTPError:
                        pass

    # -- engines (loop thread) -------------------------------------------------------------

    def engine_started(self, engine: StreamEngine) -> bool:
        with self.lock:
            if self.shut_down:
                return False
            self.engines.add(engine)
            if engine.binding is not None:
                if engine.binding.closed:
                    self.engines.discard(engine)
                    return False
                engine.binding.engines.add(engine)
                self.emit(EV.ACCEPTED, engine.endpoint, engine.fd)
            else:
                connecter = engine.connecter
                if connecter is None or connecter.closed:
                    self.engines.discard(engine)
                    return False
                connecter.engine = engine
                connecter.delay = self.options.reconnect_ivl
                self.emit(EV.CONNECTED, engine.endpoint, engine.fd)
            return True

    def engine_ready(self, engine: StreamEngine, event: HandshakeComplete) -> Pipe | None:
        with self.lock:
            if self.shut_down:
                return None
            connecter = engine.connecter
            peer_type = event.peer_socket_type
            if peer_type is not None and not is_compatible(self.socket_type, peer_type):
                return None
            if connecter is not None and connecter.pipe is not None:
                pipe = connecter.pipe
            else:
                pipe = self._new_pipe(engine.endpoint, connecter is not None)
                self.pattern.attach(pipe)
            pipe.routing_id = event.peer_routing_id
            if connecter is not None:
                pipe.assigned_routing_id = connecter.assigned_routing_id
            pipe.peer_socket_type = event.peer_socket_type
            engine.wire(pipe)
            if not self._peer_ready(pipe):
                pipe.unhook_transport()
                if connecter is None or connecter.pipe is not pipe:
                    self._terminate_pipe(pipe)
                return None
            if pipe.outq:
                engine.wake_writer()
            self.emit(EV.HANDSHAKE_SUCCEEDED, engine.endpoint, 0)
            return pipe

    def engine_stopped(self, engine: StreamEngine) -> None:
        with self.lock:
            self.engines.discard(engine)
            if engine.binding is not None:
                engine.binding.engines.discard(engine)
            pipe = engine.pipe
            connecter = engine.connecter
            if pipe is not None:
                engine.pipe = None
                pipe.unhook_transport()
                if (connecter is not None and connecter.pipe is pipe and not self.shut_down
                        and not connecter.closed):
                    pipe.ready = False  # keeps its queue for the next connection
                    if not self.pattern.queues_before_connect:
                        self._terminate_pipe(pipe)
                        connecter.pipe = None
                else:
                    self._terminate_pipe(pipe)
            if engine.fd >= 0:
                self.emit(EV.DISCONNECTED, engine.endpoint, engine.fd)
            if connecter is not None:
                connecter.engine = None
                if not connecter.closed and not self.shut_down:
                    self._schedule_reconnect(connecter)
            self._changed()
        if self.shut_down:
            self._check_done()

    # -- bind / unbind -------------------------------------------------------------------

    def bind(self, endpoint: str) -> str:
        with self.lock:
            self._check()
        parsed = parse_endpoint(endpoint)
        if parsed.transport == "inproc":
            with self.lock:
                registry = self.shared.registry
                if not registry.bind(parsed.path, self):
                    raise EndpointError(f"cannot bind {endpoint}: address already in use",
                                        )
                binding = _Binding(endpoint, None)
                self.bindings[endpoint] = binding
                for waiting, pair in registry.take_waiting(parsed.path):
                    if inproc.complete(pair, waiting, self):
                        binding.inproc_pipes.append(pair[1])
                self.last_endpoint = endpoint
                return endpoint
        sock, resolved, ipc_path = _open_listener(parsed, self.options)
        with self.lock:
            if self.closed:
                sock.close()
                raise SocketClosed("the socket is closed")
            binding = _Binding(resolved, sock, ipc_path)
            self.bindings[resolved] = binding
            if endpoint != resolved:
                self.bindings.setdefault(endpoint, binding)
            self.last_endpoint = resolved
            self.emit(EV.LISTENING, resolved, sock.fileno())
        self._on_loop(lambda: self._loop_serve(binding))
        return resolved

    def _loop_serve(self, binding: _Binding) -> None:
        self.loop.create_task(self._serve(binding))

    async def _serve(self, binding: _Binding) -> None:
        sock = binding.sock
        if binding.closed or sock is None:
            return

        def factory() -> StreamEngine:
            return StreamEngine(self, binding.endpoint, binding=binding)

        binding.starting = True
        try:
            if sock.family == stdlib_socket.AF_UNIX:
                server = await self.loop.create_unix_server(factory, sock=sock,
                                                            backlog=self.options.backlog)
            else:
                server = await self.loop.create_server(factory, sock=sock,
                                                       backlog=self.options.backlog)
        except OSError as exc:
            log.warning("zmtp.zmq: cannot serve %s: %s", binding.endpoint, exc)
            return
        finally:
            binding.starting = False
        binding.server = server
        if binding.is_closed():  # unbound or closed while the server was starting
            server.close()

    def unbind(self, endpoint: str) -> None:
        with self.lock:
            self._check()
            binding = self.bindings.get(endpoint)
            if binding is None:
                raise EndpointError(f"not bound to {endpoint!r}", )
            for key in [key for key, value in self.bindings.items() if value is binding]:
                del self.bindings[key]
            self._end_binding(binding, later=False)
        if binding.sock is not None and self.driver.loop is not None:
            # libzmq's unbind frees the address before returning: wait for the loop
            self._wait_on_loop(lambda: self._loop_end_binding(binding))

    def _wait_on_loop(self, fn: Callable[[], None]) -> None:
        if threading.get_ident() == self.driver.thread_id:
            fn()
            return
        done = threading.Event()

        def run() -> None:
            try:
                fn()
            finally:
                done.set()

        self.call_soon(run)
        done.wait(5.0)

    def _end_binding(self, binding: _Binding, later: bool = True) -> None:
        """Under the lock; network parts finish on the loop (``later``: scheduled here)."""
        if binding.closed:
            return
        binding.closed = True
        if binding.sock is None:
            self.shared.registry.unbind(parse_endpoint(binding.endpoint).path, self)
            for pipe in binding.inproc_pipes:
                self._terminate_pipe(pipe)
            return
        if not self.driver.alive():
            _close_listener(binding)
            return
        if later:
            self.call_soon(self._loop_end_binding, binding)

    def _loop_end_binding(self, binding: _Binding) -> None:
        server = binding.server
        if server is not None:
            server.close()
        elif binding.starting:
            pass  # _serve closes the server as soon as it has it
        elif binding.sock is not None:
            binding.sock.close()
        if binding.ipc_path is not None:
            try:
                os.unlink(binding.ipc_path)
            except OSError:
                pass
        for engine in list(binding.engines):
            engine.close("unbound", abort=self.options.linger == 0)

    # -- connect / disconnect ------------------------------------------------------------

    def connect(self, endpoint: str) -> None:
        parsed = parse_endpoint(endpoint)
        if parsed.transport == "tcp" and (parsed.port == 0 or parsed.host == "*"):
            raise EndpointError(f"cannot connect to {endpoint}: give a host and a port")
        if parsed.transport == "ipc" and parsed.path == "*":
            raise EndpointError("cannot connect to ipc://*: it is only for bind")
        with self.lock:
            self._check()
            if endpoint in self.connecters:
                # libzmq allows connecting twice to the same endpoint; keep one connection
                return
            connecter = _Connecter(endpoint, parsed)
            self.connecters[endpoint] = connecter
            self.last_endpoint = endpoint
            if self.options.connect_routing_id:
                connecter.assigned_routing_id = self.options.connect_routing_id
                self.options.connect_routing_id = b""  # for this connect only, as libzmq
            if parsed.transport == "inproc":
                self._inproc_connect(connecter)
                return
            if self.pattern.queues_before_connect and not self.options.immediate:
                connecter.pipe = self._new_pipe(endpoint, True)
                self.pattern.attach(connecter.pipe)
                self._changed()
            connecter.delay = self.options.reconnect_ivl
        self._on_loop(lambda: self._loop_connect(connecter))

    def _loop_connect(self, connecter: _Connecter) -> None:
        connecter.timer = None
        if connecter.closed or self.shut_down:
            return
        task = connecter.task = self.loop.create_task(self._connect_once(connecter))
        task.add_done_callback(lambda task: self._connect_task_done(connecter, task))

    def _connect_task_done(self, connecter: _Connecter, task: asyncio.Task[Any]) -> None:
        if not task.cancelled():
            return
        with self.lock:
            if self.closed and not connecter.closed and not self.shut_down:
                # Cancelled from outside while the closed socket lingers (asyncio.run
                # cancels every task as it ends, even one not started yet; the asyncio
                # face keeps the loop turning for lingering sockets): the queued
                # messages still need this connection.
                connecter.task = None
                self.loop.call_soon(self._loop_connect, connecter)

    async def _connect_once(self, connecter: _Connecter) -> None:
        parsed = connecter.parsed
        loop = self.loop

        def factory() -> StreamEngine:
            return StreamEngine(self, connecter.endpoint, connecter=connecter)

        self.emit(EV.CONNECT_DELAYED, connecter.endpoint, errno_mod.EINPROGRESS)
        try:
            if parsed.transport == "tcp":
                family = (stdlib_socket.AF_UNSPEC if self.options.ipv6 or ":" in parsed.host
                          else stdlib_socket.AF_INET)
                connecting = loop.create_connection(factory, parsed.host, parsed.port,
                                                    family=family)
                timeout = self.options.connect_timeout
                if timeout > 0:
                    try:
                        await asyncio.wait_for(connecting, timeout)
                    except asyncio.TimeoutError:  # not an OSError before Python 3.11
                        raise TimeoutError(errno_mod.ETIMEDOUT,
                                           "connect timed out (connect_timeout)") from None
                else:
                    await connecting
            else:
                path = parsed.path
                address = "\x00" + path[1:] if path.startswith("@") else path
                await loop.create_unix_connection(factory, address)
        except asyncio.CancelledError:
            return
        except OSError as exc:
            log.debug("zmtp.zmq: connect %s failed: %s", connecter.endpoint, exc)
            with self.lock:
                if not connecter.closed and not self.shut_down:
                    self._schedule_reconnect(connecter)
        finally:
            connecter.task = None

    def _schedule_reconnect(self, connecter: _Connecter) -> None:
        """Under the lock, on the loop: try again after the (backed-off) interval."""
        options = self.options
        if options.reconnect_ivl < 0 or connecter.timer is not None:
            return
        delay = max(connecter.delay, 0.0)
        base = options.reconnect_ivl
        self.emit(EV.CONNECT_RETRIED, connecter.endpoint, int(delay * 1000))
        jitter = random.uniform(0, base) if base > 0 and options.reconnect_ivl_max > 0 else 0.0
        connecter.timer = self.loop.call_later(delay + jitter, self._loop_connect, connecter)
        if options.reconnect_ivl_max > 0:
            connecter.delay = min(max(delay, base) * 2, options.reconnect_ivl_max)

    def disconnect(self, endpoint: str) -> None:
        with self.lock:
            self._check()
            connecter = self.connecters.pop(endpoint, None)
            if connecter is None:
                raise EndpointError(f"not connected to {endpoint!r}")
            self._end_connecter(connecter)

    def _end_connecter(self, connecter: _Connecter) -> None:
        """Under the lock."""
        connecter.closed = True
        for pipe in (connecter.pipe, connecter.inproc_pipe):
            if pipe is not None:
                self._terminate_pipe(pipe)
        if isinstance(connecter.inproc_pipe, inproc.InprocPipe):
            self.shared.registry.forget(self, connecter.inproc_pipe)
        if self.driver.loop is not None and connecter.parsed.transport != "inproc":
            self.call_soon(self._loop_end_connecter, connecter)

    def _loop_end_connecter(self, connecter: _Connecter) -> None:
        if connecter.timer is not None:
            connecter.timer.cancel()
            connecter.timer = None
        if connecter.task is not None:
            connecter.task.cancel()
        engine = connecter.engine
        if engine is not None:
            engine.close("disconnected", abort=self.options.linger == 0)

    # -- inproc (all under the lock) -----------------------------------------------------

    def _inproc_connect(self, connecter: _Connecter) -> None:
        name = connecter.parsed.path
        registry = self.shared.registry
        binder = registry.bound.get(name)
        pair = inproc.open_pair(self, connecter.endpoint, binder)
        c_pipe = pair[0]
        c_pipe.assigned_routing_id = connecter.assigned_routing_id
        connecter.inproc_pipe = c_pipe
        self._install(c_pipe)
        self.pattern.attach(c_pipe)
        if binder is None:
            registry.wait_for(name, self, pair)
            self._changed()
        elif inproc.complete(pair, self, binder) and isinstance(binder, SocketCore):
            binding = binder.bindings.get(connecter.endpoint)
            if binding is not None:
                binding.inproc_pipes.append(pair[1])

    def _inproc_limits(self) -> tuple[int, int, bytes]:
        options = self.options
        return options.sndhwm, options.rcvhwm, options.routing_id

    def _inproc_attach(self, pipe: Pipe, endpoint: str, locally_initiated: bool) -> bool:
        if self.closed or self.shut_down:
            return False
        peer_type = pipe.peer_socket_type
        if peer_type is not None and not is_compatible(self.socket_type, peer_type):
            return False
        self._install(pipe)
        self.pattern.attach(pipe)
        if not self._peer_ready(pipe):
            self.pattern.detach(pipe)
            pipe.on_readable = pipe.on_writable = _ignore_pipe
            self.pipes.discard(pipe)
            return False
        self.emit(EV.ACCEPTED, endpoint, 0)
        self.emit(EV.HANDSHAKE_SUCCEEDED, endpoint, 0)
        if pipe.inq:
            self._on_readable(pipe)
        return True

    def _inproc_ready(self, pipe: Pipe) -> bool:
        if self.closed or pipe.terminated:
            return False
        if not self._peer_ready(pipe):
            self._terminate_pipe(pipe)
            return False
        self.emit(EV.CONNECTED, pipe.endpoint, 0)
        self.emit(EV.HANDSHAKE_SUCCEEDED, pipe.endpoint, 0)
        if pipe.inq:
            self._on_readable(pipe)
        return True

    def _inproc_subscription(self, pipe: Pipe, topic: bytes, subscribe: bool) -> None:
        if not pipe.terminated:
            self.peer_subscription(pipe, topic, subscribe)

    # -- close, linger, terminate ----------------------------------------------------------

    def terminate(self) -> None:
        """The context is terminating: blocked and later calls raise Terminated."""
        with self.lock:
            self.terminated = True
            self._changed()

    def close(self, linger: float | None = None) -> None:
        """Close now for the user; queued messages keep going for ``linger`` s."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            self._changed()
            if linger is None:
                linger = self.options.linger
            if not self.driver.alive() or not self.uses_loop:
                self._shutdown(abort=True)
                return
        self.call_soon(self._loop_linger, linger)

    def _loop_linger(self, linger: float) -> None:
        deadline = None if linger < 0 else self.loop.time() + linger
        self._linger_step(deadline)

    def _linger_step(self, deadline: float | None) -> None:
        with self.lock:
            busy = any(not engine.write_idle() for engine in self.engines)
            if not busy:
                busy = any(
                    pipe.outq for pipe in self.pipes if not pipe.terminated and not pipe.is_inproc
                )
            expired = deadline is not None and self.loop.time() >= deadline
            if not busy or expired:
                self._shutdown(abort=expired)
                return
        self.loop.call_later(0.005, self._linger_step, deadline)

    def _shutdown(self, abort: bool) -> None:
        """Under the lock: drop everything; network parts end on the loop."""
        if self.shut_down:
            return
        self.shut_down = True
        self.closed = True
        self.shared.registry.forget(self)
        for binding in set(self.bindings.values()):
            self._end_binding(binding)
        self.bindings.clear()
        for connecter in self.connecters.values():
            self._end_connecter(connecter)
        self.connecters.clear()
        for pipe in list(self.pipes):
            self._terminate_pipe(pipe)
        self.emit(EV.CLOSED, self.last_endpoint, 0)
        monitors, self.monitors = self.monitors, []
        for mon, _mask in monitors:
            mon.close(0)
        if self.driver.alive() and self.engines:
            for engine in list(self.engines):
                self.call_soon(_close_engine, engine, abort)
            self.call_soon(self._check_done)
        else:
            self._mark_done()

    def _check_done(self) -> None:
        with self.lock:
            if not self.engines and not self.done:
                self._mark_done()

    def _mark_done(self) -> None:
        self.done = True
        tracks, self.tracks = self.tracks, []
        for event, _frame in tracks:  # dropped with the socket: nothing holds them now
            if event is not None:
                event.set()
        if self._fd_r >= 0:
            fds = {self._fd_r, self._fd_w}
            self._fd_r = self._fd_w = -1
            for fd in fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.shared.cores.discard(self)
        self.shared.done.notify_all()

    # -- moving to a new loop (asyncio face) ---------------------------------------------

    def rehome(self) -> None:
        """On the new loop: drop the connections the closed loop ran (connecters then
        reconnect, peers reconnect to us), serve our listeners again, restart connects."""
        if self.shut_down:
            return
        with self.lock:
            engines = list(self.engines)
            bindings = [b for b in set(self.bindings.values())
                        if b.sock is not None and not b.closed]
            connecters = [c for c in self.connecters.values()
                          if c.parsed.transport != "inproc" and not c.closed]
            for connecter in connecters:
                connecter.timer = None  # handles of the closed loop: never run
                connecter.task = None
        for engine in engines:
            engine.abandon()
        for binding in bindings:
            binding.server = None
            binding.starting = False
            self.call_soon(self._loop_serve, binding)
        for connecter in connecters:
            if connecter.engine is None and connecter.timer is None:
                self.call_soon(self._loop_connect, connecter)

    # -- message tracking (track=True) ---------------------------------------------------

    def add_tracks(self, holds: list[tuple[Any, Any]]) -> None:
        """Hold ``(event, frame)`` pairs until everything queued so far is written; then
        set the events and let the frames go (their own trackers end with them)."""
        with self.lock:
            self.tracks.extend(holds)
        if self.driver.alive() and self.uses_loop:
            self.call_soon(self.check_tracks)
        else:
            self.check_tracks()

    def check_tracks(self) -> None:
        with self.lock:
            if not self.tracks:
                return
            busy = not self.shut_down and (
                any(not engine.write_idle() for engine in self.engines)
                or any(p.outq for p in self.pipes if not p.terminated and not p.is_inproc)
            )
            if busy:
                if self.driver.alive():
                    self.call_soon(self._recheck_tracks)
                return
            tracks, self.tracks = self.tracks, []
        for event, _frame in tracks:
            if event is not None:
                event.set()

    def _recheck_tracks(self) -> None:
        self.loop.call_later(0.002, self.check_tracks)

    # -- monitor sockets -----------------------------------------------------------------

    def add_monitor(self, mon: SocketCore, mask: int) -> None:
        with self.lock:
            self.monitors.append((mon, mask))

    def remove_monitors(self) -> None:
        with self.lock:
            monitors, self.monitors = self.monitors, []
            for mon, mask in monitors:
                if mask & EV.MONITOR_STOPPED:
                    try:
                        mon.pattern.send(encode_event(EV.MONITOR_STOPPED, 0, ""))
                    except ZMTPError:
                        pass
                mon.close(-1)


def _sub_has_message(pattern: _Sub) -> bool:
    """SUB's has_message is optimistic (a queued message may not match any more, after
    an unsubscribe); libzmq's SUB drops such messages when asked, and so do we."""
    fq = pattern.fq
    matches = pattern.topics.matches
    while fq.active:
        pipe = fq.active[0]
        if not pipe.inq:
            fq.active.popleft()
            continue
        head = pipe.inq[0]
        if matches(head if isinstance(head, bytes) else head[0]):
            return True
        fq.recv()  # not wanted any more: dropped, as the next recv would
    return False


def batchable(pattern: Any) -> bool:
    """Receiving ahead is invisible for these: no per-message state (REQ/REP), no
    subscription filter applied at recv time (SUB/XSUB), no routing prefix bookkeeping."""
    from ...patterns.simple import Dealer, Pair, Pull

    return type(pattern) in (Pull, Dealer, Pair)


def _can_send(pattern: Any) -> bool:
    from ...patterns.pubsub import XSub
    from ...patterns.reqrep import Rep, Req
    from ...patterns.simple import Pair, Push

    if isinstance(pattern, Req):
        if pattern.expecting_reply and not pattern.options.req_relaxed:
            return False
        return bool(pattern.lb.has_room())
    if isinstance(pattern, Rep):
        return pattern.envelope is not None
    if isinstance(pattern, Push):
        return bool(pattern.lb.has_room())
    if isinstance(pattern, Pair):
        peer = pattern.peer
        return peer is not None and peer.has_room()
    if isinstance(pattern, XSub):
        return True
    return True


# -- listeners (synchronous, so bind errors come out of bind()) ----------------------------


def _open_listener(parsed: Endpoint, options: Options) -> tuple[stdlib_socket.socket, str,
                                                                  str | None]:
    if parsed.transport == "tcp":
        host = parsed.host
        if host == "*":
            if options.ipv6:
                family, sockaddr = stdlib_socket.AF_INET6, ("::", parsed.port, 0, 0)
            else:
                family, sockaddr = stdlib_socket.AF_INET, ("0.0.0.0", parsed.port)  # type: ignore[assignment]
        else:
            family_hint = (stdlib_socket.AF_UNSPEC if options.ipv6 or ":" in host
                           else stdlib_socket.AF_INET)
            try:
                infos = stdlib_socket.getaddrinfo(host, parsed.port, family_hint,
                                                  stdlib_socket.SOCK_STREAM, 0,
                                                  stdlib_socket.AI_PASSIVE)
            except stdlib_socket.gaierror as exc:
                raise EndpointError(f"cannot resolve host {host!r}: {exc.strerror}",
                                    ) from None
            family, sockaddr = infos[0][0], infos[0][4]  # type: ignore[assignment]
        sock = stdlib_socket.socket(family, stdlib_socket.SOCK_STREAM)
        try:
            sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_REUSEADDR, 1)
            if family == stdlib_socket.AF_INET6:
                sock.setsockopt(stdlib_socket.IPPROTO_IPV6, stdlib_socket.IPV6_V6ONLY,
                                0 if host == "*" else 1)
            sock.bind(sockaddr)
            sock.listen(options.backlog)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise _bind_error(str(parsed), exc) from None
        name = sock.getsockname()
        bound_host = str(name[0])
        resolved = (f"tcp://[{bound_host}]:{name[1]}" if family == stdlib_socket.AF_INET6
                    else f"tcp://{bound_host}:{name[1]}")
        return sock, resolved, None
    if parsed.transport == "ipc":
        path = parsed.path
        if len(path.encode()) > IPC_PATH_MAX_LEN:
            raise BindError(
                f"ipc path is {len(path.encode())} bytes; at most {IPC_PATH_MAX_LEN} fit",
                errno_mod.ENAMETOOLONG,
            )
        if path == "*":
            path = os.path.join(tempfile.gettempdir(), f"zmtp-{uuid.uuid4().hex[:12]}.sock")
        sock = stdlib_socket.socket(stdlib_socket.AF_UNIX, stdlib_socket.SOCK_STREAM)
        unlink_path = None
        try:
            if path.startswith("@"):
                address: str | bytes = b"\x00" + path[1:].encode()
            else:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                except OSError:
                    pass
                address = path
                unlink_path = path
            sock.bind(address)
            sock.listen(options.backlog)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise _bind_error(f"ipc://{path}", exc) from None
        return sock, f"ipc://{path}", unlink_path
    raise EndpointError(f"cannot listen on {parsed}")


class BindError(EndpointError):
    """A bind failed with an OS errno (kept for the face's error mapping)."""

    def __init__(self, message: str, errno: int) -> None:
        super().__init__(message)
        self.errno = errno


def _bind_error(where: str, exc: OSError) -> EndpointError:
    code = exc.errno or errno_mod.EINVAL
    if code == errno_mod.EADDRINUSE:
        return BindError(f"cannot bind {where}: address already in use", code)
    if code == errno_mod.EADDRNOTAVAIL:
        return BindError(f"cannot bind {where}: no local interface has that address", code)
    return BindError(f"cannot bind {where}: {exc.strerror or exc}", code)


def _close_listener(binding: _Binding) -> None:
    if binding.sock is not None:
        binding.sock.close()
    if binding.ipc_path is not None:
        try:
            os.unlink(binding.ipc_path)
        except OSError:
            pass


def _close_engine(engine: StreamEngine, abort: bool) -> None:
    engine.close("closed locally", abort=abort)
