"""The launcher on a topology file of our own: Ctrl-C stops every child it started
(and only those), a timeout fails the run, a bad file is refused."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from .procs import DeviceProcess

pytestmark = pytest.mark.timeout(60)


def topology(tmp_path: Path, sink_args: list[str]) -> Path:
    data = {
        "fairMQOptions": {"devices": [
            {"id": "sampler1", "channels": [{"name": "data", "rateLogging": 0, "sockets": [
                {"type": "push", "method": "bind", "address": "tcp://*:5555"}]}]},
            {"id": "sink1", "channels": [{"name": "data", "rateLogging": "0", "sockets": [
                {"type": "pull", "method": "connect", "address": "tcp://localhost:5555"}]}]},
        ]},
        "launch": {"description": "a test pair", "processes": [
            {"device": "ex-1-1-sink", "id": "sink1", "args": sink_args},
            {"device": "ex-1-1-sampler", "id": "sampler1", "args": ["--rate", "20"],
             "stop": "signal"},
        ]},
    }
    path = tmp_path / "pair.json"
    path.write_text(json.dumps(data))
    return path


def launcher(*args: str) -> DeviceProcess:
    return DeviceProcess([sys.executable, "-m", "zmtp.device.launch", *args])


def pids(proc: DeviceProcess) -> list[int]:
    return [int(m) for line in proc.lines for m in re.findall(r"started: .* \(pid (\d+)\)", line)]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_ctrl_c_stops_every_child(tmp_path: Path) -> None:
    path = topology(tmp_path, [])  # an endless sink: only Ctrl-C ends this
    with launcher(str(path)) as run:
        run.wait_line('Received: "Hello"')
        run.signal(signal.SIGINT)
        code = run.wait(40)
    assert code == 130, run.output
    assert "all 2 processes exited with code 0" in run.output
    assert len(pids(run)) == 2 and all(gone(p) for p in pids(run))
    assert run.output.count("Received device shutdown request (signal 2).") == 2


def test_timeout_fails_the_run(tmp_path: Path) -> None:
    path = topology(tmp_path, [])
    with launcher(str(path), "--timeout", "3", "--addresses", "ipc", "-q") as run:
        assert run.wait(40) == 1, run.output
    assert "FAILED: timeout" in run.output
    assert all(gone(p) for p in pids(run))


def test_max_iterations_override_and_device_options(tmp_path: Path) -> None:
    path = topology(tmp_path, ["--max-iterations", "50"])
    with launcher(str(path), "--max-iterations", "2", "--", "--text", "Bye") as run:
        assert run.wait(40) == 0, run.output
    assert run.output.count('Received: "Bye"') == 2


def test_unknown_topology_is_refused() -> None:
    with launcher("no-such-topology") as run:
        assert run.wait() == 2
    assert "unknown topology 'no-such-topology'" in run.output
