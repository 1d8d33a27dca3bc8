"""Poller, zmq_poll and select over zmtp.zmq sockets and plain file descriptors together.

A zmtp.zmq socket offers what libzmq's offers: an ``fd`` that becomes readable whenever its
events *may* have changed (edge style), EVENTS (reading it drains that fd), and a cheap
``_zmtp_poll_events()`` for the current POLLIN/POLLOUT bits.  So polling is: check every
socket's bits cheaply; if nothing asked for is ready, read EVENTS (draining the fds), and if
still nothing, sleep in the OS poll on the sockets' fds and the plain fds; repeat until
something is ready or the time is up.  EVENTS drains the fd *before* computing the bits, so
a change after that read leaves the fd readable and the OS poll cannot sleep through it.
"""

from __future__ import annotations

import select as _select
import time
from typing import Any

from zmtp.zmq.constants import EVENTS, POLLERR, POLLIN, POLLOUT

__all__ = ["Poller", "select", "zmq_poll"]

_TO_OS = ((POLLIN, _select.POLLIN), (POLLOUT, _select.POLLOUT), (POLLERR, _select.POLLERR))


def _zmtp_events(obj: Any) -> Any:
    """The socket's ``_zmtp_poll_events`` method, or None for a plain fd / fileno() object."""
    return getattr(obj, "_zmtp_poll_events", None)


def _fileno(obj: Any) -> int:
    if isinstance(obj, int):
        return obj
    fileno = getattr(obj, "fileno", None)
    if fileno is None:
        raise TypeError(f"Socket must be a zmq socket, an int, or have a fileno(): {obj!r}")
    return int(fileno())


def _os_mask(flags: int) -> int:
    mask = 0
    for zmq_bit, os_bit in _TO_OS:
        if flags & zmq_bit:
            mask |= os_bit
    return mask


def _zmq_bits(os_events: int, flags: int) -> int:
    bits = 0
    if os_events & _select.POLLIN:
        bits |= POLLIN
    if os_events & _select.POLLOUT:
        bits |= POLLOUT
    if os_events & ~(_select.POLLIN | _select.POLLOUT):
        bits |= POLLERR  # hang-up, error, invalid fd: reported even if not asked, as libzmq
    return bits & flags


class _Plan:
    """What one poll waits on: zmtp sockets (by their event fds) and plain fds."""

    def __init__(self, items: list[tuple[Any, int]]) -> None:
        self.sockets: list[tuple[Any, Any, int]] = []  # (socket, events(), flags)
        self.by_fd: dict[int, list[tuple[Any, int]]] = {}  # socket fd -> [(socket, flags)]
        self.plain: dict[int, list[tuple[Any, int]]] = {}  # fd -> [(obj, flags)]
        self.poller = _select.poll()
        watched: dict[int, int] = {}
        for obj, flags in items:
            events = _zmtp_events(obj)
            if events is not None:
                self.sockets.append((obj, events, flags))
                if flags:
                    fd = int(obj.fd)
                    watched[fd] = watched.get(fd, 0) | _select.POLLIN
                    self.by_fd.setdefault(fd, []).append((obj, flags))
            else:
                fd = _fileno(obj)
                # pyzmq reports an object with fileno() by its fd number; so do we.
                self.plain.setdefault(fd, []).append((fd, flags))
                watched[fd] = watched.get(fd, 0) | _os_mask(flags)
        for fd, mask in watched.items():
            self.poller.register(fd, mask)

    def ready_sockets(self, rearm: bool = False) -> list[tuple[Any, int]]:
        """Sockets with asked-for events.  ``rearm`` reads EVENTS the libzmq way, which
        drains each socket's fd (so the OS poll sleeps until the next change) and raises
        ENOTSOCK / ETERM for a closed socket / terminated context."""
        ready = []
        for obj, events, flags in self.sockets:
            if flags:
                bits = (obj.getsockopt(EVENTS) if rearm else int(events())) & flags
                if bits:
                    ready.append((obj, bits))
        return ready

    def rearm_fired(self, os_ready: list[tuple[int, int]]) -> list[tuple[Any, int]]:
        """``ready_sockets(rearm=True)`` for the sockets whose fd fired only: with many
        sockets, draining every fd on every poll would cost a system call per socket."""
        ready = []
        for fd, _ in os_ready:
            for obj, flags in self.by_fd.get(fd, ()):
                bits = obj.getsockopt(EVENTS) & flags
                if bits:
                    ready.append((obj, bits))
        return ready

    def run(self, timeout_ms: int) -> list[tuple[Any, int]]:
        deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000
        # Drain only the fds that fired: the others are quiet already, and a socket that
        # has events without a readable fd is found by ready_sockets().
        ready = self.ready_sockets() or self.rearm_fired(self.poller.poll(0))
        while True:
            if ready:
                # Report ready plain fds as well, without waiting for them.
                return ready + self._plain_results(self.poller.poll(0))
            wait_ms: int | None
            if deadline is None:
                wait_ms = None
            else:
                left = deadline - time.monotonic()
                wait_ms = max(0, int(left * 1000 + 0.999))
            os_ready = self.poller.poll(wait_ms)
            plain = self._plain_results(os_ready)
            if plain:
                return self.ready_sockets() + plain
            if deadline is not None and time.monotonic() >= deadline:
                return self.ready_sockets(rearm=True)
            # Only sockets whose fd fired can have changed since they were all drained.
            ready = self.rearm_fired(os_ready)

    def _plain_results(self, os_ready: list[tuple[int, int]]) -> list[tuple[Any, int]]:
        results = []
        for fd, os_events in os_ready:
            for obj, flags in self.plain.get(fd, ()):
                bits = _zmq_bits(os_events, flags | POLLERR)
                if bits:
                    results.append((obj, bits))
        return results


