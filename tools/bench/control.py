"""The control channel between the orchestrator and its worker processes.

One JSON object per line. The orchestrator writes commands to a worker's stdin
(``{"cmd": "run", "role": ..., "args": {...}}``, and inside a role ``{"cmd": "go"}``,
``{"cmd": "release"}``, ...); the worker answers on a private copy of its stdout
(``{"event": "bound", ...}``, ``{"event": "done", ...}``, ``{"event": "error", ...}``).
The worker's fd 1 is pointed at stderr, so a stray ``print`` cannot corrupt the channel.

Nothing here runs inside a timed region: roles talk to the orchestrator only before
and after the loops they measure.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["Ctl", "ControlError", "Worker", "WorkerFailed"]

REPO_ROOT = Path(__file__).resolve().parents[2]


class ControlError(Exception):
    """The worker got a command it did not expect, or waited too long for one."""


class WorkerFailed(Exception):
    """A worker reported an error, timed out, or died. The trial it was in has failed."""


# --------------------------------------------------------------------------- worker side


class Ctl:
    """The worker's end: read commands from stdin (on a thread), write events out."""

    def __init__(self, infile: BinaryIO, outfile: BinaryIO) -> None:
        self._out = outfile
        self._q: queue.Queue[dict[str, Any]] = queue.Queue()
        self._lock = threading.Lock()
        t = threading.Thread(target=self._read, args=(infile,), name="ctl-reader", daemon=True)
        t.start()

    @classmethod
    def from_stdio(cls) -> Ctl:
        out = os.fdopen(os.dup(1), "wb", buffering=0)
        os.dup2(2, 1)  # stray prints go to stderr, not into the channel
        sys.stdout = sys.stderr
        return cls(sys.stdin.buffer, out)

    def _read(self, infile: BinaryIO) -> None:
        for line in infile:
            line = line.strip()
            if line:
                self._q.put(json.loads(line))
        # The orchestrator closed our stdin (it is done with us, or it died): leave now,
        # whatever we are doing. This is what makes every worker go away with its parent.
        os._exit(0)

    def emit(self, event: str, **data: Any) -> None:
        line = json.dumps({"event": event, **data}).encode() + b"\n"
        with self._lock:
            self._out.write(line)

    def next_command(self) -> dict[str, Any]:
        return self._q.get()

    def poll(self, timeout: float = 0.0) -> dict[str, Any] | None:
        """The next command if one arrives within ``timeout`` seconds, else None."""
        try:
            if timeout <= 0:
                return self._q.get_nowait()
            return self._q.get(timeout=timeout)
        except queue.Empty:
            return None

    def expect(self, cmd: str, timeout: float) -> dict[str, Any]:
        """Block until the orchestrator sends ``cmd``; raise ControlError otherwise."""
        msg = self.poll(timeout)
        if msg is None:
            raise ControlError(f"no {cmd!r} from the orchestrator within {timeout:.0f} s")
        if msg.get("cmd") != cmd:
            raise ControlError(f"expected {cmd!r} from the orchestrator, got {msg!r}")
        return msg


# --------------------------------------------------------------------- orchestrator side


class Worker:
    """One worker process, started by the orchestrator and killed only by its PID."""

    def __init__(self, impl: str, tag: str) -> None:
        self.impl = impl
        self.tag = tag
        self._err = tempfile.TemporaryFile(prefix="zmtp-bench-stderr-")  # noqa: SIM115
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
        env.setdefault("PYTHONUNBUFFERED", "1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tools.bench.worker", impl],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
            cwd=str(REPO_ROOT),
            env=env,
        )
        self.pid = self.proc.pid
        self._q: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, name=f"worker-{self.pid}", daemon=True).start()
        self.info: dict[str, Any] = {}
        self.busy = False  # inside a role: between run() and its "done"/"error"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self._q.put(json.loads(line))
            except ValueError:
                self._q.put({"event": "garbage", "line": line.decode(errors="replace")})
        self._q.put(None)

    def __repr__(self) -> str:
        return f"<worker {self.impl}#{self.tag} pid={self.pid}>"

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, cmd: str, **data: Any) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"cmd": cmd, **data}).encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError) as e:
            raise WorkerFailed(f"{self}: cannot send {cmd!r}: the process is gone") from e

    def run(self, role: str, **args: Any) -> None:
        self.send("run", role=role, args=args)
        self.busy = True

    def expect(self, event: str, timeout: float) -> dict[str, Any]:
        """Wait for ``event`` from the worker; raise WorkerFailed on anything else."""
        deadline = time.monotonic() + timeout
        remaining = timeout
        try:
            msg = self._q.get(timeout=max(remaining, 0.001))
        except queue.Empty:
            raise WorkerFailed(
                f"{self}: no {event!r} within {timeout:.1f} s (stuck; killed)"
            ) from None
        if msg is None:
            self.proc.wait(timeout=max(deadline - time.monotonic(), 1.0))
            raise WorkerFailed(
                f"{self}: exited (code {self.proc.returncode}) while we waited for {event!r}"
                f"{self.stderr_tail()}"
            )
        got = msg.get("event")
        if got in ("done", "error"):
            self.busy = False
        if got == "error":
            raise WorkerFailed(f"{self}: {msg.get('error')}")
        if got != event:
            raise WorkerFailed(f"{self}: expected {event!r}, got {msg!r}")
        return msg

    def stderr_tail(self, limit: int = 1500) -> str:
        try:
            self._err.seek(0)
            text = self._err.read().decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""
        return f"\n    stderr: ...{text[-limit:]}" if text else ""

    def kill(self) -> None:
        """Kill this worker (SIGKILL to its own PID; nothing else) and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self._cleanup()

    def close(self, grace: float = 3.0) -> None:
        """Close its stdin (it exits at once), wait ``grace`` seconds, then kill it."""
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._cleanup()

    def _cleanup(self) -> None:
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        with contextlib.suppress(OSError):
            self._err.close()
