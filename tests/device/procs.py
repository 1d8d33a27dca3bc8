"""Device processes for the tests: start ``python -m zmtp.device <name>``, read their
output line by line as it comes, wait for a line, signal them by PID, and pyzmq sockets
configured exactly as FairMQ's zeromq transport configures its own (FAIRMQ.md §5.2)."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
COMMON = ("--control", "static", "--color", "false")

#: The static lifecycle of a device that leaves RUNNING by itself (FAIRMQ.md §4.4).
STATIC_LIFECYCLE = [
    "Starting FairMQ state machine --> IDLE",
    "IDLE ---> INITIALIZING DEVICE",
    "INITIALIZING DEVICE ---> INITIALIZED",
    "INITIALIZED ---> BINDING",
    "BINDING ---> BOUND",
    "BOUND ---> CONNECTING",
    "CONNECTING ---> DEVICE READY",
    "DEVICE READY ---> INITIALIZING TASK",
    "INITIALIZING TASK ---> READY",
    "READY ---> RUNNING",
    "RUNNING ---> READY",
    "READY ---> RESETTING TASK",
    "RESETTING TASK ---> DEVICE READY",
    "DEVICE READY ---> RESETTING DEVICE",
    "RESETTING DEVICE ---> IDLE",
    "IDLE ---> EXITING",
    "Exiting FairMQ state machine",
]


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT), e.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    e["PYTHONUNBUFFERED"] = "1"
    e.pop("FAIRMQ_SEVERITY", None)
    return e


class DeviceProcess:
    """A child process whose stdout+stderr lines are collected by a reader thread."""

    def __init__(self, argv: Sequence[str], *, stdin: bool = False) -> None:
        self.argv = list(argv)
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, env=env(), cwd=ROOT,
            start_new_session=True)
        self.lines: list[str] = []
        self._new: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    def device(cls, name: str, *args: str, stdin: bool = False,
               static: bool = True) -> DeviceProcess:
        common = COMMON if static else ("--color", "false")
        return cls([sys.executable, "-m", "zmtp.device", name, *common, *args], stdin=stdin)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            self.lines.append(line)
            self._new.put(line)
        self._new.put(None)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def messages(self) -> list[str]:
        """Log messages without the ``[HH:MM:SS][SEVERITY] `` prefix."""
        return [re.sub(r"^(\[[^\]]*\])+ ?", "", line) for line in self.lines]

    def state_lines(self) -> list[str]:
        return [re.sub(r"^.*\[STATE\] ", "", line) for line in self.lines if "[STATE]" in line]

    def wait_line(self, pattern: str, timeout: float = 20.0) -> str:
        """Wait until a line contains ``pattern`` (already seen lines count)."""
        for line in list(self.lines):
            if pattern in line:
                return line
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line with {pattern!r} within {timeout} s:\n"
                                     + self.output)
            try:
                line = self._new.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"process ended without a line with {pattern!r}:\n"
                                     + self.output)
            if pattern in line:
                return line

    def send_keys(self, keys: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(keys.encode())
        self.proc.stdin.flush()

    def signal(self, signum: int = signal.SIGINT) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)  # by PID: our own child only

    def wait(self, timeout: float = 30.0) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"process did not end within {timeout} s:\n"
                                 + self.output) from None
        self._reader.join(5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> DeviceProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
        if self.proc.stdin is not None:
            self.proc.stdin.close()


def fairmq_socket(ctx: Any, kind: str, device_id: str, channel: str, index: int = 0, *,
                  hwm: int = 1000, linger: int = 500) -> Any:
    """A pyzmq socket set up as FairMQ's zeromq transport sets up a channel's socket."""
    import zmq

    s = ctx.socket(getattr(zmq, kind.upper()))
    s.setsockopt(zmq.IDENTITY, f"{device_id}.{channel}[{index}].{kind}".encode())
    s.setsockopt(zmq.LINGER, 1000)  # at creation, then the channel's value
    s.setsockopt(zmq.SNDTIMEO, 100)
    s.setsockopt(zmq.RCVTIMEO, 100)
    if kind == "sub":
        s.setsockopt(zmq.SUBSCRIBE, b"")
    s.setsockopt(zmq.SNDHWM, hwm)
    s.setsockopt(zmq.RCVHWM, hwm)
    s.setsockopt(zmq.LINGER, linger)
    return s


def recv_multipart(sock: Any, timeout: float = 20.0) -> list[bytes]:
    """FairMQ's blocking receive: retry the 100 ms socket timeout until ``timeout``."""
    import zmq

    deadline = time.monotonic() + timeout
    while True:
        try:
            return list(sock.recv_multipart())
        except zmq.Again:
            if time.monotonic() > deadline:
                raise AssertionError("nothing received in time") from None


def send_multipart(sock: Any, frames: Sequence[bytes], timeout: float = 20.0) -> None:
    import zmq

    deadline = time.monotonic() + timeout
    while True:
        try:
            sock.send_multipart(list(frames))
            return
        except zmq.Again:
            if time.monotonic() > deadline:
                raise AssertionError("could not send in time") from None
