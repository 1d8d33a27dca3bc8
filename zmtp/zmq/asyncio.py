"""``zmtp.zmq.asyncio``: pyzmq's ``zmq.asyncio`` Context, Socket and Poller.

The sockets run on the caller's asyncio loop itself: their connections are asyncio
protocols on that loop, so an awaited ``recv`` is resolved by the very callback that
delivered the message's bytes, with no thread anywhere.  As in pyzmq, ``send``/``recv``
and friends return Futures; a ``recv`` whose Future is cancelled before a message
arrived consumes nothing (the message stays queued for the next ``recv``).
"""

from __future__ import annotations

import asyncio
import pickle
import select as select_mod
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ZMTPError
from . import context as _context
from . import socket as _socket
from ._core import Driver, LoopDriver
from .constants import Errno, PollEvent
from .error import Again, ZMQError
from .frame import _FINISHED_TRACKER, Frame

__all__ = ["Context", "Poller", "Socket"]

_NOBLOCK = 1
_SNDMORE = 2
_POLLIN = 1
_POLLOUT = 2


def _done(value: Any) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future


def _failed(exc: BaseException) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_exception(exc)
    return future


class _Waiter:
    __slots__ = ("copy", "future", "kind", "mask", "message", "timer")

    def __init__(self, future: asyncio.Future[Any], kind: str, copy: bool = True,
                 message: list[Any] | None = None, mask: int = 0) -> None:
        self.future = future
        self.kind = kind
        self.copy = copy
        self.message = message
        self.timer: asyncio.TimerHandle | None = None
        self.mask = mask


