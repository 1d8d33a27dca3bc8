"""Helpers for driving libzmq (through pyzmq) from trio tests without blocking trio.

Every pyzmq call here is non-blocking (``zmq.NOBLOCK``) and polled in a bounded loop
with a short ``trio.sleep``: a test can never hang on libzmq, and the trio side keeps
running while we wait.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import trio

import zmtp

zmq = pytest.importorskip("zmq")

POLL = 0.002
DEFAULT_WAIT = 10.0

_counter = itertools.count()


@pytest.fixture
def ctx() -> Iterator[Any]:
    context = zmq.Context()
    try:
        yield context
    finally:
        context.destroy(linger=0)


@pytest.fixture
def ipc_dir(tmp_path: Path) -> Path:
    # AF_UNIX paths are limited to ~107 bytes: keep them short.
    return tmp_path


def endpoint_for(transport: str, ipc_dir: Path) -> str:
    """An endpoint to bind: tcp on a free loopback port, or an ipc path in tmp."""
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    path = ipc_dir / f"s{next(_counter)}.sock"
    if len(str(path)) > 100:  # pragma: no cover - very deep tmp dirs
        import tempfile

        path = Path(tempfile.mkdtemp(prefix="zi")) / "s.sock"
    return f"ipc://{path}"


def zsock(ctx: Any, kind: str, **options: Any) -> Any:
    """A pyzmq socket of type ``kind`` ('PUSH', ...) with linger 0 and the given options."""
    sock = ctx.socket(getattr(zmq, kind))
    sock.setsockopt(zmq.LINGER, 0)
    for name, value in options.items():
        sock.setsockopt(getattr(zmq, name.upper()), value)
    return sock


def zbind(sock: Any, endpoint: str) -> str:
    sock.bind(endpoint)
    return str(sock.getsockopt(zmq.LAST_ENDPOINT).decode())


async def zsend(sock: Any, frames: Sequence[bytes], timeout: float = DEFAULT_WAIT) -> None:
    """Send a multipart message with NOBLOCK, retrying while libzmq says EAGAIN
    (no peer yet, or at HWM) or EHOSTUNREACH (ROUTER_MANDATORY before the handshake)."""
    with trio.fail_after(timeout):
        while True:
            try:
                sock.send_multipart(list(frames), flags=zmq.NOBLOCK)
                return
            except zmq.Again:
                pass
            except zmq.ZMQError as exc:
                if exc.errno != zmq.EHOSTUNREACH:
                    raise
            await trio.sleep(POLL)


async def zrecv(sock: Any, timeout: float = DEFAULT_WAIT) -> list[bytes]:
    """Receive a multipart message, polling with NOBLOCK; fails the test after ``timeout``."""
    with trio.fail_after(timeout):
        while True:
            try:
                return list(sock.recv_multipart(flags=zmq.NOBLOCK))
            except zmq.Again:
                await trio.sleep(POLL)


def zrecv_nowait(sock: Any) -> list[bytes] | None:
    try:
        return list(sock.recv_multipart(flags=zmq.NOBLOCK))
    except zmq.Again:
        return None


async def znothing(sock: Any, duration: float = 0.2) -> None:
    """Assert that nothing arrives on ``sock`` for ``duration`` seconds."""
    deadline = trio.current_time() + duration
    while trio.current_time() < deadline:
        got = zrecv_nowait(sock)
        assert got is None, f"unexpected message {got!r}"
        await trio.sleep(POLL * 5)


async def trecv(sock: zmtp.Socket, timeout: float = DEFAULT_WAIT) -> list[bytes]:
    with trio.fail_after(timeout):
        return await sock.recv_multipart()


async def tnothing(sock: zmtp.Socket, duration: float = 0.2) -> None:
    with trio.move_on_after(duration):
        got = await sock.recv_multipart()
        raise AssertionError(f"unexpected message {got!r}")


async def tsend_retry(sock: zmtp.Socket, frames: Sequence[bytes],
                      timeout: float = DEFAULT_WAIT) -> None:
    """zmtp send that retries on HostUnreachable (ROUTER before the peer's handshake)."""
    with trio.fail_after(timeout):
        while True:
            try:
                await sock.send_multipart(frames)
                return
            except zmtp.HostUnreachable:
                await trio.sleep(POLL)


async def wait_for(predicate: Any, timeout: float = DEFAULT_WAIT) -> None:
    """Poll a cheap predicate (no event to await exists, e.g. libzmq state)."""
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(POLL)


@pytest.fixture
async def nursery() -> AsyncIterator[trio.Nursery]:
    async with trio.open_nursery() as n:
        yield n
        n.cancel_scope.cancel()
