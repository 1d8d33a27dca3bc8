"""The state machine as a FairMQ user sees it from outside the process: the full static
lifecycle log, ERROR and exit code 1, signals, interactive keys on stdin, refused
configurations."""

from __future__ import annotations

import re
import signal
import sys
import uuid
from pathlib import Path

import pytest

from .procs import STATIC_LIFECYCLE, DeviceProcess

pytestmark = pytest.mark.timeout(60)


def address(tmp_path: Path, name: str = "data") -> str:
    return f"ipc://{tmp_path}/{name}-{uuid.uuid4().hex[:8]}"


def test_full_static_lifecycle_log(tmp_path: Path) -> None:
    addr = address(tmp_path)
    with DeviceProcess.device("bsampler", "--id", "bsampler1", "--max-iterations", "2",
                              "--msg-size", "10", "--channel-config",
                              f"name=data,type=pub,method=bind,address={addr}") as dev:
        assert dev.wait() == 0, dev.output
    assert dev.state_lines() == STATIC_LIFECYCLE
    msgs = dev.messages()
    assert msgs.index("fair::mq::Device running...") > msgs.index("READY ---> RUNNING")
    assert any(re.fullmatch(r"Done 2 iterations in [0-9.e+]+ms\.", m) for m in msgs), msgs


def test_sigint_during_running_is_graceful(tmp_path: Path) -> None:
    with DeviceProcess.device("sink", "--id", "sink1", "--channel-config",
                              f"name=data,type=pull,method=bind,address={address(tmp_path)}"
                              ) as dev:
        dev.wait_line("fair::mq::Device running...")
        dev.signal(signal.SIGINT)
        assert dev.wait() == 0, dev.output
    msgs = dev.messages()
    assert "Received device shutdown request (signal 2)." in msgs
    assert ("Waiting for graceful device shutdown. Hit Ctrl-C again to abort immediately."
            in msgs)
    assert dev.state_lines() == STATIC_LIFECYCLE


def test_sigterm_is_graceful_too(tmp_path: Path) -> None:
    with DeviceProcess.device("sink", "--id", "sink1", "--control", "dynamic",
                              "--channel-config",
                              f"name=data,type=pull,method=bind,address={address(tmp_path)}",
                              static=False) as dev:
        dev.wait_line("fair::mq::Device running...")
        dev.signal(signal.SIGTERM)
        assert dev.wait() == 0, dev.output
    assert "Received device shutdown request (signal 15)." in dev.messages()
    assert dev.state_lines()[-2:] == ["IDLE ---> EXITING", "Exiting FairMQ state machine"]


SLOW_STOP = '''
import sys, time
from zmtp.device.device import Device
from zmtp.device.runner import main

class Slow(Device):
    def run(self):
        while not self.new_state_pending():
            self.wait_for_sync(0.05)

    def post_run(self):
        print("post_run sleeping", flush=True)
        time.sleep(30)  # a shutdown that takes too long

sys.exit(main(Slow))
'''


def test_second_sigint_aborts(tmp_path: Path) -> None:
    script = tmp_path / "slow.py"
    script.write_text(SLOW_STOP)
    with DeviceProcess([sys.executable, str(script), "--id", "slow", "--control", "static",
                        "--color", "false", "--channel-config",
                        f"name=data,type=pull,method=bind,address={address(tmp_path)}"]) as dev:
        dev.wait_line("fair::mq::Device running...")
        dev.signal(signal.SIGINT)
        dev.wait_line("post_run sleeping")
        dev.signal(signal.SIGINT)
        code = dev.wait(20)
    assert code == -signal.SIGABRT, dev.output


RAISING = '''
import sys
from zmtp.device.device import Device
from zmtp.device.runner import main

class Raising(Device):
    async def init_task(self):
        raise ValueError("init task failed on purpose")

sys.exit(main(Raising))
'''


def test_exception_in_a_hook_is_error_and_exit_1(tmp_path: Path) -> None:
    script = tmp_path / "raising.py"
    script.write_text(RAISING)
    with DeviceProcess([sys.executable, str(script), "--id", "r", "--control", "static",
                        "--color", "false", "--channel-config",
                        f"name=data,type=push,method=bind,address={address(tmp_path)}"]) as dev:
        assert dev.wait() == 1, dev.output
    assert dev.state_lines()[-2:] == ["INITIALIZING TASK ---> ERROR",
                                      "Exiting FairMQ state machine"]
    assert any("ValueError: init task failed on purpose" in m for m in dev.messages())


@pytest.mark.parametrize("config, reason", [
    ("name=data,type=push,method=bind,address=tcp://127.0.0.1:5555,transport=shmem",
     "shmem transport is not supported"),
    ("name=data,type=pushy,method=bind,address=tcp://127.0.0.1:5555", "pushy"),
])
def test_refused_configuration_is_error_and_exit_1(config: str, reason: str) -> None:
    with DeviceProcess.device("sink", "--id", "sink1", "--channel-config", config) as dev:
        assert dev.wait() == 1, dev.output
    assert "IDLE ---> INITIALIZING DEVICE" in dev.state_lines()
    assert "INITIALIZING DEVICE ---> ERROR" in dev.state_lines()
    errors = [line for line in dev.lines if "[ERROR]" in line]
    assert any(reason in line for line in errors), dev.output
    assert not any("Traceback" in line for line in dev.lines)


