"""Controllers: who requests a device's transitions (FairMQ's built-in control plugin).

* ``static``: the startup sequence to RUNNING; as soon as the device leaves RUNNING (or a
  shutdown is requested) the shutdown sequence to EXITING;
* ``interactive`` (= ``dynamic``, ``external``): the same startup, then single keys
  (``h c p i b x j r s t d q``, and ``k l n m`` for the log) read from stdin, as
  FairMQ's ``InteractiveMode``; ``q`` runs the shutdown sequence. At the end of stdin the
  device keeps its state until a signal or ERROR (a FairMQ device started in the
  background behaves the same);
* ``gui``: the startup sequence, then waits for a signal;
* ``none``: nothing is requested; the device stays in IDLE until a signal.

In every mode the first SIGINT/SIGTERM runs the shutdown sequence (exit code 0) and a
second one aborts the process; reaching ERROR ends the controller with exit code 1.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

import trio

from .device import Device
from .logger import SEVERITIES, STATE, Verbosity
from .states import STARTUP_SEQUENCE, State, Transition, shutdown_transition

__all__ = ["INTERACTIVE_HELP", "KeyReader", "run_device", "stdin_keys"]

log = logging.getLogger("zmtp.device")

#: Reads one key; None at the end of input.
KeyReader = Callable[[], Awaitable[str | None]]

INTERACTIVE_HELP = (
    "Following control commands are available:\n"
    "[h] help, [c] check current state, [p] print number of connected peers for channels\n"
    "[i] init device, [b] bind, [x] connect, [j] init task\n"
    "[r] run, [s] stop\n"
    "[t] reset task, [d] reset device\n"
    "[q] end\n"
    "[k] increase log severity, [l] decrease log severity, "
    "[n] increase log verbosity, [m] decrease log verbosity\n"
)

#: key -> (echo text, transitions requested in order)
_KEY_TRANSITIONS: dict[str, tuple[str, tuple[Transition, ...]]] = {
    "i": ("init device", (Transition.INIT_DEVICE, Transition.COMPLETE_INIT)),
    "b": ("bind", (Transition.BIND,)),
    "x": ("connect", (Transition.CONNECT,)),
    "j": ("init task", (Transition.INIT_TASK,)),
    "r": ("run", (Transition.RUN,)),
    "s": ("stop", (Transition.STOP,)),
    "t": ("reset task", (Transition.RESET_TASK,)),
    "d": ("reset device", (Transition.RESET_DEVICE,)),
}


async def startup(device: Device) -> int | None:
    """Request INIT DEVICE ... RUN, each once the previous target is reached; the
    position of RUNNING in ``device.history``, or None if the device did not get there."""
    for transition, target in STARTUP_SEQUENCE:
        mark = len(device.history)
        if not device.change_state(transition):
            return None
        entered, pos = await device.wait_for_state(target, mark)
        if entered is not target:
            return None
        if target is State.RUNNING:
            return pos
    return None  # pragma: no cover - the sequence ends with RUN


async def shutdown(device: Device) -> None:
    """From wherever the device is, request the next step to EXITING until it is there
    (or in ERROR); working states are left to finish by themselves (CONNECTING stops
    waiting for missing addresses)."""
    device.shutdown_requested = True
    while device.state not in (State.EXITING, State.ERROR):
        mark = len(device.history)
        t = shutdown_transition(device.state)
        if t is not None and not device.new_state_pending():
            device.change_state(t)
        await device.wait_for_next_state(mark)


async def _static(device: Device) -> None:
    running = await startup(device)
    if running is not None:
        await device.wait_for_next_state(running + 1)


async def _gui(device: Device) -> None:
    await startup(device)
    await trio.sleep_forever()


async def _none(device: Device) -> None:
    await trio.sleep_forever()


class _Interactive:
    def __init__(self, device: Device, keys: KeyReader, out: TextIO) -> None:
        self.device = device
        self.keys = keys
        self.out = out

    def echo(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    async def __call__(self) -> None:
        await startup(self.device)
        self.echo(INTERACTIVE_HELP)
        while True:
            key = await self.keys()
            if key is None:
                break
            if not await self.handle(key):
                return
        await trio.sleep_forever()  # stdin closed: wait for a signal (or ERROR)

    async def handle(self, key: str) -> bool:
        """Act on one key; False for ``q``."""
        device = self.device
        if key in " \t\r\n":
            return True
        if key in _KEY_TRANSITIONS:
            text, transitions = _KEY_TRANSITIONS[key]
            self.echo(f"\n --> [{key}] {text}\n\n")
            for t in transitions:
                mark = len(device.history)
                if not device.change_state(t):
                    break
                await device.wait_for_next_state(mark)
            return True
        if key == "h":
            self.echo("\n --> [h] help\n\n" + INTERACTIVE_HELP)
        elif key == "c":
            self.echo("\n --> [c] check current state\n\n")
            log.log(STATE, "%s", device.state)
        elif key == "p":
            self.echo("\n --> [p] print number of connected peers for channels:\n\n")
            for chans in device.channels.values():
                for c in chans:
                    self.echo(f"{c.name}: {c.peers()} peers connected\n")
        elif key in "kl":
            self.echo(f"\n --> [{key}] {'increase' if key == 'k' else 'decrease'} "
                      "log severity\n\n")
            _cycle_severity(up=key == "k")
        elif key in "nm":
            self.echo(f"\n --> [{key}] {'increase' if key == 'n' else 'decrease'} "
                      "log verbosity\n\n")
            _cycle_verbosity(up=key == "n")
        elif key == "q":
            self.echo("\n --> [q] end\n\n")
            return False
        else:
            self.echo(f"Invalid input: [{key}]. " + INTERACTIVE_HELP)
        return True


def _console_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if getattr(h, "_zmtp_fairlogger", False)]


def _cycle_severity(*, up: bool) -> None:
    levels = sorted(SEVERITIES.values())
    for h in _console_handlers():
        below = [v for v in levels if v < h.level]
        above = [v for v in levels if v > h.level]
        # "increase severity" shows fewer lines (a higher threshold), as in FairLogger
        new = (above[0] if above else h.level) if up else (below[-1] if below else h.level)
        h.setLevel(new)
        log.log(STATE, "Console severity set to %s", logging.getLevelName(new))


def _cycle_verbosity(*, up: bool) -> None:
    order = [Verbosity.VERYLOW, Verbosity.LOW, Verbosity.MEDIUM, Verbosity.HIGH,
             Verbosity.VERYHIGH]
    for h in _console_handlers():
        fmt = h.formatter
        current = getattr(fmt, "verbosity", None)
        if current in order:
            i = order.index(current) + (1 if up else -1)
            fmt.verbosity = order[max(0, min(i, len(order) - 1))]  # type: ignore[union-attr]
            log.log(STATE, "Console verbosity set to %s",
                    fmt.verbosity.value)  # type: ignore[union-attr]


def stdin_keys(fd: int | None = None) -> KeyReader:
    """Single characters from stdin (a worker thread blocks in ``read``; a terminal is put
    in non-canonical mode by the caller, see :func:`raw_terminal`)."""
    source = sys.stdin.fileno() if fd is None else fd

    async def read_key() -> str | None:
        data = await trio.to_thread.run_sync(os.read, source, 1, abandon_on_cancel=True)
        return data.decode("latin-1") if data else None

    return read_key


class raw_terminal:
    """Non-canonical, no-echo terminal for single keys, restored on exit (no-op if
    ``fd`` is not a terminal)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.saved: list[Any] | None = None

    def __enter__(self) -> raw_terminal:
        try:
            import termios

            if os.isatty(self.fd):
                self.saved = termios.tcgetattr(self.fd)
                new = termios.tcgetattr(self.fd)
                new[3] &= ~(termios.ICANON | termios.ECHO)
                termios.tcsetattr(self.fd, termios.TCSANOW, new)
        except (ImportError, OSError):
            self.saved = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)


