"""Every shipped topology, each device in its own process with ``--control static``,
started by the launcher: exit codes and log lines, as FairMQ's example test scripts
check them. All topologies run at the same time (one launcher each) to keep the wall
time short."""

from __future__ import annotations

import re
import sys
from collections import defaultdict

import pytest

from zmtp.device.launch import topology_names

from .procs import STATIC_LIFECYCLE, DeviceProcess

pytestmark = pytest.mark.timeout(150)  # whichever test sets the fixture up waits for all

TOPOLOGIES = ["builtin-devices", "ex-1-1", "ex-1-n-1", "ex-copypush", "ex-multipart",
              "ex-multiple-channels", "ex-n-m", "ex-req-rep"]


class Run:
    def __init__(self, name: str) -> None:
        self.name = name
        self.proc = DeviceProcess([sys.executable, "-m", "zmtp.device.launch", name,
                                   "--addresses", "ipc", "--timeout", "90"])
        self.code: int | None = None
        self.by_device: dict[str, list[str]] = defaultdict(list)

    def finish(self) -> None:
        self.code = self.proc.wait(120)
        for line in self.proc.lines:
            m = re.match(r"^(\S+)\s+\| (.*)$", line)
            if m:
                msg = re.sub(r"^(\[[^\]]*\])+ ?", "", m[2])
                self.by_device[m[1]].append(msg)

    def count(self, device: str, text: str) -> int:
        return sum(1 for m in self.by_device[device] if m == text)

    def grep(self, device: str, pattern: str) -> list[str]:
        return [m for m in self.by_device[device] if re.fullmatch(pattern, m)]


@pytest.fixture(scope="module")
def runs() -> dict[str, Run]:
    started = {name: Run(name) for name in TOPOLOGIES}
    try:
        for run in started.values():
            run.finish()
    finally:
        for run in started.values():
            run.proc.kill()
    return started


def test_every_shipped_topology_is_tested() -> None:
    assert sorted(TOPOLOGIES) == topology_names()


@pytest.mark.parametrize("name", TOPOLOGIES)
def test_topology_exits_0_with_full_lifecycles(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    assert run.code == 0, run.proc.output
    assert "all" in run.proc.lines[-1] and "exited with code 0" in run.proc.lines[-1]
    devices = [d for d in run.by_device if d in run.proc.output and run.by_device[d]]
    assert devices
    for device in devices:
        assert "exited with code 0" in run.by_device[device][-1]
        states = [m for m in run.by_device[device] if "--->" in m or "state machine" in m]
        assert states == STATIC_LIFECYCLE, (device, run.proc.output)
        assert "fair::mq::Device running..." in run.by_device[device]


def test_ex_1_1(runs: dict[str, Run]) -> None:
    run = runs["ex-1-1"]
    assert run.count("sampler1", 'Sending "Hello"') == 5
    assert run.count("sink1", 'Received: "Hello"') == 5
    reached = "Configured maximum number of iterations reached. Leaving RUNNING state."
    assert run.count("sampler1", reached) == 1 and run.count("sink1", reached) == 1


def test_ex_1_n_1(runs: dict[str, Run]) -> None:
    run = runs["ex-1-n-1"]
    assert run.count("sampler1", 'Sending "Hello"') == 4
    got = run.grep("sink1", r'Received: "Hello \(modified by processor[12]\)"')
    assert len(got) == 4
    processed = sum(run.count(p, "Received data, processing...")
                    for p in ("processor1", "processor2"))
    assert processed == 4
    # the processors were stopped with SIGINT, gracefully
    for p in ("processor1", "processor2"):
        assert "Received device shutdown request (signal 2)." in run.by_device[p]


def test_ex_multipart(runs: dict[str, Run]) -> None:
    run = runs["ex-multipart"]
    assert run.count("sink1", "Received message with 7 parts") == 5
    assert run.count("sink1", "Received part 1 (header) with stopFlag: 0") == 4
    assert run.count("sink1", "Received part 1 (header) with stopFlag: 1") == 1
    assert run.count("sink1", "Received part 6 of size: 0") == 5
    assert run.count("sink1", "stopFlag is 1, going IDLE") == 1
    assert run.count("sampler1", "Sending header with stopFlag: 1") == 1
    assert run.count("sampler1", "Sending body of size: 1000") == 5
    assert len(run.grep("sampler1", r"Sending body of size: \d+")) == 5


def test_ex_copypush(runs: dict[str, Run]) -> None:
    run = runs["ex-copypush"]
    for sink in ("sink1", "sink2"):
        assert run.grep(sink, r'Received message: "\d"') == [
            f'Received message: "{i}"' for i in range(5)]


def test_ex_req_rep(runs: dict[str, Run]) -> None:
    run = runs["ex-req-rep"]
    assert run.count("client", 'Sending "Hello" to server.') == 3
    assert run.count("client", 'Received reply from server: "Thank you for the "Hello"!"') == 3
    assert run.count("server", 'Received request from client: "Hello"') == 3
    assert run.count("server", "Sending reply to client.") == 3


def test_ex_multiple_channels(runs: dict[str, Run]) -> None:
    run = runs["ex-multiple-channels"]
    assert run.count("sink1", 'Received broadcast: "OK"') >= 1
    assert run.count("sink1", 'Received message: "Hello"') >= 1
    assert run.count("broadcaster1", "Sending OK") >= 1
    assert run.count("sampler1", 'Sent "Hello"') >= 1
    assert run.count("sink1", "Configured maximum number of iterations reached & Received "
                              "messages from both sources. Leaving RUNNING state.") == 1


def test_ex_n_m(runs: dict[str, Run]) -> None:
    run = runs["ex-n-m"]
    for r in ("receiver1", "receiver2", "receiver3"):
        assert len(run.grep(r, r"Successfully completed timeframe #\d+")) == 5
        assert run.count(r, "Reached configured maximum number of timeframes (5). "
                            "Exiting RUNNING state.") == 1


def test_builtin_devices(runs: dict[str, Run]) -> None:
    run = runs["builtin-devices"]
    assert run.grep("sink1", r"Received 100 messages in [0-9.e+]+ms.")
    assert run.grep("sink1", r"Configured maximum number of iterations reached\.$")
    assert run.grep("sink1", r"Leaving RUNNING state\.$")
    assert run.grep("bsampler1", r"Done 100 iterations in [0-9.e+]+ms.")
    # FairMQ's BenchmarkSampler and Sink both move max-iterations + 1 messages.
    summary = run.proc.output[run.proc.output.index("summary of"):]
    assert re.search(r"sink1\s+sink\s+0\s+data\[0\]\s+101\s+0\s+202000\s+0", summary), summary