class Socket(_socket.Socket):
    """A socket whose send/recv/poll return awaitables; runs on the running loop."""

    _repr_cls = "zmq.asyncio.Socket"

    _recv_q: deque[_Waiter]
    _send_q: deque[_Waiter]
    _poll_q: list[_Waiter]
    _watchers: set[Callable[[], None]]
    _service_scheduled: bool
    _aloop: asyncio.AbstractEventLoop | None

    def __init__(self, ctx_or_socket: Any = None, socket_type: int = 0, **kwargs: Any) -> None:
        if ctx_or_socket is None:
            ctx_or_socket = Context.instance()
        super().__init__(ctx_or_socket, socket_type, **kwargs)
        d = self.__dict__
        d["_aloop"] = None
        d["_recv_q"] = deque()
        d["_send_q"] = deque()
        d["_poll_q"] = []
        d["_watchers"] = set()
        d["_service_scheduled"] = False
        d["_inbox"] = None  # futures are served from the core directly
        self._core.hook = self._on_change

    # -- wiring to the loop ----------------------------------------------------------------

    def _loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        old = self._aloop
        if old is not loop:
            self.__dict__["_aloop"] = loop
            if old is not None and old.is_closed():
                # waiters of the closed loop can never be resumed: forget them
                for queue in (self._recv_q, self._send_q, self._poll_q):
                    queue.clear()
                self.__dict__["_service_scheduled"] = False
            self._core.driver.ensure()  # may move the context's I/O to this loop
        self._core.start_pending()
        return loop

    def _on_change(self) -> None:
        """Core hook (under the lock): readiness may have changed.  Normally on the loop
        thread; from the I/O thread for an asyncio shadow of a blocking socket."""
        if not self._service_scheduled and (
            self._recv_q or self._send_q or self._poll_q or self._watchers
        ):
            loop = self._aloop
            if loop is None or loop.is_closed():
                return
            self.__dict__["_service_scheduled"] = True
            driver = self._core.driver
            if threading.get_ident() == driver.thread_id and driver.loop is loop:
                loop.call_soon(self._service)
            else:
                loop.call_soon_threadsafe(self._service)

    @property
    def _recv_futures(self) -> list[asyncio.Future[Any]]:
        """Futures waiting for this socket to become readable (pyzmq's name)."""
        return [w.future for w in (*self._recv_q, *self._poll_q) if not w.future.done()]

    def _service(self) -> None:
        self.__dict__["_service_scheduled"] = False
        core = self._core
        recv_q = self._recv_q
        while recv_q:
            waiter = recv_q[0]
            if waiter.future.done():
                recv_q.popleft()
                continue
            if self._fail_if_closed(waiter):
                recv_q.popleft()
                continue
            rparts = self._rparts
            if rparts:  # the rest of a message an earlier recv() started
                recv_q.popleft()
                self._settle(waiter, self._take_parts(rparts, waiter))
                continue
            try:
                message = core.try_recv()
            except ZMTPError as exc:
                recv_q.popleft()
                self._settle_exc(waiter, _socket.translate_error(exc))
                continue
            if message is None:
                break
            recv_q.popleft()
            self._settle(waiter, self._shape(message, waiter))
        send_q = self._send_q
        while send_q:
            waiter = send_q[0]
            if waiter.future.done():
                send_q.popleft()
                continue
            if self._fail_if_closed(waiter):
                send_q.popleft()
                continue
            assert waiter.message is not None
            try:
                sent = core.try_send(waiter.message)
            except ZMTPError as exc:
                send_q.popleft()
                self._settle_exc(waiter, _socket.translate_error(exc))
                continue
            if not sent:
                break
            send_q.popleft()
            self._settle(waiter, None)
        if self._poll_q:
            bits = self._zmtp_poll_events() if not core.closed else 0
            keep = []
            for waiter in self._poll_q:
                if waiter.future.done():
                    continue
                if self._fail_if_closed(waiter):
                    continue
                if bits & waiter.mask:
                    self._settle(waiter, bits & waiter.mask)
                else:
                    keep.append(waiter)
            self.__dict__["_poll_q"] = keep
        for watcher in list(self._watchers):
            watcher()

    def _fail_if_closed(self, waiter: _Waiter) -> bool:
        core = self._core
        if core.closed:
            waiter.future.cancel()
            return True
        if core.terminated:
            self._settle_exc(waiter, _socket.translate_error(_core_terminated()))
            return True
        return False

    def _settle(self, waiter: _Waiter, value: Any) -> None:
        if waiter.timer is not None:
            waiter.timer.cancel()
        if not waiter.future.done():
            waiter.future.set_result(value)

    def _settle_exc(self, waiter: _Waiter, exc: BaseException) -> None:
        if waiter.timer is not None:
            waiter.timer.cancel()
        if not waiter.future.done():
            waiter.future.set_exception(exc)

    def _shape(self, message: list[Any], waiter: _Waiter) -> Any:
        copy = waiter.copy
        if waiter.kind == "multipart":
            if copy:
                return [f if type(f) is bytes else bytes(f) for f in message]
            last = len(message) - 1
            return [Frame._received(f, i < last) for i, f in enumerate(message)]
        frame = message[0]
        more = len(message) > 1
        if more:
            rest = message[1:]
            rest.reverse()
            self.__dict__["_rparts"] = rest
        if copy:
            return frame if type(frame) is bytes else bytes(frame)
        return Frame._received(frame, more)

    def _take_parts(self, rparts: list[Any], waiter: _Waiter) -> Any:
        if waiter.kind == "multipart":
            rparts.reverse()
            self.__dict__["_rparts"] = None
            return self._shape(rparts, waiter)
        frame = rparts.pop()
        more = bool(rparts)
        if not more:
            self.__dict__["_rparts"] = None
        if waiter.copy:
            return frame if type(frame) is bytes else bytes(frame)
        return Frame._received(frame, more)

    def _park(self, queue: Any, waiter: _Waiter, timeout: float,
              loop: asyncio.AbstractEventLoop) -> asyncio.Future[Any]:
        queue.append(waiter)
        if timeout >= 0:
            waiter.timer = loop.call_later(timeout, self._expire, waiter)
        return waiter.future

    def _expire(self, waiter: _Waiter) -> None:
        waiter.timer = None
        if not waiter.future.done():
            if waiter.kind == "poll":
                waiter.future.set_result(0)
            else:
                waiter.future.set_exception(Again())

    # -- sending ---------------------------------------------------------------------------

    def send(self, data: Any, flags: int = 0, copy: bool = True, track: bool = False,
             routing_id: int | None = None, group: str | None = None) -> Any:
        loop = self._loop()
        if routing_id is not None or group is not None:
            return _failed(ZMQError(Errno.ENOTSUP))
        try:
            frame = data if type(data) is bytes else _socket._frame_of(data, copy)
        except TypeError as exc:
            return _failed(exc)
        tracker = _FINISHED_TRACKER if track else None
        if flags & _SNDMORE:
            if self._core.closed:
                return _failed(ZMQError(Errno.ENOTSOCK))
            self._parts.append(frame)
            return _done(tracker)
        parts = self._parts
        message = [*parts, frame] if parts else [frame]
        if parts:
            parts.clear()
        return self._send_message(message, flags, tracker, loop)

    def send_multipart(self, msg_parts: Sequence[Any], flags: int = 0, copy: bool = True,
                       track: bool = False, **kwargs: Any) -> Any:
        loop = self._loop()
        try:
            message = [p if type(p) is bytes else _socket._frame_of(p, copy) for p in msg_parts]
        except TypeError as exc:
            return _failed(exc)
        if not message:
            return _failed(ZMQError(Errno.EINVAL))
        if self._parts:
            message[:0] = self._parts
            self._parts.clear()
        return self._send_message(message, flags, _FINISHED_TRACKER if track else None, loop)

    def _send_message(self, message: list[Any], flags: int, tracker: Any,
                      loop: asyncio.AbstractEventLoop) -> asyncio.Future[Any]:
        core = self._core
        if not self._send_q:
            try:
                if core.try_send(message):
                    return _done(tracker)
            except ZMTPError as exc:
                return _failed(_socket.translate_error(exc))
        if flags & _NOBLOCK:
            return _failed(Again())
        waiter = _Waiter(loop.create_future(), "send", message=message)
        return self._park(self._send_q, waiter, core.options.sndtimeo, loop)

    def send_string(self, u: str, flags: int = 0, copy: bool = True, encoding: str = "utf-8",
                    **kwargs: Any) -> Any:
        if not isinstance(u, str):
            raise TypeError("str objects only")
        return self.send(u.encode(encoding), flags=flags, copy=copy, **kwargs)

    send_unicode = send_string

    def send_pyobj(self, obj: Any, flags: int = 0, protocol: int = pickle.DEFAULT_PROTOCOL,
                   **kwargs: Any) -> Any:
        return self.send(pickle.dumps(obj, protocol), flags=flags, **kwargs)

    # -- receiving -------------------------------------------------------------------------

    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> Any:
        loop = self._loop()
        rparts = self._rparts
        if rparts and not self._recv_q:
            return _done(self._take_parts(rparts, _Waiter(loop.create_future(), "recv", copy)))
        return self._recv_message("recv", flags, copy, loop)

    def recv_multipart(self, flags: int = 0, copy: bool = True, track: bool = False) -> Any:
        loop = self._loop()
        rparts = self._rparts
        if rparts and not self._recv_q:
            waiter = _Waiter(loop.create_future(), "multipart", copy)
            return _done(self._take_parts(rparts, waiter))
        return self._recv_message("multipart", flags, copy, loop)

    def _recv_message(self, kind: str, flags: int, copy: bool,
                      loop: asyncio.AbstractEventLoop) -> asyncio.Future[Any]:
        core = self._core
        waiter = _Waiter(loop.create_future(), kind, copy)
        if not self._recv_q:
            try:
                message = core.try_recv()
            except ZMTPError as exc:
                return _failed(_socket.translate_error(exc))
            if message is not None:
                waiter.future.set_result(self._shape(message, waiter))
                return waiter.future
        if flags & _NOBLOCK:
            return _failed(Again())
        return self._park(self._recv_q, waiter, core.options.rcvtimeo, loop)

    def _deserialize(self, received: Any, load: Callable[[Any], Any]) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def chain(source: asyncio.Future[Any]) -> None:
            if future.done():
                return
            if source.cancelled():
                future.cancel()
                return
            exc = source.exception()
            if exc is not None:
                future.set_exception(exc)
                return
            try:
                future.set_result(load(source.result()))
            except Exception as error:
                future.set_exception(error)

        def cancel_source(f: asyncio.Future[Any]) -> None:
            if f.cancelled() and not received.done():
                received.cancel()

        received.add_done_callback(chain)
        future.add_done_callback(cancel_source)
        return future

    def recv_into(self, buffer: Any, /, *, nbytes: int = 0, flags: int = 0) -> Any:
        view = memoryview(buffer).cast("B")
        limit = len(view) if nbytes == 0 else min(nbytes, len(view))

        def load(data: bytes) -> int:
            count = min(limit, len(data))
            view[:count] = data[:count]
            return len(data)

        return self._deserialize(self.recv(flags=flags), load)

    # -- poll ------------------------------------------------------------------------------

    def poll(self, timeout: int | None = None, flags: int = _POLLIN) -> Any:
        loop = self._loop()
        core = self._core
        if core.closed:
            return _failed(ZMQError(Errno.ENOTSOCK))
        bits = self._zmtp_poll_events() & int(flags)
        if bits or timeout == 0:
            return _done(bits)
        waiter = _Waiter(loop.create_future(), "poll", mask=int(flags))
        seconds = -1.0 if timeout is None or timeout < 0 else timeout / 1000
        return self._park(self._poll_q, waiter, seconds, loop)

    def _add_watcher(self, fn: Callable[[], None]) -> None:
        self._watchers.add(fn)

    def _remove_watcher(self, fn: Callable[[], None]) -> None:
        self._watchers.discard(fn)

    # -- closing ---------------------------------------------------------------------------

    def close(self, linger: int | None = None) -> None:
        if not self.closed:
            for queue in (self._recv_q, self._send_q, self._poll_q):
                for waiter in queue:
                    if waiter.timer is not None:
                        waiter.timer.cancel()
                    if not waiter.future.done():
                        waiter.future.cancel()
                queue.clear()
        super().close(linger)
        core = self._core
        if not core.shut_down:
            _keep_loop_while_lingering(core)

    def get_monitor_socket(self, events: int | None = None, addr: str | None = None) -> Any:
        return super().get_monitor_socket(events, addr)


