"""The FairMQ ``Device`` in Python, on ``zmtp.Socket``.

Subclass :class:`Device`, override the hooks FairMQ users know (``init``, ``bind``,
``connect``, ``init_task``, ``pre_run``, ``conditional_run``, ``run``, ``post_run``,
``reset_task``, ``reset``) or register ``on_data`` handlers, and drive it with a
controller (:mod:`.control`; :func:`run_static` is FairMQ's ``--control static``).
Everything that can be decided without sockets comes from the pure modules
(configuration, validation, state machine, endpoint rules); this module only wires them
to trio and sockets.

Hooks and ``on_data`` handlers may be ``async def`` (they run in the device's trio task
and use ``await channel.send(...)``) or plain ``def``: those run in a worker thread, as
FairMQ's user code runs in its own thread, and may block; they use the ``*_sync``
variants (``send_sync``, ``receive_sync``, ``wait_for_sync``...).

Semantics kept from FairMQ (FAIRMQ.md §4-5):

* channels are configured when the device enters INITIALIZING DEVICE; binding
  sub-channels attach in BINDING (all must succeed), connecting ones in CONNECTING
  (retried every 50 ms until ``--init-timeout``, re-reading ``chans.*.address``);
* a ``Parts`` of one message is one frame, of N messages one N-frame message; an empty
  ``Parts`` is refused; empty messages are fine;
* ``receive`` returns one frame (a multipart message is read frame by frame, as
  ``Receive(MessagePtr&)`` does), ``receive_parts`` one whole message;
* ``send``/``receive`` timeouts in ms: -1 blocks until done or interrupted by a state
  change (-3), 0 does not block (-2 if it would), N > 0 gives up after N ms (-2); errors
  are -1; on success the number of bytes is returned;
* any exception in a hook sends the device to ERROR (exit code 1 for the runner).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, Final, TypeVar

import trio

from .channels import AttachPlan, load_channels, plan_attach, socket_options, transport_id
from .config import ParsedChannels
from .endpoints import (
    auto_bind_candidates,
    parse_endpoints,
    resolve_endpoint,
    rewrite_address,
    split_tcp,
)
from .errors import ChannelConfigurationError
from .options import OptionGroup, ParsedOptions
from .properties import Properties, SubChannel, chan_key
from .rates import Counters, RateLogger
from .states import AUTO_STATES, State, StateMachine, Transition

__all__ = [
    "ERROR",
    "INTERRUPTED",
    "TIMEOUT",
    "Channel",
    "Device",
    "Message",
    "Parts",
    "run_static",
]

#: FairMQ's ``TransferCode`` values.
ERROR: Final = -1
TIMEOUT: Final = -2
INTERRUPTED: Final = -3

log = logging.getLogger("zmtp.device")

Message = bytes
Parts = list[bytes]
Sendable = bytes | bytearray | memoryview | Sequence[bytes | bytearray | memoryview]
Handler = Callable[[Any, int], "bool | Awaitable[bool]"]
_T = TypeVar("_T")


def _frames(message: Sendable) -> list[Any]:
    if isinstance(message, bytes | bytearray | memoryview):
        return [message]
    return list(message)


class Channel:
    """One sub-channel: its settings, its socket and FairMQ's transfer semantics."""

    def __init__(self, device: Device, sub: SubChannel, socket: Any) -> None:
        self.device = device
        self.sub = sub
        self.socket = socket
        self.bytes_in = self.msgs_in = self.bytes_out = self.msgs_out = 0
        #: frames left of a multipart message read one frame at a time
        self._rest: list[bytes] = []

    @property
    def name(self) -> str:
        return self.sub.full_name

    @property
    def index(self) -> int:
        return self.sub.index

    @property
    def type(self) -> str:
        return self.sub.type

    def counters(self) -> Counters:
        return Counters(self.bytes_in, self.msgs_in, self.bytes_out, self.msgs_out)

    def peers(self) -> int:
        """Connected peers (FairMQ's ``GetNumberOfConnectedPeers``)."""
        return len(getattr(self.socket, "_pipes", ()))

    async def _transfer(self, op: Callable[[], Awaitable[_T]], nowait: Callable[[], _T],
                        timeout_ms: int) -> tuple[int, _T | None]:
        import zmtp

        if self.device.interrupted:
            return INTERRUPTED, None
        try:
            if timeout_ms == 0:
                try:
                    return 0, nowait()
                except zmtp.Again:
                    return TIMEOUT, None
            with trio.CancelScope() as scope:
                if timeout_ms > 0:
                    scope.deadline = trio.current_time() + timeout_ms / 1000.0
                self.device._interruptible.add(scope)
                try:
                    return 0, await op()
                finally:
                    self.device._interruptible.discard(scope)
        except zmtp.SocketClosed:
            log.debug("Terminating socket %s", self.name)
            return ERROR, None
        except zmtp.ZMTPError as e:
            log.error("Failed transfer on channel %s, reason: %s", self.name, e)
            return ERROR, None
        return (INTERRUPTED if self.device.interrupted else TIMEOUT), None

    async def send(self, message: Sendable, timeout_ms: int | None = None) -> int:
        """Send a message (bytes) or a ``Parts`` (a sequence of bytes, one multipart
        message); bytes sent, or TIMEOUT/INTERRUPTED/ERROR."""
        frames = _frames(message)
        if not frames:
            log.error("Cannot send empty parts on channel %s", self.name)
            return ERROR
        timeout = self.sub.snd_timeout_ms if timeout_ms is None else timeout_ms
        code, _ = await self._transfer(
            lambda: self.socket.send_multipart(frames),
            lambda: self.socket.send_multipart_nowait(frames),
            timeout,
        )
        if code < 0:
            return code
        size = sum(len(f) for f in frames)
        self.bytes_out += size
        self.msgs_out += 1
        return size

    async def _receive_message(self, timeout_ms: int | None) -> list[bytes] | int:
        timeout = self.sub.rcv_timeout_ms if timeout_ms is None else timeout_ms
        code, frames = await self._transfer(
            self.socket.recv_multipart, self.socket.recv_multipart_nowait, timeout
        )
        if code < 0 or frames is None:
            return code
        return list(frames)

    async def receive(self, timeout_ms: int | None = None) -> bytes | int:
        """Receive one frame (FairMQ's ``Receive(MessagePtr&)``): bytes, or
        TIMEOUT/INTERRUPTED/ERROR."""
        if not self._rest:
            got = await self._receive_message(timeout_ms)
            if isinstance(got, int):
                return got
            self._rest = got
        frame = self._rest.pop(0)
        self.bytes_in += len(frame)
        self.msgs_in += 1
        return frame

    async def receive_parts(self, timeout_ms: int | None = None) -> Parts | int:
        """Receive one whole message as its frames (``Receive(Parts&)``), or
        TIMEOUT/INTERRUPTED/ERROR."""
        if self._rest:
            frames, self._rest = self._rest, []
        else:
            got = await self._receive_message(timeout_ms)
            if isinstance(got, int):
                return got
            frames = got
        self.bytes_in += sum(len(f) for f in frames)
        self.msgs_in += 1
        return frames

    # -- from a sync hook (worker thread) -----------------------------------------------

    def send_sync(self, message: Sendable, timeout_ms: int | None = None) -> int:
        """:meth:`send` from a plain ``def`` hook or handler (runs in a worker thread)."""
        return trio.from_thread.run(self.send, message, timeout_ms)

    def receive_sync(self, timeout_ms: int | None = None) -> bytes | int:
        return trio.from_thread.run(self.receive, timeout_ms)

    def receive_parts_sync(self, timeout_ms: int | None = None) -> Parts | int:
        return trio.from_thread.run(self.receive_parts, timeout_ms)


