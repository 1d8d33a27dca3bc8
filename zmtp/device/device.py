"""The FairMQ ``Device`` in Python, on ``zmtp.Socket`` (sketch; socket-dependent part).

Subclass :class:`Device`, override the hooks FairMQ users know (``init``, ``bind``,
``connect``, ``init_task``, ``pre_run``, ``conditional_run``, ``run``, ``post_run``,
``reset_task``, ``reset``) or register ``on_data`` handlers, and drive it with
:func:`run_static` (FairMQ's ``--control static``). Everything that can be decided
without sockets comes from the pure modules (configuration, validation, state machine,
endpoint rules); this module only wires them to trio and sockets.

Semantics kept from FairMQ (FAIRMQ.md §4-5):

* channels are configured when the device enters INITIALIZING DEVICE; binding
  sub-channels attach in BINDING (all must succeed), connecting ones in CONNECTING
  (retried every 50 ms until ``--init-timeout``, re-reading ``chans.*.address``);
* a ``Parts`` of one message is one frame, of N messages one N-frame message; an empty
  ``Parts`` is refused;
* ``send``/``receive`` timeouts in ms: -1 blocks until done or interrupted by a state
  change (-3), 0 does not block (-2 if it would), N > 0 gives up after N ms (-2); errors
  are -1; on success the number of bytes is returned;
* any exception in a hook sends the device to ERROR (exit code 1 for the runner).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, Final

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
from .options import OptionGroup, ParsedOptions
from .properties import Properties, SubChannel, chan_key
from .rates import Counters, RateLogger
from .states import AUTO_STATES, STARTUP_SEQUENCE, State, StateMachine, Transition
from .states import shutdown_transition as _shutdown_transition

__all__ = ["ERROR", "INTERRUPTED", "TIMEOUT", "Channel", "Device", "run_static"]

#: FairMQ's ``TransferCode`` values.
ERROR: Final = -1
TIMEOUT: Final = -2
INTERRUPTED: Final = -3

log = logging.getLogger("zmtp.device")

Message = bytes
Parts = list[bytes]
MsgHandler = Callable[[bytes, int], Awaitable[bool]]
PartsHandler = Callable[[Parts, int], Awaitable[bool]]


class Channel:
    """One sub-channel: its settings, its socket and FairMQ's transfer semantics."""

    def __init__(self, device: Device, sub: SubChannel, socket: Any) -> None:
        self.device = device
        self.sub = sub
        self.socket = socket
        self.bytes_in = self.msgs_in = self.bytes_out = self.msgs_out = 0

    @property
    def name(self) -> str:
        return self.sub.full_name

    def counters(self) -> Counters:
        return Counters(self.bytes_in, self.msgs_in, self.bytes_out, self.msgs_out)

    async def _transfer(self, op: Callable[[], Awaitable[Any]], nowait: Callable[[], Any],
                        timeout_ms: int) -> tuple[int, Any]:
        import zmtp

        if self.device.interrupted:
            return INTERRUPTED, None
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
        return (INTERRUPTED if self.device.interrupted else TIMEOUT), None

    async def send(self, message: bytes | Sequence[bytes], timeout_ms: int | None = None) -> int:
        """Send one message or a ``Parts``; bytes sent, or TIMEOUT/INTERRUPTED/ERROR."""
        frames = [message] if isinstance(message, bytes | bytearray | memoryview) else list(message)
        if not frames:
            log.error("Cannot send empty parts on %s", self.name)
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

    async def receive(self, timeout_ms: int | None = None) -> Parts | int:
        """Receive one message as its frames, or TIMEOUT/INTERRUPTED/ERROR."""
        timeout = self.sub.rcv_timeout_ms if timeout_ms is None else timeout_ms
        code, frames = await self._transfer(
            self.socket.recv_multipart, self.socket.recv_multipart_nowait, timeout
        )
        if code < 0:
            return int(code)
        assert isinstance(frames, list)
        self.bytes_in += sum(len(f) for f in frames)
        self.msgs_in += 1
        return frames


