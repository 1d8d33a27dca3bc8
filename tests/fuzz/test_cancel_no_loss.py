"""Cancelling send/recv never loses or duplicates an accepted message (issue 7).

send and recv skip the trio checkpoint when they can complete at once and take one every
256th call so a busy loop still lets I/O run.  That periodic checkpoint comes after the
message was queued or taken: if it could raise Cancelled, a cancelled recv would have
consumed a message the caller never sees, and a cancelled send would have queued one the
caller believes unsent (and sends again).
"""

from __future__ import annotations

import trio

import zmtp

COUNT = 600  # at least two periodic checkpoints


async def test_cancelled_recv_loses_nothing() -> None:
    async with zmtp.Socket(zmtp.PULL, linger=0) as pull, \
            zmtp.Socket(zmtp.PUSH, linger=0) as push:
        await push.connect(await pull.bind("inproc://cancel-recv"))
        for i in range(COUNT):
            await push.send(b"%d" % i)
        got: list[bytes] = []
        for _ in range(COUNT):
            with trio.CancelScope() as scope:
                scope.cancel()
                got.append(await pull.recv())
        with trio.fail_after(5):
            while len(got) < COUNT:
                got.append(await pull.recv())
        assert got == [b"%d" % i for i in range(COUNT)]


async def test_cancelled_send_is_not_half_done() -> None:
    async with zmtp.Socket(zmtp.PULL, linger=0) as pull, \
            zmtp.Socket(zmtp.PUSH, linger=0, sndhwm=0) as push:
        await push.connect(await pull.bind("inproc://cancel-send"))
        sent = 0
        cancelled = 0
        while sent < COUNT:
            with trio.CancelScope() as scope:
                scope.cancel()
                await push.send(b"%d" % sent)
                sent += 1  # only counted if send returned: then it must arrive once
            if scope.cancelled_caught:
                cancelled += 1
                await trio.sleep(0)
        with trio.fail_after(5):
            got = [await pull.recv() for _ in range(COUNT)]
        assert got == [b"%d" % i for i in range(COUNT)]
        with trio.move_on_after(0.1):
            extra = await pull.recv()
            raise AssertionError(f"a cancelled send was delivered anyway: {extra!r}")
