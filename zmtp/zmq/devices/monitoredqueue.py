"""monitored_queue(): a QUEUE that also publishes every message, prefixed by its direction."""

from __future__ import annotations

from typing import Any

from zmtp.zmq.constants import POLLIN, ROUTER
from zmtp.zmq.poll import Poller

__all__ = ["monitored_queue"]


def _relay(src: Any, dst: Any, mon: Any, prefix: bytes, swap_ids: bool) -> None:
    parts = src.recv_multipart()
    if swap_ids and len(parts) >= 2:
        # ROUTER to ROUTER: the sender's id arrives first, the destination's id second.
        parts[0], parts[1] = parts[1], parts[0]
    dst.send_multipart(parts)
    mon.send_multipart([prefix, *parts])


def monitored_queue(
    in_socket: Any,
    out_socket: Any,
    mon_socket: Any,
    in_prefix: bytes = b"in",
    out_prefix: bytes = b"out",
) -> None:
    """Forward both ways between in and out; copy each message to mon after a prefix frame.

    Runs until the context is terminated (ContextTerminated propagates).
    """
    swap_ids = in_socket.type == ROUTER and out_socket.type == ROUTER
    poller = Poller()
    poller.register(in_socket, POLLIN)
    poller.register(out_socket, POLLIN)
    while True:
        ready = dict(poller.poll())
        if in_socket in ready:
            _relay(in_socket, out_socket, mon_socket, in_prefix, swap_ids)
        if out_socket in ready:
            _relay(out_socket, in_socket, mon_socket, out_prefix, swap_ids)