class Device:
    """Base class of a FairMQ-compatible device; override the hooks you need."""

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
        self._handlers: dict[str, tuple[bool, Callable[[Any, int], Awaitable[bool]]]] = {}
        self._registered: dict[str, tuple[int, int]] = {}
        self._interruptible: set[trio.CancelScope] = set()
        self._wake = trio.Event()
        self._state_changed = trio.Event()
        #: every state entered, in order; controllers wait on positions in it so that a
        #: state passed through quickly is never missed
        self.history: list[State] = []
        self._sockets = contextlib.AsyncExitStack()
        self._transport_id = ""

    # -- hooks (FairMQ names in snake case) -------------------------------------------

    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        """Register device-specific options (``--max-iterations``, ``--text``...)."""

    def register_channel_endpoints(self) -> None:
        """Call :meth:`register_channel_endpoint` for ``--print-channels``."""

    async def init(self) -> None: ...
    async def bind(self) -> None: ...
    async def connect(self) -> None: ...
    async def init_task(self) -> None: ...
    async def pre_run(self) -> None: ...

    async def conditional_run(self) -> bool:
        """Called in a loop while RUNNING; return False to leave RUNNING."""
        return False

    async def run(self) -> None: ...
    async def post_run(self) -> None: ...
    async def reset_task(self) -> None: ...
    async def reset(self) -> None: ...

    # -- helpers a FairMQ user expects ----------------------------------------------------

    def register_channel_endpoint(self, name: str, min_endpoints: int = 1,
                                  max_endpoints: int = 1) -> None:
        self._registered[name] = (min_endpoints, max_endpoints)

    @property
    def registered_channels(self) -> dict[str, tuple[int, int]]:
        return dict(self._registered)

    def on_data(self, channel: str, handler: Callable[[Any, int], Awaitable[bool]], *,
                multipart: bool = False) -> None:
        """Call ``handler(message_or_parts, index)`` for each message on ``channel``;
        returning False ends RUNNING."""
        self._handlers[channel] = (multipart, handler)

    @property
    def state(self) -> State:
        return self.state_machine.state

    @property
    def interrupted(self) -> bool:
        return self.state_machine.new_state_pending

    def new_state_pending(self) -> bool:
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

    def get_channel(self, name: str, index: int = 0) -> Channel:
        return self.channels[name][index]

    def num_sub_channels(self, name: str) -> int:
        return len(self.channels.get(name, []))

    async def send(self, message: bytes | Sequence[bytes], channel: str, index: int = 0,
                   timeout_ms: int | None = None) -> int:
        return await self.get_channel(channel, index).send(message, timeout_ms)

    async def receive(self, channel: str, index: int = 0,
                      timeout_ms: int | None = None) -> Parts | int:
        return await self.get_channel(channel, index).receive(timeout_ms)

    # -- state changes ----------------------------------------------------------------------

    def change_state(self, transition: Transition | str) -> bool:
        """Request a transition (from a controller or the device itself)."""
        if not self.state_machine.request(transition):
            return False
        for scope in list(self._interruptible):
            scope.cancel()
        self._wake.set()
        return True

    async def wait_for_state(self, state: State, since: int) -> State:
        """Wait until ``state`` (or ERROR/EXITING) is entered at or after position ``since``
        of :attr:`history`; returns the state found."""
        while True:
            for entered in self.history[since:]:
                if entered in (state, State.ERROR, State.EXITING):
                    return entered
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
            # not shielded: a scope opened here would sit inside the sockets' nurseries
            await self._sockets.aclose()

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
            except Exception:
                log.exception("Exception caught in %s state", new)
                self.change_state(Transition.ERROR_FOUND)
        event, self._state_changed = self._state_changed, trio.Event()
        event.set()

    async def _handle(self, state: State) -> None:
        if state is State.INITIALIZING_DEVICE:
            await self._init_device()
            return
        if state is State.BINDING:
            await self._attach_all(bind=True)
            await self.bind()
        elif state is State.CONNECTING:
            await self._attach_all(bind=False)
            await self.connect()
        elif state is State.INITIALIZING_TASK:
            await self.init_task()
        elif state is State.RUNNING:
            await self._run_wrapper()
            return
        elif state is State.RESETTING_TASK:
            await self.reset_task()
        elif state is State.RESETTING_DEVICE:
            await self._sockets.aclose()
            self._sockets = contextlib.AsyncExitStack()
            await self.reset()
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
        await self.init()
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
                await self.pre_run()
                if self._handlers:
                    await self._handle_inputs()
                else:
                    await self._conditional_loop()
                    await self.run()
                if not self.new_state_pending():
                    self.change_state(Transition.STOP)
                await self.post_run()
            finally:
                nursery.cancel_scope.cancel()

    async def _conditional_loop(self) -> None:
        period = 1.0 / self.rate if self.rate > 0.001 else 0.0
        next_time = trio.current_time()
        while not self.new_state_pending() and await self.conditional_run():
            if period:
                next_time += period
                await trio.sleep_until(next_time)
            else:
                await trio.lowlevel.checkpoint()

    async def _handle_inputs(self) -> None:
        async with trio.open_nursery() as nursery:
            for name, (multipart, handler) in self._handlers.items():
                for channel in self.channels.get(name, []):
                    nursery.start_soon(self._input_loop, channel, multipart, handler,
                                       nursery.cancel_scope)

    async def _input_loop(self, channel: Channel, multipart: bool,
                          handler: Callable[[Any, int], Awaitable[bool]],
                          stop: trio.CancelScope) -> None:
        while not self.new_state_pending():
            got = await channel.receive(-1)
            if isinstance(got, int):
                break
            data = got if multipart else (got[0] if len(got) == 1 else b"".join(got))
            if not await handler(data, channel.sub.index):
                break
        stop.cancel()

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


async def run_static(device: Device) -> int:
    """FairMQ's ``--control static``: start to RUNNING, wait until the device leaves
    RUNNING, then shut down; 0 on a normal end, 1 if the device reached ERROR."""
    device.state_machine.start()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(device._state_loop)  # ends by itself in EXITING or ERROR
        for transition, target in STARTUP_SEQUENCE:
            mark = len(device.history)
            if not device.change_state(transition):
                break
            if await device.wait_for_state(target, mark) is not target:
                break
        else:  # RUNNING: wait until the device leaves it (or a shutdown request)
            await device.wait_for_next_state(device.history.index(State.RUNNING) + 1)
        while device.state not in (State.EXITING, State.ERROR):
            mark = len(device.history)
            t = _shutdown_transition(device.state)
            if t is not None and not device.state_machine.new_state_pending:
                device.change_state(t)
            await device.wait_for_next_state(mark)
    device.state_machine.stop()
    return 1 if device.state is State.ERROR else 0

