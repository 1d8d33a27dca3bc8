"""``main(DeviceClass)``: what FairMQ's ``runDevice.h``/``DeviceRunner`` does for a device.

Parses the command line (common + the device's custom options), answers ``--help``,
``--version``, ``--print-options`` and ``--print-channels`` and exits, installs the
FairLogger console format, then drives the device with the chosen controller and
returns the exit code FairMQ would: 0 on a normal end or a graceful SIGINT/SIGTERM,
1 if the device reached ERROR (or the options were unusable). A second SIGINT aborts.

Only the static controller exists so far; ``dynamic``/``interactive`` run like static
with a warning (the single-key stdin controller is still to be written).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

import trio

from .._version import __version__
from .device import Device, run_static
from .errors import OptionError
from .logger import install
from .options import common_parser, format_print_channels, normalize_control
from .states import Transition

__all__ = ["main"]

log = logging.getLogger("zmtp.device")


async def _run_with_signals(device: Device, catch_signals: bool) -> int:
    if not catch_signals:
        log.warning("Signal handling (e.g. Ctrl-C) has been deactivated.")
        return await run_static(device)
    code = 0
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:

            async def watch() -> None:
                count = 0
                async for signum in signals:
                    count += 1
                    if count > 1:
                        os.abort()
                    log.info("Received device shutdown request (signal %d).", signum)
                    log.info("Waiting for graceful device shutdown. "
                             "Hit Ctrl-C again to abort immediately.")
                    device.change_state(Transition.STOP)

            nursery.start_soon(watch)
            code = await run_static(device)
            nursery.cancel_scope.cancel()
    return code


def main(
    device_cls: type[Device],
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
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
    install(opts.get_str("severity"), opts.get_str("verbosity", "medium"),
            opts.get_bool("color", True), stream=stream)
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
    if mode == "interactive":
        log.warning("interactive control is not implemented yet; running as --control static")
    elif mode in ("none", "gui"):
        log.warning("--control %s is not implemented yet; running as --control static", mode)
    log.debug("PID: %d", os.getpid())
    return trio.run(_run_with_signals, device, opts.get_int("catch-signals", 1) != 0)