#: Keepers of sockets still lingering (a task needs a strong reference to survive).
_keepers: set[asyncio.Task[None]] = set()


def _keep_loop_while_lingering(core: Any) -> None:
    """pyzmq's ``term()`` blocks until closed sockets have lingered; ours cannot block
    the loop the messages need.  Instead a task lives until the socket has lingered and
    shrugs off cancellation, so ``asyncio.run`` (which cancels the remaining tasks and
    then waits for them) keeps the loop turning until queued messages are out or the
    linger time is over, and a script that sends, closes and returns loses nothing."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # no loop runs: nothing can be flushed on one

    async def keeper() -> None:
        while not core.shut_down:
            try:
                await asyncio.sleep(0.005)
            except asyncio.CancelledError:
                continue

    task = loop.create_task(keeper())
    _keepers.add(task)
    task.add_done_callback(_keepers.discard)


def _core_terminated() -> ZMTPError:
    from ._core import Terminated

    return Terminated("the context was terminated")


class Context(_context.Context):
    """An asyncio context: its sockets' I/O runs on the running loop."""

    _instance = None
    _socket_class = Socket
    _repr_cls = "zmq.asyncio.Context"

    def _make_driver(self) -> Driver:
        return LoopDriver()

    def term(self) -> None:
        """Terminate without blocking the loop: sockets still open get ETERM; lingering
        sockets finish on the loop on their own."""
        if self._shared.closed:
            return
        shared = self._shared
        with shared.lock:
            shared.terminated = True
            cores = list(shared.cores)
        for core in cores:
            core.terminate()
        self._shared.closed = True


