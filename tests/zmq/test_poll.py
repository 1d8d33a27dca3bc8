"""Poller, zmq_poll and select over sockets and plain file descriptors, on pyzmq and zmtp.zmq."""

from __future__ import annotations

import os
import socket as stdlib_socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from zmq_face_util import MODULES, bind_connect, configure


@pytest.fixture(params=MODULES)
def zmq(request: pytest.FixtureRequest) -> ModuleType:
    module: ModuleType = request.param
    return module


@pytest.fixture
def ctx(zmq: ModuleType) -> Iterator[Any]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def pair(zmq: ModuleType, ctx: Any, tmp_path: Path) -> tuple[Any, Any]:
    a = configure(ctx.socket(zmq.PAIR))
    b = configure(ctx.socket(zmq.PAIR))
    bind_connect(a, b, "tcp", tmp_path)
    return a, b


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    r, w = os.pipe()
    yield r, w
    os.close(r)
    os.close(w)


def _wait_connected(zmq: ModuleType, a: Any, b: Any) -> None:
    a.send(b"hello")
    assert b.recv() == b"hello"


def test_pollout_then_pollin(zmq: ModuleType, pair: tuple[Any, Any]) -> None:
    a, b = pair
    _wait_connected(zmq, a, b)
    poller = zmq.Poller()
    poller.register(a, zmq.POLLIN | zmq.POLLOUT)
    poller.register(b, zmq.POLLIN)
    events = dict(poller.poll(1000))
    assert events == {a: zmq.POLLOUT}
    a.send(b"ping")
    assert wait_for(poller, {a: zmq.POLLOUT, b: zmq.POLLIN})
    assert b.recv() == b"ping"
    assert b not in dict(poller.poll(0))


def test_poll_times_out_empty(zmq: ModuleType, pair: tuple[Any, Any]) -> None:
    _a, b = pair
    poller = zmq.Poller()
    poller.register(b, zmq.POLLIN)
    started = time.monotonic()
    assert poller.poll(100) == []
    assert time.monotonic() - started >= 0.09


def test_register_modify_unregister(zmq: ModuleType, pair: tuple[Any, Any]) -> None:
    a, b = pair
    _wait_connected(zmq, a, b)
    poller = zmq.Poller()
    poller.register(a, zmq.POLLIN)
    assert poller.poll(0) == []
    poller.modify(a, zmq.POLLOUT)
    assert dict(poller.poll(1000)) == {a: zmq.POLLOUT}
    poller.register(a, 0)  # flags 0 removes it
    assert poller.poll(0) == []
    with pytest.raises(KeyError):
        poller.unregister(a)
    poller.register(b, zmq.POLLOUT)
    poller.unregister(b)
    assert poller.poll(0) == []


def test_blocking_poll_woken_by_other_thread(zmq: ModuleType, pair: tuple[Any, Any]) -> None:
    a, b = pair
    _wait_connected(zmq, a, b)
    poller = zmq.Poller()
    poller.register(b, zmq.POLLIN)
    timer = threading.Timer(0.2, lambda: a.send(b"late"))
    timer.start()
    try:
        events = dict(poller.poll())  # no timeout: only the message can end it
    finally:
        timer.join()
    assert events == {b: zmq.POLLIN}
    assert b.recv() == b"late"


def test_plain_fd_with_sockets(zmq: ModuleType, pair: tuple[Any, Any],
                               pipe: tuple[int, int]) -> None:
    a, b = pair
    r, w = pipe
    poller = zmq.Poller()
    poller.register(b, zmq.POLLIN)
    poller.register(r, zmq.POLLIN)
    assert poller.poll(50) == []
    os.write(w, b"x")
    assert dict(poller.poll(1000)) == {r: zmq.POLLIN}
    a.send(b"msg")
    assert wait_for(poller, {r: zmq.POLLIN, b: zmq.POLLIN})
    os.read(r, 1)
    assert dict(poller.poll(1000)) == {b: zmq.POLLIN}


def wait_for(poller: Any, expected: dict[Any, int], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dict(poller.poll(100)) == expected:
            return True
    return False


def test_fileno_objects_and_pollout(zmq: ModuleType) -> None:
    left, right = stdlib_socket.socketpair()
    with left, right:
        poller = zmq.Poller()
        poller.register(left, zmq.POLLIN | zmq.POLLOUT)
        # pyzmq reports a fileno() object by its fd number; so does zmtp.zmq.
        assert dict(poller.poll(1000)) == {left.fileno(): zmq.POLLOUT}
        right.send(b"data")
        assert wait_for(poller, {left.fileno(): zmq.POLLIN | zmq.POLLOUT})


def test_plain_fd_wakes_blocking_poll(zmq: ModuleType, pair: tuple[Any, Any],
                                      pipe: tuple[int, int]) -> None:
    _a, b = pair
    r, w = pipe
    poller = zmq.Poller()
    poller.register(b, zmq.POLLIN)
    poller.register(r, zmq.POLLIN)
    timer = threading.Timer(0.2, lambda: os.write(w, b"!"))
    timer.start()
    try:
        assert dict(poller.poll(10_000)) == {r: zmq.POLLIN}
    finally:
        timer.join()


def test_select_sockets_and_fds(zmq: ModuleType, pair: tuple[Any, Any],
                                pipe: tuple[int, int]) -> None:
    a, b = pair
    r, w = pipe
    _wait_connected(zmq, a, b)
    rl, wl, xl = zmq.select([b, r], [a], [], 1.0)
    assert (rl, wl, xl) == ([], [a], [])
    a.send(b"data")
    os.write(w, b"x")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        rl, wl, xl = zmq.select([b, r], [], [], 0.5)
        if set(map(id, rl)) == {id(b), id(r)}:
            break
    assert {id(x) for x in rl} == {id(b), id(r)}
    started = time.monotonic()
    assert zmq.select([a], [], [], 0.1) == ([], [], [])
    assert time.monotonic() - started >= 0.09


def test_zmq_poll_function(zmq: ModuleType, pair: tuple[Any, Any]) -> None:
    a, b = pair
    _wait_connected(zmq, a, b)
    a.send(b"x")
    deadline = time.monotonic() + 5
    result: list[tuple[Any, int]] = []
    while time.monotonic() < deadline and not result:
        result = zmq.zmq_poll([(b, zmq.POLLIN), (a, zmq.POLLIN)], 100)
    assert result == [(b, zmq.POLLIN)]


def test_poll_closed_socket_raises_enotsock(zmq: ModuleType, ctx: Any) -> None:
    if not zmq.__name__.startswith("zmtp"):
        pytest.skip("pyzmq reports a closed socket as fd 0 being readable; zmtp raises")
    s = ctx.socket(zmq.PULL)
    s.close()
    poller = zmq.Poller()
    poller.register(s, zmq.POLLIN)
    with pytest.raises(zmq.ZMQError) as info:
        poller.poll(10)
    assert info.value.errno == zmq.ENOTSOCK


def test_socket_events_and_fd(zmq: ModuleType, pair: tuple[Any, Any]) -> None:
    import select

    a, b = pair
    _wait_connected(zmq, a, b)
    assert b.getsockopt(zmq.EVENTS) & zmq.POLLIN == 0
    a.send(b"x")
    # libzmq's FD contract: readable when EVENTS may have changed; then EVENTS tells.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if b.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            break
        select.select([b.fd], [], [], 0.1)
    assert b.getsockopt(zmq.EVENTS) & zmq.POLLIN
    assert b.recv() == b"x"
