"""zmq.proxy and zmq.proxy_steerable: libzmq's built-in forwarder, over zmtp.zmq sockets.

Like zmq_proxy: whole messages (every part, with its MORE flag) go from frontend to backend
and back, each part also copied to ``capture`` when given; the call only ends with an error
(ContextTerminated when the context is terminated) — or, for proxy_steerable, when the
control socket receives TERMINATE.

Control commands (libzmq 4.3.5): PAUSE stops forwarding (messages wait in the sockets'
queues), RESUME restarts it, TERMINATE makes the call return, STATISTICS replies with eight
native-endian uint64 frames — frontend messages in, bytes in, messages out, bytes out, then
the same four for the backend (message counts are parts, as libzmq counts them).  Like
libzmq 4.3.5, every other command is answered with one empty frame, so a REP control socket
works.  (libzmq 4.3.5 itself keeps forwarding while "paused"; this follows the documented
meaning instead.)
"""

from __future__ import annotations

import struct
from typing import Any

from zmtp.zmq.constants import DONTWAIT, EVENTS, POLLIN, POLLOUT
from zmtp.zmq.error import Again, ZMQError
from zmtp.zmq.poll import Poller

__all__ = ["proxy", "proxy_steerable"]

# Messages forwarded per readable event before looking at the other sockets again, so one
# busy direction cannot starve the other or the control socket (libzmq uses 1000 too).
_BURST = 1000


class _Stats:
    """libzmq's per-socket proxy counters: [msg_in, bytes_in, msg_out, bytes_out]."""

    def __init__(self) -> None:
        self.frontend = [0, 0, 0, 0]
        self.backend = [0, 0, 0, 0]

    def frames(self) -> list[bytes]:
        return [struct.pack("=Q", v) for v in (*self.frontend, *self.backend)]


def _events(sock: Any) -> int:
    fast = getattr(sock, "_zmtp_poll_events", None)
    return int(fast()) if fast is not None else int(sock.getsockopt(EVENTS))


def _forward(src: Any, dst: Any, capture: Any, src_stats: list[int], dst_stats: list[int]) -> bool:
    """Move up to _BURST waiting messages from ``src`` to ``dst`` (and copies to capture).

    A message is only taken from ``src`` while ``dst`` can take one (POLLOUT), so the proxy
    never sits in a blocking send while the other direction or the control socket waits,
    as libzmq's proxy does.  Returns True when it stopped because ``dst`` was full.
    """
    # One socket on both sides (a REP "device") only becomes writable by receiving.
    check_room = dst is not src
    for _ in range(_BURST):
        if check_room and not _events(dst) & POLLOUT:
            return True
        try:
            parts = src.recv_multipart(DONTWAIT)
        except Again:
            return False
        nbytes = sum(len(p) for p in parts)
        src_stats[0] += len(parts)
        src_stats[1] += nbytes
        if capture is not None:
            capture.send_multipart(parts)
        dst.send_multipart(parts)
        dst_stats[2] += len(parts)
        dst_stats[3] += nbytes
    return False


def _reply(control: Any, frames: list[bytes]) -> None:
    """Answer a command; a control socket that cannot send (SUB, PULL) gets no answer."""
    try:
        control.send_multipart(frames, DONTWAIT)
    except ZMQError:
        pass


class _Pollers:
    """One Poller per combination of (running, which directions wait for room)."""

    def __init__(self, frontend: Any, backend: Any, control: Any) -> None:
        self.frontend, self.backend, self.control = frontend, backend, control
        self._cache: dict[tuple[bool, bool, bool], Poller] = {}

    def get(self, running: bool, fb_full: bool, bf_full: bool) -> Poller:
        key = (running, fb_full, bf_full)
        poller = self._cache.get(key)
        if poller is None:
            poller = Poller()
            if running:
                # Read a side only while its destination has room; else wait for the room.
                front = (0 if fb_full else POLLIN) | (POLLOUT if bf_full else 0)
                back = (0 if bf_full else POLLIN) | (POLLOUT if fb_full else 0)
                if self.backend is self.frontend:
                    poller.register(self.frontend, front | back)
                else:
                    poller.register(self.frontend, front)
                    poller.register(self.backend, back)
            if self.control is not None:
                poller.register(self.control, POLLIN)
            self._cache[key] = poller
        return poller


def _run(frontend: Any, backend: Any, capture: Any, control: Any) -> None:
    stats = _Stats()
    pollers = _Pollers(frontend, backend, control)
    same = backend is frontend
    running = True
    fb_full = bf_full = False  # frontend->backend / backend->frontend wait for room
    while True:
        ready = dict(pollers.get(running, fb_full, bf_full).poll())
        if control is not None and control in ready:
            command = control.recv_multipart()[0]
            if command == b"STATISTICS":
                _reply(control, stats.frames())
                continue
            if command == b"PAUSE":
                running = False
            elif command == b"RESUME":
                running = True
            _reply(control, [b""])
            if command == b"TERMINATE":
                return
            continue
        if not running:
            continue
        front_ev = ready.get(frontend, 0)
        back_ev = ready.get(backend, 0)
        if fb_full and back_ev & POLLOUT:
            fb_full = False
            front_ev |= POLLIN  # messages may have waited meanwhile
        if bf_full and front_ev & POLLOUT:
            bf_full = False
            back_ev |= POLLIN
        if not fb_full and front_ev & POLLIN:
            fb_full = _forward(frontend, backend, capture, stats.frontend, stats.backend)
        if not same and not bf_full and back_ev & POLLIN:
            bf_full = _forward(backend, frontend, capture, stats.backend, stats.frontend)


def proxy(frontend: Any, backend: Any, capture: Any = None) -> None:
    """Forward messages between ``frontend`` and ``backend`` until the context ends.

    Raises ContextTerminated (a ZMQError with errno ETERM) then, as pyzmq's does.
    """
    _run(frontend, backend, capture, None)


def proxy_steerable(
    frontend: Any, backend: Any, capture: Any = None, control: Any = None
) -> None:
    """proxy() that also obeys PAUSE / RESUME / TERMINATE / STATISTICS on ``control``."""
    _run(frontend, backend, capture, control)
