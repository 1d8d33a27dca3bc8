"""Waiters: park/unpark_all as ParkingLot does it, for the hot wake-ups."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from zmtp.waiters import Waiters

pytestmark = pytest.mark.timeout(10)


async def test_unpark_all_wakes_every_parked_task() -> None:
    waiters = Waiters()
    woken: list[int] = []

    async def wait(index: int) -> None:
        await waiters.park()
        woken.append(index)

    async with trio.open_nursery() as nursery:
        for index in range(3):
            nursery.start_soon(wait, index)
        await trio.testing.wait_all_tasks_blocked()
        assert waiters and len(waiters) == 3
        waiters.unpark_all()
        assert not waiters
    assert sorted(woken) == [0, 1, 2]


async def test_cancelled_park_leaves_the_set_and_others_still_wake() -> None:
    waiters = Waiters()
    woken: list[str] = []
    scope = trio.CancelScope()

    async def wait(name: str, cancel_scope: trio.CancelScope) -> None:
        with cancel_scope:
            await waiters.park()
            woken.append(name)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait, "stays", trio.CancelScope())
        nursery.start_soon(wait, "cancelled", scope)
        await trio.testing.wait_all_tasks_blocked()
        assert len(waiters) == 2
        scope.cancel()
        await trio.testing.wait_all_tasks_blocked()
        assert len(waiters) == 1
        waiters.unpark_all()
    assert woken == ["stays"]
    waiters.unpark_all()  # nobody waits: nothing happens
