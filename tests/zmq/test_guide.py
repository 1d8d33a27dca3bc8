"""ZeroMQ guide examples (tests/zmq/guide, plain ``import zmq`` programs) run unchanged on
pyzmq and, through a sys.modules alias, on zmtp.zmq — each program in its own process, as
the guide runs them, every run bounded in time."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

GUIDE = Path(__file__).with_name("guide")
IMPLS = ["pyzmq", "zmtp"]


def _free_ports(n: int) -> list[int]:
    """Ports the OS just handed out and that are free again (closed synchronously)."""
    holders = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        holders.append(s)
    ports = [s.getsockname()[1] for s in holders]
    for s in holders:
        s.close()
    return ports


def _start(impl: str, script: str, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(GUIDE / "run.py"), impl, script, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"{proc.args} did not end:\n{out}\n{err}") from None
    assert proc.returncode == 0, f"{proc.args} failed ({proc.returncode}):\n{out}\n{err}"
    return out


def _kill_all(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("impl", IMPLS)
def test_hello_world(impl: str) -> None:
    (port,) = _free_ports(1)
    server = _start(impl, "hwserver.py", port, 10)
    client = _start(impl, "hwclient.py", port, 10)
    try:
        assert "received 10 replies" in _finish(client)
        assert "served 10" in _finish(server)
    finally:
        _kill_all([server, client])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("impl", IMPLS)
def test_hello_world_mixed(impl: str) -> None:
    """Server on one implementation, client on the other."""
    other = "pyzmq" if impl == "zmtp" else "zmtp"
    (port,) = _free_ports(1)
    server = _start(impl, "hwserver.py", port, 5)
    client = _start(other, "hwclient.py", port, 5)
    try:
        assert "received 5 replies" in _finish(client)
        assert "served 5" in _finish(server)
    finally:
        _kill_all([server, client])


@pytest.mark.timeout(150)
@pytest.mark.parametrize("impl", IMPLS)
def test_divide_and_conquer(impl: str) -> None:
    task_port, sink_port, control_port = _free_ports(3)
    tasks, workers = 40, 3
    sink = _start(impl, "tasksink.py", sink_port, control_port, tasks)
    time.sleep(0.2)  # the sink binds first, as in the guide (the others retry anyway)
    procs = [sink]
    try:
        procs += [_start(impl, "taskwork.py", task_port, sink_port, control_port)
                  for _ in range(workers)]
        vent = _start(impl, "taskvent.py", task_port, sink_port, tasks, workers)
        procs.append(vent)
        assert "Total expected cost" in _finish(vent)
        assert f"{tasks} results" in _finish(sink)
        done = [_finish(p) for p in procs[1:workers + 1]]
        counts = [int(out.split()[2]) for out in done]
        assert sum(counts) == tasks
    finally:
        _kill_all(procs)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("impl", IMPLS)
def test_weather_pubsub(impl: str) -> None:
    (port,) = _free_ports(1)
    server = _start(impl, "wuserver.py", port, 30)
    client = _start(impl, "wuclient.py", port, "10003", 5)
    try:
        assert "Average temperature for zipcode '10003'" in _finish(client)
    finally:
        server.terminate()
        server.communicate(timeout=30)
        _kill_all([server, client])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("impl", IMPLS)
def test_request_reply_broker(impl: str) -> None:
    front, back = _free_ports(2)
    clients, per_client, workers = 3, 4, 2
    total = clients * per_client
    broker = _start(impl, "rrbroker.py", front, back, total)
    procs = [broker]
    try:
        procs += [_start(impl, "rrworker.py", back, 3) for _ in range(workers)]
        procs += [_start(impl, "rrclient.py", front, per_client, f"c{i}") for i in range(clients)]
        for proc in procs[1 + workers:]:
            assert "replies" in _finish(proc)
        assert f"forwarded {total}" in _finish(broker)
        answered = [int(_finish(proc).split()[2]) for proc in procs[1:1 + workers]]
        assert sum(answered) == total
    finally:
        _kill_all(procs)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("transport", ["inproc", "tcp"])
@pytest.mark.parametrize("impl", IMPLS)
def test_load_balancing_broker(impl: str, transport: str) -> None:
    proc = _start(impl, "lbbroker.py", 10, 3, transport)
    try:
        assert "served 10 clients with 3 workers" in _finish(proc)
    finally:
        _kill_all([proc])