class Device:
    """Base class of a FairMQ-compatible device; override the hooks you need.

    Hooks may be ``async def`` or plain ``def`` (run in a worker thread); see the module
    docstring.
    """

    def __init__(self) -> None:
        self.id = ""
        self.options: ParsedOptions | None = None
        self.config: Properties = {}
        self.channels: dict[str, list[Channel]] = {}
        self.state_machine = StateMachine(logging.getLogger("zmtp.device.states"))
        self.rate = 0.0
        self.init_timeout = 120.0
        self._parsed: ParsedChannels | None = None
        self._plan: AttachPlan | None = None
        self._handlers: dict[str, tuple[bool, Handler]] = {}
        self._registered: dict[str, tuple[int, int]] = {}
        self._interruptible: set[trio.CancelScope] = set()
        self._wake = trio.Event()
        self._state_changed = trio.Event()
        self._handler_lock = trio.Lock()
        #: every state entered, in order; controllers wait on positions in it so that a
        #: state passed through quickly is never missed
        self.history: list[State] = []
        self._sockets = contextlib.AsyncExitStack()
        self._transport_id = ""
        #: transfer counters of channels already closed (RESETTING DEVICE), by name
        self._closed_totals: dict[str, Counters] = {}
        #: set when the state loop has ended and every socket is closed
        self.finished = trio.Event()
        #: set by a controller on a shutdown request (signal, ``q``): stops waiting for
        #: connecting channels' addresses
        self.shutdown_requested = False

    # -- hooks (FairMQ names in snake case); sync or async ----------------------------------

    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        """Register device-specific options (``--max-iterations``, ``--text``...)."""

    def register_channel_endpoints(self) -> None:
        """Call :meth:`register_channel_endpoint` for ``--print-channels``."""

    def init(self) -> Awaitable[None] | None:
        """INITIALIZING DEVICE, after the configuration is read."""
        return None

    def bind(self) -> Awaitable[None] | None:
        """BINDING, after the binding channels are bound."""
        return None

    def connect(self) -> Awaitable[None] | None:
        """CONNECTING, after the connecting channels are connected."""
        return None

    def init_task(self) -> Awaitable[None] | None:
        """INITIALIZING TASK (where FairMQ examples read their options)."""
        return None

    def pre_run(self) -> Awaitable[None] | None:
        """RUNNING, before the run loop."""
        return None

    def conditional_run(self) -> bool | Awaitable[bool]:
        """Called in a loop while RUNNING; return False to leave RUNNING."""
        return False

    def run(self) -> Awaitable[None] | None:
        """Called once in RUNNING, after the ``conditional_run`` loop."""
        return None

    def post_run(self) -> Awaitable[None] | None:
        """RUNNING, after the run loop (a STOP is already requested)."""
        return None

    def reset_task(self) -> Awaitable[None] | None:
        return None

    def reset(self) -> Awaitable[None] | None:
        return None

    async def _call(self, name: str, *args: Any) -> Any:
        """Call a hook or handler, sync ones in a worker thread; defaults inline."""
        return await self._call_fn(getattr(self, name), *args)

    async def _call_fn(self, fn: Callable[..., Any], *args: Any) -> Any:
        base = getattr(Device, getattr(fn, "__name__", ""), None)
        if base is not None and getattr(fn, "__func__", None) is base:
            return fn(*args)  # a default hook: nothing to run
        if inspect.iscoroutinefunction(fn):
            return await fn(*args)
        result = await trio.to_thread.run_sync(lambda: fn(*args))
        if inspect.isawaitable(result):
            result = await result
        return result

    # -- helpers a FairMQ user expects ----------------------------------------------------

    def register_channel_endpoint(self, name: str, min_endpoints: int = 1,
                                  max_endpoints: int = 1) -> None:
        self._registered[name] = (min_endpoints, max_endpoints)

    @property
    def registered_channels(self) -> dict[str, tuple[int, int]]:
        return dict(self._registered)

    def on_data(self, channel: str, handler: Handler, *, multipart: bool | None = None) -> None:
        """Call ``handler(message, index)`` for each message on ``channel`` (any of its
        sub-channels); returning False ends RUNNING.

        ``multipart=True`` (or a handler whose first parameter is annotated ``Parts`` or
        ``list[...]``) gets each message as its list of frames, like
        ``OnData(channel, bool(Parts&, int))``; otherwise it gets one frame at a time,
        like ``OnData(channel, bool(MessagePtr&, int))``. Handlers are called one at a
        time, never concurrently, as FairMQ calls them from one thread.
        """
        if multipart is None:
            multipart = _wants_parts(handler)
        self._handlers[channel] = (multipart, handler)

    @property
    def state(self) -> State:
        return self.state_machine.state

    @property
    def interrupted(self) -> bool:
        return self.state_machine.new_state_pending

    def new_state_pending(self) -> bool:
        """True once a state change was requested: a run loop should return."""
        return self.state_machine.new_state_pending

    async def wait_for(self, seconds: float) -> bool:
        """Sleep, interruptibly; False if a state change is pending."""
        with trio.CancelScope() as scope:
            self._interruptible.add(scope)
            try:
                if not self.interrupted:
                    await trio.sleep(seconds)
            finally:
                self._interruptible.discard(scope)
        return not self.interrupted

    def wait_for_sync(self, seconds: float) -> bool:
        """:meth:`wait_for` from a plain ``def`` hook (worker thread)."""
        return trio.from_thread.run(self.wait_for, seconds)

    def get_channel(self, name: str, index: int = 0) -> Channel:
        return self.channels[name][index]

    def num_sub_channels(self, name: str) -> int:
        return len(self.channels.get(name, []))

    get_num_sub_channels = num_sub_channels

    def get_number_of_connected_peers(self, name: str, index: int = 0) -> int:
        """Peers connected to sub-channel ``name[index]`` right now."""
        return self.get_channel(name, index).peers()

    def get_property(self, key: str, default: object = None) -> object:
        """FairMQ's ``fConfig->GetProperty(key)``: a ``chans.*`` property or an option
        value (``max-iterations``...), else ``default``."""
        if key in self.config:
            return self.config[key]
        if self.options is not None and key in self.options:
            return self.options[key]
        return default

    async def send(self, message: Sendable, channel: str, index: int = 0,
                   timeout_ms: int | None = None) -> int:
        return await self.get_channel(channel, index).send(message, timeout_ms)

    async def receive(self, channel: str, index: int = 0,
                      timeout_ms: int | None = None) -> bytes | int:
        return await self.get_channel(channel, index).receive(timeout_ms)

    async def receive_parts(self, channel: str, index: int = 0,
                            timeout_ms: int | None = None) -> Parts | int:
        return await self.get_channel(channel, index).receive_parts(timeout_ms)

    def send_sync(self, message: Sendable, channel: str, index: int = 0,
                  timeout_ms: int | None = None) -> int:
        return self.get_channel(channel, index).send_sync(message, timeout_ms)

    def receive_sync(self, channel: str, index: int = 0,
                     timeout_ms: int | None = None) -> bytes | int:
        return self.get_channel(channel, index).receive_sync(timeout_ms)

    def receive_parts_sync(self, channel: str, index: int = 0,
                           timeout_ms: int | None = None) -> Parts | int:
        return self.get_channel(channel, index).receive_parts_sync(timeout_ms)

    def transfer_totals(self) -> dict[str, Counters]:
        """Transfer counters per sub-channel over the device's life (closed ones too)."""
        totals = dict(self._closed_totals)
        for chans in self.channels.values():
            for c in chans:
                totals[c.name] = _add(totals.get(c.name, Counters()), c.counters())
        return totals

    # -- state changes ----------------------------------------------------------------------

    def change_state(self, transition: Transition | str) -> bool:
        """Request a transition (from a controller or the device itself, also from a
        plain ``def`` hook's worker thread); blocked transfers and ``wait_for`` return at
        once (interrupted)."""
        try:
            trio.lowlevel.current_task()
        except RuntimeError:  # not in the device's trio thread
            try:
                return trio.from_thread.run_sync(self._change_state, transition)
            except RuntimeError:  # no trio run at all (a device not started yet)
                pass
        return self._change_state(transition)

    def _change_state(self, transition: Transition | str) -> bool:
        if not self.state_machine.request(transition):
            return False
        for scope in list(self._interruptible):
            scope.cancel()
        self._wake.set()
        return True

    async def wait_for_state(self, state: State, since: int) -> tuple[State, int]:
        """Wait until ``state`` (or ERROR/EXITING) is entered at or after position ``since``
        of :attr:`history`; returns the state found and its position."""
        while True:
            for pos in range(since, len(self.history)):
                entered = self.history[pos]
                if entered in (state, State.ERROR, State.EXITING):
                    return entered, pos
            await self._state_changed.wait()

    async def wait_for_next_state(self, since: int) -> State:
        """Wait until some state is entered at or after position ``since``."""
        while len(self.history) <= since:
            await self._state_changed.wait()
        return self.history[since]

    async def _state_loop(self) -> None:
        """Enter requested states one by one and run their handlers (FairMQ's state thread).

        Sockets are opened and closed only in this task (each ``zmtp.Socket`` owns a
        nursery, which must be exited by the task that entered it).
        """
        try:
            await self._process_states()
        finally:
            try:
                # not shielded: a scope opened here would sit inside the sockets' nurseries
                await self._close_sockets()
            finally:
                self.finished.set()

    async def _close_sockets(self) -> None:
        for chans in self.channels.values():
            for c in chans:
                self._closed_totals[c.name] = _add(
                    self._closed_totals.get(c.name, Counters()), c.counters())
                c.bytes_in = c.msgs_in = c.bytes_out = c.msgs_out = 0
        await self._sockets.aclose()
        self._sockets = contextlib.AsyncExitStack()

    async def _process_states(self) -> None:
        while self.state not in (State.EXITING, State.ERROR):
            while not self.state_machine.new_state_pending:
                self._wake = trio.Event()
                await self._wake.wait()
            new = self.state_machine.process()
            if new is None:
                continue
            self.history.append(new)
            event, self._state_changed = self._state_changed, trio.Event()
            event.set()
            try:
                await self._handle(new)
            except Exception as e:
                _log_hook_exception(new, e)
                self.change_state(Transition.ERROR_FOUND)
        event, self._state_changed = self._state_changed, trio.Event()
        event.set()

    async def _handle(self, state: State) -> None:
        if state is State.INITIALIZING_DEVICE:
            # FairMQ reads the configuration once COMPLETE INIT is requested, so that a
            # controller or plugin can set properties first; ERROR FOUND ends the wait
            while True:
                pending = self.state_machine.pending
                if pending is not None and pending[0] is Transition.COMPLETE_INIT:
                    break
                if pending is not None and pending[0] is Transition.ERROR_FOUND:
                    return
                self._wake = trio.Event()
                await self._wake.wait()
            await self._init_device()
            return
        if state is State.BINDING:
            await self._attach_all(bind=True)
            await self._call("bind")
        elif state is State.CONNECTING:
            await self._attach_all(bind=False)
            await self._call("connect")
        elif state is State.INITIALIZING_TASK:
            await self._call("init_task")
        elif state is State.RUNNING:
            await self._run_wrapper()
            return
        elif state is State.RESETTING_TASK:
            await self._call("reset_task")
        elif state is State.RESETTING_DEVICE:
            await self._close_sockets()
            await self._call("reset")
            self.channels.clear()
        if state in AUTO_STATES and not self.new_state_pending():
            self.change_state(Transition.AUTO)

    # -- configuration and attaching -----------------------------------------------------

    async def _init_device(self) -> None:
        opts = self.options
        assert opts is not None, "set device.options (ParsedOptions) before starting"
        self.id = opts.get_str("id")
        self._transport_id = transport_id(self.id)
        self._parsed = load_channels(opts, warn=lambda m: log.warning("%s", m))
        self.config.update(self._parsed.properties)
        await self._call("init")
        self.rate = opts.get_float("rate")
        self.init_timeout = float(opts.get_int("init-timeout", 120))
        self._plan = plan_attach(self._parsed)
        self.config.update(self._plan.updates)

    async def _socket_for(self, sub: SubChannel) -> Channel:
        import zmtp

        for existing in self.channels.get(sub.name, []):
            if existing.sub.index == sub.index:
                return existing
        sock = zmtp.Socket(sub.type, **socket_options(self._transport_id, sub))
        await self._sockets.enter_async_context(sock)
        if sub.type == "sub":
            sock.subscribe(b"")
        channel = Channel(self, sub, sock)
        chans = self.channels.setdefault(sub.name, [])
        chans.append(channel)
        chans.sort(key=lambda c: c.sub.index)
        return channel

    async def _bind(self, sock: Any, address: str, sub: SubChannel) -> str | None:
        import zmtp

        try:
            bound: str = await sock.bind(address)
        except zmtp.EndpointError as e:
            log.debug("bind %s failed: %s", address, e)
            if not sub.auto_bind:
                return None
            for candidate in auto_bind_candidates(address, sub.port_range_min,
                                                  sub.port_range_max):
                try:
                    bound = await sock.bind(candidate)
                except zmtp.EndpointError:
                    continue
                return candidate
            log.error("could not bind to any (TCP) port in %d-%d", sub.port_range_min,
                      sub.port_range_max)
            return None
        parts = split_tcp(address)
        # FairMQ writes back what it asked for; a '*'/0 port is made concrete (FairMQ
        # cannot report it, we can).
        return bound if parts is not None and parts[1] in ("*", "0") else address

    async def _attach(self, sub: SubChannel) -> bool:
        channel = await self._socket_for(sub)
        attached = []
        for ep in parse_endpoints(sub.address, sub.method):
            addr = await trio.to_thread.run_sync(resolve_endpoint, ep)
            if addr is None:
                return False
            if ep.bind:
                got = await self._bind(channel.socket, addr, sub)
                if got is None:
                    return False
                addr = got
            else:
                await channel.socket.connect(addr)
            attached.append((ep, addr))
            log.debug("Attached channel %s to %s (%s) (%s)", sub.full_name, ep.written(addr),
                      "bind" if ep.bind else "connect", sub.type)
        new_address = rewrite_address(attached)
        if new_address != sub.address:
            self.config[chan_key(sub.name, sub.index, "address")] = new_address
        return True

    async def _attach_all(self, *, bind: bool) -> None:
        assert self._plan is not None
        pending = list(self._plan.binding if bind else self._plan.connecting)
        deadline = trio.current_time() + self.init_timeout
        while True:
            still: list[SubChannel] = []
            for sub in pending:
                key = chan_key(sub.name, sub.index, "address")
                current = self.config.get(key, sub.address)
                if current != sub.address:
                    sub = replace(sub, address=str(current))
                if sub.address in ("", "unspecified") or not await self._attach(sub):
                    still.append(sub)
            pending = still
            if not pending:
                break
            if bind:
                raise RuntimeError(f"{len(pending)} of the binding channels could not "
                                   "initialize. Initial configuration incomplete.")
            if self.shutdown_requested:
                log.warning("shutdown requested: %d channel(s) left unconnected", len(pending))
                break
            if trio.current_time() > deadline or self.new_state_pending():
                raise RuntimeError(f"could not connect all channels after "
                                   f"{self.init_timeout:g} attempts")
            await trio.sleep(0.05)
        if not bind and not self.channels:
            log.warning("No channels created after finishing initialization")

    # -- RUNNING -------------------------------------------------------------------------------

    async def _run_wrapper(self) -> None:
        log.info("fair::mq::Device running...")
        intervals = {c.name: c.sub.rate_logging for cs in self.channels.values() for c in cs}
        async with trio.open_nursery() as nursery:
            if any(v > 0 for v in intervals.values()):
                nursery.start_soon(self._log_rates, intervals)
            try:
                await self._call("pre_run")
                if self._handlers:
                    await self._handle_inputs()
                else:
                    await self._conditional_loop()
                    await self._call("run")
                if not self.new_state_pending():
                    self.change_state(Transition.STOP)
                await self._call("post_run")
            finally:
                nursery.cancel_scope.cancel()

    async def _conditional_loop(self) -> None:
        period = 1.0 / self.rate if self.rate > 0.001 else 0.0
        next_time = trio.current_time()
        while not self.new_state_pending() and await self._call("conditional_run"):
            if period:
                next_time += period
                now = trio.current_time()
                if next_time < now:  # late (slow iteration): do not try to catch up
                    next_time = now
                await self.wait_for(next_time - now)
            else:
                await trio.lowlevel.checkpoint()

    async def _handle_inputs(self) -> None:
        async with trio.open_nursery() as nursery:
            for name, (multipart, handler) in self._handlers.items():
                if name not in self.channels:
                    raise ChannelConfigurationError(
                        f"OnData: channel '{name}' does not exist")
                for channel in self.channels[name]:
                    nursery.start_soon(self._input_loop, channel, multipart, handler)

    async def _input_loop(self, channel: Channel, multipart: bool, handler: Handler) -> None:
        while not self.new_state_pending():
            got: Any = await (channel.receive_parts(-1) if multipart else channel.receive(-1))
            if isinstance(got, int):
                break
            async with self._handler_lock:
                if self.new_state_pending():
                    break
                keep = await self._call_fn(handler, got, channel.sub.index)
            if not keep:
                # ends every input loop at once (their receives are interrupted)
                if not self.new_state_pending():
                    self.change_state(Transition.STOP)
                break

    async def _log_rates(self, intervals: dict[str, int]) -> None:
        def snapshot() -> dict[str, Counters]:
            return {c.name: c.counters() for cs in self.channels.values() for c in cs}

        rates = RateLogger(intervals, snapshot())
        t0 = trio.current_time()
        while True:
            await trio.sleep(1.0)
            t1 = trio.current_time()
            for line in rates.tick(int((t1 - t0) * 1000), snapshot()):
                log.info("%s", line)
            t0 = t1