async def run_device(
    device: Device,
    mode: str = "static",
    *,
    catch_signals: bool = True,
    keys: KeyReader | None = None,
    out: TextIO | None = None,
) -> int:
    """Drive ``device`` with the controller ``mode`` (``static``, ``interactive``,
    ``gui``, ``none``); returns the exit code: 1 if the device reached ERROR, else 0."""
    stream = out if out is not None else sys.stdout
    if mode == "interactive":
        body: Callable[[], Awaitable[None]] = _Interactive(
            device, keys if keys is not None else stdin_keys(), stream)
    else:
        chosen = {"static": _static, "gui": _gui, "none": _none}[mode]

        async def body() -> None:
            await chosen(device)

    shutdown_requested = trio.Event()
    async with trio.open_nursery() as nursery:
        if catch_signals:  # before the first line: a signal seen then is handled
            await nursery.start(_watch_signals, device, shutdown_requested)
        device.state_machine.start()
        nursery.start_soon(device._state_loop)  # ends by itself in EXITING or ERROR
        async with trio.open_nursery() as control:

            async def end_on(event: Awaitable[None]) -> None:
                await event
                control.cancel_scope.cancel()

            async def on_shutdown() -> None:
                await shutdown_requested.wait()
                device.shutdown_requested = True

            control.start_soon(end_on, on_shutdown())
            control.start_soon(end_on, _terminal(device))
            await body()
            control.cancel_scope.cancel()
        await shutdown(device)
        await device.finished.wait()
        nursery.cancel_scope.cancel()  # the signal watcher
    device.state_machine.stop()
    return 1 if device.state is State.ERROR else 0


async def _terminal(device: Device) -> None:
    while device.state not in (State.ERROR, State.EXITING):
        await device.wait_for_next_state(len(device.history))


async def _watch_signals(device: Device, requested: trio.Event,
                         task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        count = 0
        async for signum in signals:
            count += 1
            if count > 1:
                log.error("Received second shutdown request (signal %d), aborting.", signum)
                logging.shutdown()
                os.abort()
            log.info("Received device shutdown request (signal %d).", signum)
            log.info("Waiting for graceful device shutdown. "
                     "Hit Ctrl-C again to abort immediately.")
            requested.set()
