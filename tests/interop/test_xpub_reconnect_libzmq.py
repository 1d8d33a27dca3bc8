"""XPUB when its subscribers go away and come back, compared with libzmq 4.3.5.

Measured with pyzmq (a libzmq XPUB in each role, the SUB kept turning so it attaches):

* XPUB **connecting** to a SUB that binds: libzmq keeps the connection's pipe, and the
  subscriptions learnt on it, across reconnects.  The SUB going away reports nothing; a
  new SUB on the same endpoint subscribing to a topic already known reports nothing
  either (``xpub_verbose``: reported again), a new topic is reported; messages matching
  the old subscriptions queue while the SUB is away and reach the new one.
* XPUB **binding**: each connection is a pipe of its own; a SUB that goes away is
  unsubscribed (``\\x00topic`` reported for topics nobody else holds), and its
  successor's subscriptions are new (``\\x01topic``).

zmtp's XPUB must do the same in both roles.
"""

from __future__ import annotations

import socket as stdlib_socket
from typing import Any

import pytest
import trio

import zmtp
from zmtp.monitor import EventKind

from .conftest import zbind, zmq, zrecv, zsock


def _free_endpoint() -> str:
    with stdlib_socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{probe.getsockname()[1]}"


async def _reports(xpub: zmtp.Socket, sub: Any | None, quiet: float = 0.3) -> list[bytes]:
    """What else the XPUB hands the application until ``quiet`` s pass with nothing,
    keeping the libzmq SUB turning (it attaches a bound connection, and sends its
    subscriptions over it, only when its application thread calls into it)."""
    got: list[bytes] = []
    with trio.fail_after(10):
        while True:
            if sub is not None:
                sub.getsockopt(zmq.EVENTS)
            with trio.move_on_after(quiet) as idle:
                while True:
                    if sub is not None:
                        sub.getsockopt(zmq.EVENTS)
                    with trio.move_on_after(0.005):
                        got.append(await xpub.recv())
                        break
            if idle.cancelled_caught:
                return got


async def _wait_event(events: trio.MemoryReceiveChannel[Any], kind: EventKind) -> None:
    with trio.fail_after(10):
        async for event in events:
            if event.kind is kind:
                return


async def _next_report(xpub: zmtp.Socket, sub: Any | None) -> bytes:
    with trio.fail_after(10):
        while True:
            if sub is not None:
                sub.getsockopt(zmq.EVENTS)
            with trio.move_on_after(0.005):
                return await xpub.recv()


@pytest.mark.parametrize("verbose", [False, True])
async def test_connecting_xpub_keeps_subscriptions_across_reconnect(ctx: Any,
                                                                   verbose: bool) -> None:
    endpoint = _free_endpoint()
    sub = zsock(ctx, "SUB")
    zbind(sub, endpoint)
    async with zmtp.Socket(zmtp.XPUB, xpub_verbose=verbose, reconnect_ivl=0.05) as xpub:
        events = xpub.events()
        await xpub.connect(endpoint)
        sub.subscribe(b"a")
        sub.subscribe(b"b")
        assert sorted([await _next_report(xpub, sub), await _next_report(xpub, sub)]) == [
            b"\x01a", b"\x01b"]
        await _wait_event(events, EventKind.HANDSHAKE_SUCCEEDED)
        sub.close()
        await _wait_event(events, EventKind.DISCONNECTED)
        assert await _reports(xpub, None) == []  # libzmq: no \x00 for a connecting XPUB
        await xpub.send(b"a sent while away")  # queued: the subscription is still known
        sub = zsock(ctx, "SUB")
        zbind(sub, endpoint)
        sub.subscribe(b"a")
        sub.subscribe(b"c")
        reports = [await _next_report(xpub, sub), *await _reports(xpub, sub)]
        assert sorted(reports) == ([b"\x01a", b"\x01c"] if verbose else [b"\x01c"])
        assert await zrecv(sub) == [b"a sent while away"]


async def test_binding_xpub_unsubscribes_a_departed_sub(ctx: Any) -> None:
    async with zmtp.Socket(zmtp.XPUB) as xpub:
        endpoint = await xpub.bind("tcp://127.0.0.1:*")
        sub = zsock(ctx, "SUB")
        sub.connect(endpoint)
        sub.subscribe(b"a")
        sub.subscribe(b"b")
        assert sorted([await _next_report(xpub, sub), await _next_report(xpub, sub)]) == [
            b"\x01a", b"\x01b"]
        sub.close()
        assert sorted([await _next_report(xpub, None) for _ in range(2)]) == [
            b"\x00a", b"\x00b"]
        sub = zsock(ctx, "SUB")
        sub.connect(endpoint)
        sub.subscribe(b"a")
        assert [await _next_report(xpub, sub), *await _reports(xpub, sub)] == [b"\x01a"]