def test_device_transport_shmem_refused() -> None:
    with DeviceProcess.device("sink", "--id", "sink1", "--transport", "shmem",
                              "--channel-config",
                              "name=data,type=pull,method=bind,address=tcp://127.0.0.1:5555"
                              ) as dev:
        assert dev.wait() == 1, dev.output
    assert any("--transport shmem" in line and "shared" in line for line in dev.lines)


def test_mq_config_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"fairMQOptions": {"devices": [ {"id": "sink1", ')
    with DeviceProcess.device("sink", "--id", "sink1", "--mq-config", str(bad)) as dev:
        assert dev.wait() == 1, dev.output
    assert any("broken.json" in line and "[ERROR]" in line for line in dev.lines), dev.output


def test_interactive_keys_on_stdin(tmp_path: Path) -> None:
    with DeviceProcess.device("sink", "--id", "sink1", "--control", "interactive",
                              "--channel-config",
                              f"name=data,type=pull,method=bind,address={address(tmp_path)}",
                              stdin=True, static=False) as dev:
        dev.wait_line("fair::mq::Device running...")
        dev.wait_line("Following control commands are available:")
        dev.send_keys("c")
        dev.wait_line("--> [c] check current state")
        dev.wait_line("[STATE] RUNNING")
        dev.send_keys("x")  # CONNECT is illegal in RUNNING
        dev.wait_line("No transition from state RUNNING on transition CONNECT")
        dev.send_keys("s")
        dev.wait_line("RUNNING ---> READY")
        dev.send_keys("r")
        dev.wait_line("Starting sink and expecting")  # run() once more
        dev.send_keys("s")
        dev.send_keys("p")
        dev.wait_line("data[0]: 0 peers connected")
        dev.send_keys("z")
        dev.wait_line("Invalid input: [z].")
        dev.send_keys("t")
        dev.wait_line("RESETTING TASK ---> DEVICE READY")
        dev.send_keys("q")
        assert dev.wait() == 0, dev.output
    states = dev.state_lines()
    assert states.count("READY ---> RUNNING") == 2
    assert states[-4:] == ["DEVICE READY ---> RESETTING DEVICE", "RESETTING DEVICE ---> IDLE",
                           "IDLE ---> EXITING", "Exiting FairMQ state machine"]
    assert "--> [q] end" in dev.output


def test_interactive_end_of_stdin_keeps_running_until_signal(tmp_path: Path) -> None:
    with DeviceProcess.device("sink", "--id", "sink1", "--control", "dynamic",
                              "--channel-config",
                              f"name=data,type=pull,method=bind,address={address(tmp_path)}",
                              stdin=True, static=False) as dev:
        dev.wait_line("fair::mq::Device running...")
        assert dev.proc.stdin is not None
        dev.proc.stdin.close()
        assert dev.proc.poll() is None
        dev.signal(signal.SIGINT)
        assert dev.wait() == 0, dev.output


def test_control_none_stays_idle_until_signal(tmp_path: Path) -> None:
    with DeviceProcess.device("sink", "--id", "sink1", "--control", "none",
                              "--channel-config",
                              f"name=data,type=pull,method=bind,address={address(tmp_path)}",
                              static=False) as dev:
        dev.wait_line("Starting FairMQ state machine --> IDLE")
        dev.signal(signal.SIGINT)
        assert dev.wait() == 0, dev.output
    assert dev.state_lines() == ["Starting FairMQ state machine --> IDLE", "IDLE ---> EXITING",
                                 "Exiting FairMQ state machine"]


def test_sigint_while_waiting_for_a_connect_address() -> None:
    # no address: CONNECTING waits for chans.data.0.address (--init-timeout 120 s)
    with DeviceProcess.device("sink", "--id", "sink1", "--channel-config",
                              "name=data,type=pull,method=connect") as dev:
        dev.wait_line("BOUND ---> CONNECTING")
        dev.signal(signal.SIGINT)
        assert dev.wait(20) == 0, dev.output
    assert dev.state_lines()[-2:] == ["IDLE ---> EXITING", "Exiting FairMQ state machine"]


def test_rate_logging_lines(tmp_path: Path) -> None:
    with DeviceProcess.device("bsampler", "--id", "b1", "--max-iterations", "25",
                              "--msg-rate", "10", "--msg-size", "100", "--channel-config",
                              f"name=data,type=pub,method=bind,address={address(tmp_path)},"
                              "rateLogging=1") as dev:
        assert dev.wait() == 0, dev.output
    rates = [m for m in dev.messages() if m.startswith("data[0]: in: ")]
    assert rates, dev.output
    assert all(re.fullmatch(r"data\[0\]: in: 0 \(0 MB\) out: [\d.e+-]+ \([\d.e+-]+ MB\)", m)
               for m in rates), rates
