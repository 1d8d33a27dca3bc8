"""The event stream cannot become a leak: consumers that fall behind lose events instead
of slowing traffic, and consumers dropped without closing are forgotten."""

from __future__ import annotations

import gc

import trio

import zmtp
from zmtp.monitor import EventKind, EventSink


async def test_dropped_consumers_are_forgotten() -> None:
    sink = EventSink()
    kept = sink.subscribe(10)
    for _ in range(100):
        sink.subscribe(1000)  # dropped at once, never closed
    gc.collect()
    sink.emit(EventKind.ACCEPTED, "tcp://x:1", "peer:2")
    assert sink.consumers == 1
    assert kept.receive_nowait().kind is EventKind.ACCEPTED


async def test_slow_consumer_loses_events_not_traffic() -> None:
    async with zmtp.Socket(zmtp.PULL, linger=0) as pull, \
            zmtp.Socket(zmtp.PUSH, linger=0) as push:
        events = pull.events(max_buffer=2)  # never read until the end
        endpoint = await pull.bind("tcp://127.0.0.1:*")
        await push.connect(endpoint)
        for i in range(5):
            await push.send(b"%d" % i)
        with trio.fail_after(10):
            assert [await pull.recv() for _ in range(5)] == [b"%d" % i for i in range(5)]
        got = []
        while True:
            try:
                got.append(events.receive_nowait().kind)
            except trio.WouldBlock:
                break
        assert got == [EventKind.LISTENING, EventKind.ACCEPTED]  # the rest was dropped
