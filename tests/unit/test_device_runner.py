"""The runner's command-line behaviour and exit codes (in process; no signals)."""

from __future__ import annotations

import io
import logging
import uuid

import pytest

import zmtp
from zmtp.device.device import Device
from zmtp.device.options import OptionGroup
from zmtp.device.runner import main

pytestmark = pytest.mark.skipif(not hasattr(zmtp, "Socket"), reason="needs zmtp.Socket")


class Counter(Device):
    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        group.add("max-iterations", "unsigned long", "iterations (0 - infinite)", 0)

    def register_channel_endpoints(self) -> None:
        self.register_channel_endpoint("data", 1, 1)

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    async def conditional_run(self) -> bool:
        self.n += 1
        assert self.options is not None
        return self.n < self.options.get_int("max-iterations")


class Broken(Device):
    async def run(self) -> None:
        raise ValueError("broken run")


def run(cls: type[Device], *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        code = main(cls, list(argv), out=out)
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
    return code, out.getvalue()


def test_help_version_print_options_print_channels() -> None:
    code, text = run(Counter, "-h")
    assert code == 0 and "Custom options:" in text and "--max-iterations" in text
    code, text = run(Counter, "--version")
    assert code == 0 and "zmtp" in text
    code, text = run(Counter, "--print-options", "--id", "x")
    assert code == 0 and "id:x:string:" in text and "max-iterations:0:unsigned long:" in text
    code, text = run(Counter, "--print-channels")
    assert (code, text) == (0, "data:1:1\n")
    code, text = run(Device, "--print-channels")
    assert (code, text) == (0, "no channels registered.\n")


def test_bad_option_exit_code() -> None:
    assert run(Counter, "--init-timeout", "soon")[0] == 1


def test_static_run_logs_and_exits_0() -> None:
    addr = f"inproc://r-{uuid.uuid4().hex}"
    code, text = run(Counter, "--id", "c1", "--control", "static", "--color", "false",
                     "--severity", "debug", "--verbosity", "low", "--max-iterations", "3",
                     "--unknown-flag", "--channel-config",
                     f"name=data,type=push,method=bind,address={addr},rateLogging=0")
    assert code == 0
    lines = text.splitlines()
    assert "[STATE] Starting FairMQ state machine --> IDLE" in lines
    assert "[STATE] IDLE ---> INITIALIZING DEVICE" in lines
    assert "[INFO] fair::mq::Device running..." in lines
    assert "[STATE] RUNNING ---> READY" in lines
    assert "[STATE] IDLE ---> EXITING" in lines
    assert "[DEBUG] detected unregistered option: --unknown-flag" in lines


def test_error_in_run_exits_1() -> None:
    addr = f"inproc://b-{uuid.uuid4().hex}"
    code, text = run(Broken, "--id", "b", "--control", "static", "--color", "false",
                     "--channel-config", f"name=data,type=push,method=bind,address={addr}")
    assert code == 1
    assert "---> ERROR" in text


def test_configuration_error_exits_1() -> None:
    code, text = run(Counter, "--id", "c", "--control", "static", "--color", "false",
                     "--channel-config", "name=data,type=push,method=bind,address=tcp://*:1,"
                     "transport=shmem")
    assert code == 1
    assert "shmem transport is not supported" in text


def test_interactive_without_usable_stdin_waits_like_a_background_device() -> None:
    # under pytest stdin is not a usable file: no keys; the device leaves RUNNING and the
    # controller waits in READY for a signal, which post_run sends to this process
    addr = f"inproc://i-{uuid.uuid4().hex}"

    class Once(Device):
        async def pre_run(self) -> None:
            self.change_state("STOP")

        async def post_run(self) -> None:
            import os
            import signal

            os.kill(os.getpid(), signal.SIGINT)

    code, text = run(Once, "--id", "o", "--control", "interactive", "--color", "false",
                     "--channel-config", f"name=data,type=push,method=bind,address={addr}")
    assert code == 0, text
    assert "Received device shutdown request (signal 2)." in text
    assert "[STATE] IDLE ---> EXITING" in text
