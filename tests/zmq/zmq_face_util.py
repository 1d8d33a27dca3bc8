"""Shared helpers for the zmtp.zmq tests that run against both pyzmq and zmtp.zmq.

(Not a test module; tests/zmq is on sys.path under pytest's default import mode.)
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import zmq as pyzmq

import zmtp.zmq as zzmq

#: Run a test on real pyzmq (validates the test) and on zmtp.zmq (the thing under test).
MODULES = [pytest.param(pyzmq, id="pyzmq"), pytest.param(zzmq, id="zmtp")]

_counter = itertools.count()


def endpoint(transport: str, tmp_path: Path) -> str:
    """A bindable endpoint: tcp on a random loopback port, or a fresh ipc path."""
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    if transport == "ipc":
        return f"ipc://{tmp_path}/s{next(_counter)}.ipc"
    return f"inproc://t{next(_counter)}-{time.monotonic_ns()}"


def configure(sock: Any, timeout_ms: int = 5000) -> Any:
    """No linger, bounded blocking: a broken test fails instead of hanging."""
    sock.linger = 0
    sock.rcvtimeo = timeout_ms
    sock.sndtimeo = timeout_ms
    return sock


def bind_connect(binder: Any, connecter: Any, transport: str, tmp_path: Path) -> str:
    """Bind ``binder``, connect ``connecter`` to the endpoint it got; return that endpoint."""
    binder.bind(endpoint(transport, tmp_path))
    addr = binder.getsockopt(pyzmq.LAST_ENDPOINT)
    if isinstance(addr, bytes):
        addr = addr.decode()
    connecter.connect(addr)
    return str(addr)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` every few ms until true or ``timeout`` s passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


def sync_pubsub(pub: Any, sub: Any, topic: bytes = b"", attempts: int = 500) -> None:
    """Publish probes until ``sub`` receives one (the subscription has reached ``pub``),
    then drain the probes so the test starts from an empty queue."""
    for _ in range(attempts):
        pub.send(topic + b"\x00probe")
        if sub.poll(10):
            break
    else:
        raise AssertionError("subscription never reached the publisher")
    while sub.poll(300):  # probes still in flight (through a proxy: two hops)
        sub.recv()


def module_of(sock: Any) -> ModuleType:
    return zzmq if type(sock).__module__.startswith("zmtp") else pyzmq
