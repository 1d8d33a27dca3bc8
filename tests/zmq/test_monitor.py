"""Socket monitors and zmq.utils.monitor on pyzmq and zmtp.zmq: libzmq's event numbers,
values and endpoints, in libzmq's order, decoded by recv_monitor_message."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import import_module
from types import ModuleType
from typing import Any

import pytest
from zmq_face_util import MODULES, configure


@pytest.fixture(params=MODULES)
def zmq(request: pytest.FixtureRequest) -> ModuleType:
    module: ModuleType = request.param
    return module


@pytest.fixture
def ctx(zmq: ModuleType) -> Iterator[Any]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def _events_until(zmq: ModuleType, mon: Any, last: int, limit: int = 20) -> list[dict[str, Any]]:
    recv_monitor_message = import_module(zmq.__name__ + ".utils.monitor").recv_monitor_message
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        if not mon.poll(5000):
            break
        event = recv_monitor_message(mon)
        seen.append(event)
        if event["event"] == last:
            break
    return seen


def test_connect_and_accept_events(zmq: ModuleType, ctx: Any) -> None:
    server = configure(ctx.socket(zmq.REP))
    client = configure(ctx.socket(zmq.REQ))
    server_mon = server.get_monitor_socket()
    client_mon = client.get_monitor_socket()
    server.bind("tcp://127.0.0.1:*")
    addr = server.getsockopt_string(zmq.LAST_ENDPOINT)
    listening = _events_until(zmq, server_mon, zmq.EVENT_LISTENING)
    assert listening[-1]["event"] == zmq.EVENT_LISTENING
    assert listening[-1]["endpoint"] == addr.encode()
    client.connect(addr)
    client_events = _events_until(zmq, client_mon, zmq.EVENT_HANDSHAKE_SUCCEEDED)
    kinds = [e["event"] for e in client_events]
    assert zmq.EVENT_CONNECTED in kinds
    assert kinds[-1] == zmq.EVENT_HANDSHAKE_SUCCEEDED
    assert kinds.index(zmq.EVENT_CONNECTED) < kinds.index(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    assert all(e["endpoint"] == addr.encode() for e in client_events)
    server_events = _events_until(zmq, server_mon, zmq.EVENT_HANDSHAKE_SUCCEEDED)
    kinds = [e["event"] for e in server_events]
    assert kinds == [zmq.EVENT_ACCEPTED, zmq.EVENT_HANDSHAKE_SUCCEEDED]
    assert server_events[0]["value"] > 0  # the accepted connection's fd
    # The peer going away is a DISCONNECTED on the server.
    client.close()
    gone = _events_until(zmq, server_mon, zmq.EVENT_DISCONNECTED)
    assert gone[-1]["event"] == zmq.EVENT_DISCONNECTED
    server.disable_monitor()
    stopped = _events_until(zmq, server_mon, zmq.EVENT_MONITOR_STOPPED)
    assert stopped[-1]["event"] == zmq.EVENT_MONITOR_STOPPED


def test_event_filter(zmq: ModuleType, ctx: Any) -> None:
    server = configure(ctx.socket(zmq.PULL))
    client = configure(ctx.socket(zmq.PUSH))
    mon = client.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    port = server.bind_to_random_port("tcp://127.0.0.1")
    client.connect(f"tcp://127.0.0.1:{port}")
    events = _events_until(zmq, mon, zmq.EVENT_HANDSHAKE_SUCCEEDED)
    assert [e["event"] for e in events] == [zmq.EVENT_HANDSHAKE_SUCCEEDED]


def test_monitor_on_explicit_address(zmq: ModuleType, ctx: Any) -> None:
    server = configure(ctx.socket(zmq.ROUTER))
    server.monitor("inproc://server.monitor", zmq.EVENT_ALL)
    mon = configure(ctx.socket(zmq.PAIR))
    mon.connect("inproc://server.monitor")
    server.bind("tcp://127.0.0.1:*")
    events = _events_until(zmq, mon, zmq.EVENT_LISTENING)
    assert events[-1]["event"] == zmq.EVENT_LISTENING
    server.monitor(None, 0)  # libzmq's way of stopping a monitor
    stopped = _events_until(zmq, mon, zmq.EVENT_MONITOR_STOPPED)
    assert stopped[-1]["event"] == zmq.EVENT_MONITOR_STOPPED


def test_connect_retried_when_nobody_listens(zmq: ModuleType, ctx: Any) -> None:
    probe = ctx.socket(zmq.PULL)
    port = probe.bind_to_random_port("tcp://127.0.0.1")
    probe.close(linger=0)
    client = configure(ctx.socket(zmq.PUSH))
    client.setsockopt(zmq.RECONNECT_IVL, 50)
    mon = client.get_monitor_socket()
    client.connect(f"tcp://127.0.0.1:{port}")
    events = _events_until(zmq, mon, zmq.EVENT_CONNECT_RETRIED)
    kinds = [e["event"] for e in events]
    assert kinds[-1] == zmq.EVENT_CONNECT_RETRIED
    assert events[-1]["value"] >= 50  # the reconnect interval in ms (libzmq adds jitter)


def test_recv_monitor_message_on_asyncio_socket(zmq: ModuleType) -> None:
    """With an asyncio socket recv_monitor_message returns an awaitable of the dict."""
    import asyncio

    zaio = import_module(zmq.__name__ + ".asyncio")
    recv_monitor_message = import_module(zmq.__name__ + ".utils.monitor").recv_monitor_message

    async def main() -> list[int]:
        ctx = zaio.Context()
        try:
            server = ctx.socket(zmq.PULL)
            server.linger = 0
            mon = server.get_monitor_socket()
            server.bind("tcp://127.0.0.1:*")
            event = await asyncio.wait_for(recv_monitor_message(mon), 5)
            return [event["event"]]
        finally:
            ctx.destroy(linger=0)

    assert asyncio.run(main()) == [zmq.EVENT_LISTENING]
