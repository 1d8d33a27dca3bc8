"""``main(DeviceClass)``: what FairMQ's ``runDevice.h``/``DeviceRunner`` does for a device.

Parses the command line (common + the device's custom options), answers ``--help``,
``--version``, ``--print-options`` and ``--print-channels`` and exits, installs the
FairLogger console format, then drives the device with the chosen controller and
returns the exit code FairMQ would: 0 on a normal end or a graceful SIGINT/SIGTERM,
1 if the device reached ERROR (or the options were unusable). A second SIGINT aborts.

Controllers: see :mod:`.control`. If the environment names a file in
``ZMTP_DEVICE_STATS``, the runner writes the device's id, exit code and per-sub-channel
transfer totals there as JSON when it ends (the launcher's summary reads them).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TextIO

import trio

from .._version import __version__
from .control import raw_terminal, run_device, stdin_keys
from .device import Device
from .errors import OptionError
from .logger import install
from .options import common_parser, format_print_channels, normalize_control

__all__ = ["main"]

log = logging.getLogger("zmtp.device")


STATS_ENV = "ZMTP_DEVICE_STATS"


def _write_stats(device: Device, code: int) -> None:
    path = os.environ.get(STATS_ENV)
    if not path:
        return
    totals = {
        name: {"msgs_in": c.msgs_in, "bytes_in": c.bytes_in, "msgs_out": c.msgs_out,
               "bytes_out": c.bytes_out}
        for name, c in device.transfer_totals().items()
    }
    try:
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"id": device.id, "exit_code": code, "channels": totals}, f)
    except OSError as e:
        log.warning("could not write %s=%s: %s", STATS_ENV, path, e)


async def _run(device: Device, mode: str, catch_signals: bool, out: TextIO) -> int:
    if not catch_signals:
        log.warning("Signal handling (e.g. Ctrl-C) has been deactivated.")
    if mode != "interactive":
        return await run_device(device, mode, catch_signals=catch_signals, out=out)
    try:
        fd = sys.stdin.fileno() if sys.stdin is not None else -1
    except (AttributeError, OSError, ValueError):  # replaced or closed stdin: no keys
        fd = -1
    if fd < 0:
        return await run_device(device, mode, catch_signals=catch_signals, out=out,
                                keys=_no_keys)
    with raw_terminal(fd):
        return await run_device(device, mode, catch_signals=catch_signals, out=out,
                                keys=stdin_keys(fd))


async def _no_keys() -> str | None:
    return None


class _QuietSocketLayer(logging.Filter):
    """The socket layer's connection notes (logger ``zmtp``, INFO) become DEBUG lines for a
    device: a FairMQ device logs nothing when a peer comes or goes."""

    def __init__(self, handler: logging.Handler) -> None:
        super().__init__()
        self.handler = handler

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "zmtp" and record.levelno < logging.WARNING:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return self.handler.level <= logging.DEBUG
        return True


def ignore_late_signals() -> None:
    """For a device process whose device is done: a late SIGINT/SIGTERM (a launcher
    stopping what it thinks still runs) must not turn a clean exit into a
    KeyboardInterrupt. Called by the executables, not by :func:`main` (which may run
    inside a bigger program)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def main(
    device_cls: type[Device],
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    prog: str | None = None,
) -> int:
    """Run a device from the command line; returns the process exit code."""
    stream = out if out is not None else sys.stdout
    args = list(sys.argv[1:] if argv is None else argv)
    parser = common_parser(device_cls.add_custom_options)
    try:
        opts = parser.parse(args)
    except OptionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if opts.get_bool("help"):
        stream.write(parser.format_help())
        return 0
    if opts.get_bool("version"):
        print(f"zmtp {__version__} (FairMQ-compatible device runner, zeromq transport)",
              file=stream)
        return 0
    if opts.get_bool("print-options"):
        for line in opts.print_options_lines():
            print(line, file=stream)
        return 0
    handler = install(opts.get_str("severity"), opts.get_str("verbosity", "medium"),
                      opts.get_bool("color", True), stream=stream, process_name=prog)
    handler.addFilter(_QuietSocketLayer(handler))
    for token in opts.unregistered:
        log.debug("detected unregistered option: %s", token)
    device = device_cls()
    device.options = opts
    if opts.get_bool("print-channels"):
        device.register_channel_endpoints()
        for line in format_print_channels(device.registered_channels):
            print(line, file=stream)
        return 0
    mode, problem = normalize_control(opts.get_str("control", "dynamic"))
    if problem:
        log.error("%s", problem)
    log.debug("PID: %d", os.getpid())
    code = trio.run(_run, device, mode, opts.get_int("catch-signals", 1) != 0, stream)
    _write_stats(device, code)
    return code
