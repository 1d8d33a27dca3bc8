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

from zmtp.zmq.constants import DONTWAIT, POLLIN, SNDMORE
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


def _forward(src: Any, dst: Any, capture: Any, src_stats: list[int], dst_stats: list[int]) -> None:
    """Move up to _BURST waiting messages from ``src`` to ``dst`` (and copies to capture)."""
    for _ in range(_BURST):
        try:
            parts = src.recv_multipart(DONTWAIT)
        except Again:
            return
        nbytes = sum(len(p) for p in parts)
        src_stats[0] += len(parts)
        src_stats[1] += nbytes
        if capture is not None:
            capture.send_multipart(parts)
        last = len(parts) - 1
        for i, part in enumerate(parts):
            dst.send(part, SNDMORE if i < last else 0)
        dst_stats[2] += len(parts)
        dst_stats[3] += nbytes


def _reply(control: Any, frames: list[bytes]) -> None:
    """Answer a command; a control socket that cannot send (SUB, PULL) gets no answer."""
    try:
        control.send_multipart(frames, DONTWAIT)
    except ZMQError:
        pass


def _run(frontend: Any, backend: Any, capture: Any, control: Any) -> None:
    stats = _Stats()
    active = Poller()
    active.register(frontend, POLLIN)
    if backend is not frontend:
        active.register(backend, POLLIN)
    paused = Poller()
    if control is not None:
        active.register(control, POLLIN)
        paused.register(control, POLLIN)
    running = True
    while True:
        ready = dict((active if running else paused).poll())
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
        if frontend in ready:
            _forward(frontend, backend, capture, stats.frontend, stats.backend)
        if backend is not frontend and backend in ready:
            _forward(backend, frontend, capture, stats.backend, stats.frontend)


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