def zmq_poll(sockets: list[tuple[Any, int]], timeout: int = -1) -> list[tuple[Any, int]]:
    """Poll ``(socket_or_fd, flags)`` pairs for up to ``timeout`` ms (-1: forever).

    Returns the ready ones as ``(socket_or_fd, events)``.
    """
    return _Plan(list(sockets)).run(int(timeout))


class Poller:
    """pyzmq's Poller: register sockets or fds with POLLIN/POLLOUT flags, then poll()."""

    def __init__(self) -> None:
        self.sockets: list[tuple[Any, int]] = []
        self._map: dict[Any, int] = {}
        self._plan: _Plan | None = None

    def __contains__(self, socket: Any) -> bool:
        return socket in self._map

    def register(self, socket: Any, flags: int = POLLIN | POLLOUT) -> None:
        """Watch ``socket`` for ``flags``; registering again changes the flags, 0 removes it."""
        if flags:
            if socket in self._map:
                self.sockets[self._map[socket]] = (socket, flags)
            else:
                self._map[socket] = len(self.sockets)
                self.sockets.append((socket, flags))
            self._plan = None
        elif socket in self._map:
            self.unregister(socket)

    def modify(self, socket: Any, flags: int = POLLIN | POLLOUT) -> None:
        """Change the flags of a registered socket (same as register)."""
        self.register(socket, flags)

    def unregister(self, socket: Any) -> None:
        """Stop watching ``socket``; KeyError if it was not registered."""
        idx = self._map.pop(socket)
        self.sockets.pop(idx)
        for other, other_idx in self._map.items():
            if other_idx > idx:
                self._map[other] = other_idx - 1
        self._plan = None

    def poll(self, timeout: int | float | None = None) -> list[tuple[Any, int]]:
        """Wait up to ``timeout`` ms (None or negative: forever) for registered events.

        Returns a list of ``(socket, events)`` (``dict(poller.poll())`` is the usual idiom).
        """
        if timeout is None or timeout < 0:
            timeout_ms = -1
        else:
            timeout_ms = int(timeout)
        if self._plan is None:
            self._plan = _Plan(self.sockets)
        return self._plan.run(timeout_ms)


def select(
    rlist: list[Any], wlist: list[Any], xlist: list[Any], timeout: float | None = None
) -> tuple[list[Any], list[Any], list[Any]]:
    """Like ``select.select`` (timeout in seconds, None: forever) for sockets and fds."""
    timeout_ms = -1 if timeout is None or timeout < 0 else int(timeout * 1000)
    items: list[tuple[Any, int]] = []
    seen: list[Any] = []
    for obj in [*rlist, *wlist, *xlist]:
        if any(obj is s for s in seen):
            continue
        seen.append(obj)
        flags = (
            (POLLIN if obj in rlist else 0)
            | (POLLOUT if obj in wlist else 0)
            | (POLLERR if obj in xlist else 0)
        )
        items.append((obj, flags))
    rready: list[Any] = []
    wready: list[Any] = []
    xready: list[Any] = []
    for obj, events in zmq_poll(items, timeout_ms):
        if events & POLLIN:
            rready.append(obj)
        if events & POLLOUT:
            wready.append(obj)
        if events & POLLERR:
            xready.append(obj)
    return rready, wready, xready