def _add(a: Counters, b: Counters) -> Counters:
    return Counters(a.bytes_in + b.bytes_in, a.msgs_in + b.msgs_in,
                    a.bytes_out + b.bytes_out, a.msgs_out + b.msgs_out)


def _wants_parts(handler: Callable[..., Any]) -> bool:
    """Does the handler's first parameter say it takes a ``Parts`` (list of frames)?"""
    try:
        params = list(inspect.signature(handler).parameters.values())
    except (TypeError, ValueError):
        return False
    if not params:
        return False
    annotation = params[0].annotation
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return "Parts" in text or "list" in text.lower()


def _unwrap(exc: BaseException) -> BaseException:
    inner = getattr(exc, "exceptions", None)  # a (Base)ExceptionGroup of one
    while isinstance(inner, tuple) and len(inner) == 1 and isinstance(inner[0], BaseException):
        exc = inner[0]
        inner = getattr(exc, "exceptions", None)
    return exc


def _log_hook_exception(state: State, exc: BaseException) -> None:
    """FairMQ logs what went wrong and goes to ERROR; a configuration problem is said
    plainly, anything else with its traceback (a Python user wants to see where)."""
    inner = _unwrap(exc)
    if isinstance(inner, ChannelConfigurationError):
        log.error("%s", inner)
        return
    log.error("Exception caught in %s state: %s: %s", state, type(inner).__name__, inner,
              exc_info=(type(inner), inner, inner.__traceback__))


async def run_static(device: Device) -> int:
    """FairMQ's ``--control static`` without signal handling (for in-process use):
    start to RUNNING, wait until the device leaves RUNNING, then shut down; 0 on a normal
    end, 1 if the device reached ERROR."""
    from .control import run_device

    return await run_device(device, "static", catch_signals=False)
