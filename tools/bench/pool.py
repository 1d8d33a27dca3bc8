"""Worker processes, seen from the orchestrator: a pool of them and the trials that use them.

Workers are kept between trials (start-up costs a few hundred milliseconds, trio and
zmtp included) and identified by ``(impl, slot)``: a trial between two zmtp roles uses
two slots, so two processes. A trial that fails in any way kills (by PID) every worker
it used; the next trial starts new ones. Memory trials use fresh workers only, closed
when the trial ends, so that earlier trials do not colour the RSS figures.
"""

from __future__ import annotations

import time
from types import TracebackType

from .control import Worker, WorkerFailed

__all__ = ["HELLO_TIMEOUT", "Pool", "Trial", "TrialError"]

HELLO_TIMEOUT = 30.0


class TrialError(Exception):
    """A trial completed but its result is wrong (a count does not match, ...)."""


class Pool:
    def __init__(self) -> None:
        self._workers: dict[tuple[str, str], Worker] = {}
        self.versions: dict[str, str] = {}
        self._fresh_seq = 0

    def _start(self, keys: list[tuple[str, str]], fresh: bool) -> list[Worker]:
        out: list[Worker | None] = []
        started: list[Worker] = []
        for impl, slot in keys:
            w = None if fresh else self._workers.get((impl, slot))
            if w is not None and not w.alive:
                self.discard(w)
                w = None
            if w is None:
                if fresh:
                    self._fresh_seq += 1
                    slot = f"{slot}~{self._fresh_seq}"
                w = Worker(impl, slot)
                started.append(w)
                if not fresh:
                    self._workers[(impl, slot)] = w
            out.append(w)
        deadline = time.monotonic() + HELLO_TIMEOUT
        try:
            for w in started:
                hello = w.expect("hello", max(deadline - time.monotonic(), 0.1))
                w.info = hello
                self.versions.setdefault(w.impl, str(hello.get("version", "")))
        except WorkerFailed:
            for w in started:
                self.discard(w)
            raise
        return [w for w in out if w is not None]

    def get(self, keys: list[tuple[str, str]]) -> list[Worker]:
        return self._start(keys, fresh=False)

    def fresh(self, keys: list[tuple[str, str]]) -> list[Worker]:
        return self._start(keys, fresh=True)

    def discard(self, w: Worker) -> None:
        """Kill ``w`` (by its PID) and forget it."""
        w.kill()
        for k, v in list(self._workers.items()):
            if v is w:
                del self._workers[k]

    def close(self) -> None:
        for w in list(self._workers.values()):
            w.close()
        self._workers.clear()

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self._workers.values()]


class Trial:
    """``with Trial(pool) as t:``; ``t.get(...)`` / ``t.fresh(...)`` hand out workers.

    On leaving with an exception, every worker handed out is killed. Fresh workers are
    closed in any case. A worker still inside a role at the end (it never said ``done``)
    makes the trial fail: it would be out of step with the next one.
    """

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.used: list[Worker] = []
        self.fresh_used: list[Worker] = []

    def get(self, *keys: tuple[str, str]) -> list[Worker]:
        ws = self.pool.get(list(keys))
        self.used.extend(ws)
        return ws

    def fresh(self, *keys: tuple[str, str]) -> list[Worker]:
        ws = self.pool.fresh(list(keys))
        self.fresh_used.extend(ws)
        return ws

    def __enter__(self) -> Trial:
        return self

    def __exit__(
        self,
        et: type[BaseException] | None,
        ev: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        failed = et is not None
        for w in self.used:
            if failed or w.busy:
                self.pool.discard(w)
        for w in self.fresh_used:
            if failed or w.busy:
                w.kill()
            else:
                w.close()
        if not failed and any(w.busy for w in self.used + self.fresh_used):
            raise TrialError("a worker was still inside a role when the trial ended")