class Poller:
    """``zmq.asyncio.Poller``: ``await poller.poll(timeout_ms)`` -> [(socket, events)]."""

    def __init__(self) -> None:
        self.sockets: list[tuple[Any, int]] = []
        self._map: dict[Any, int] = {}

    def register(self, socket: Any, flags: int = _POLLIN | _POLLOUT) -> None:
        if flags:
            if socket in self._map:
                self.sockets[self._map[socket]] = (socket, flags)
            else:
                self._map[socket] = len(self.sockets)
                self.sockets.append((socket, flags))
        elif socket in self._map:
            self.unregister(socket)

    def modify(self, socket: Any, flags: int = _POLLIN | _POLLOUT) -> None:
        self.register(socket, flags)

    def unregister(self, socket: Any) -> None:
        index = self._map.pop(socket)
        self.sockets.pop(index)
        for sock, idx in list(self._map.items()):
            if idx > index:
                self._map[sock] = idx - 1

    def _ready(self) -> list[tuple[Any, int]]:
        found: list[tuple[Any, int]] = []
        plain: list[tuple[Any, int]] = []
        for sock, mask in self.sockets:
            if isinstance(sock, _socket.Socket):
                bits = sock._zmtp_poll_events() & int(mask)
                if bits:
                    found.append((sock, bits))
            else:
                plain.append((sock, mask))
        if plain:
            poller = select_mod.poll()
            fds: dict[int, Any] = {}
            for sock, mask in plain:
                fd = sock if isinstance(sock, int) else sock.fileno()
                fds[fd] = sock
                ev = (select_mod.POLLIN if mask & _POLLIN else 0) | (
                    select_mod.POLLOUT if mask & _POLLOUT else 0)
                poller.register(fd, ev)
            for fd, ev in poller.poll(0):
                bits = (_POLLIN if ev & (select_mod.POLLIN | select_mod.POLLHUP) else 0) | (
                    _POLLOUT if ev & select_mod.POLLOUT else 0) | (
                    PollEvent.POLLERR if ev & select_mod.POLLERR else 0)
                if bits:
                    # pyzmq reports an object with fileno() by its fd number
                    found.append((fds[fd] if isinstance(fds[fd], int) else fd, int(bits)))
        return found

    def poll(self, timeout: int | None = -1) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[tuple[Any, int]]] = loop.create_future()
        for sock, _mask in self.sockets:
            if isinstance(sock, Socket):
                sock._core.start_pending()
        ready = self._ready()
        if ready or timeout == 0:
            future.set_result(ready)
            return future
        readers: list[int] = []
        writers: list[int] = []
        zsocks: list[Socket] = []
        timer: list[asyncio.TimerHandle] = []

        def check() -> None:
            if future.done():
                return
            found = self._ready()
            if found:
                future.set_result(found)

        def check_soon(*args: Any) -> None:
            loop.call_soon(check)

        def expire() -> None:
            if not future.done():
                future.set_result([])

        for sock, mask in self.sockets:
            if isinstance(sock, Socket):
                sock._add_watcher(check)
                zsocks.append(sock)
            elif isinstance(sock, _socket.Socket):
                fd = sock.fileno()
                loop.add_reader(fd, check_soon)
                readers.append(fd)
            else:
                fd = sock if isinstance(sock, int) else sock.fileno()
                if mask & _POLLIN:
                    loop.add_reader(fd, check_soon)
                    readers.append(fd)
                if mask & _POLLOUT:
                    loop.add_writer(fd, check_soon)
                    writers.append(fd)
        if timeout is not None and timeout >= 0:
            timer.append(loop.call_later(timeout / 1000, expire))

        def cleanup(f: asyncio.Future[Any]) -> None:
            for zsock in zsocks:
                zsock._remove_watcher(check)
            for fd in readers:
                loop.remove_reader(fd)
            for fd in writers:
                loop.remove_writer(fd)
            for handle in timer:
                handle.cancel()

        future.add_done_callback(cleanup)
        return future

