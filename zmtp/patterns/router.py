"""ROUTER: each peer has a routing id; it prefixes what the peer sends and addresses replies."""

from __future__ import annotations

import os

from ..errors import HostUnreachable
from ..options import Options
from ..pipe import Message, Pipe, Received
from .base import Pattern

__all__ = ["Router"]


class Router(Pattern):
    queues_before_connect = False

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.by_id: dict[bytes, Pipe] = {}
        # libzmq's automatic ids: a zero byte then a 32-bit counter from a random start.
        self.next_id = int.from_bytes(os.urandom(4), "big")
        #: Pipes a handover displaced; the socket closes their connections.
        self.displaced: list[Pipe] = []

    def attach(self, pipe: Pipe) -> None:
        if self.options.probe_router:
            pipe.write([b""])  # libzmq's probe: one empty frame, first on the connection

    def pipe_ready(self, pipe: Pipe) -> bool:
        old_id = pipe.user_data
        if isinstance(old_id, bytes) and self.by_id.get(old_id) is pipe:
            del self.by_id[old_id]
        # Our own connect_routing_id names the peer, else the id it announced, else ours.
        routing_id = pipe.assigned_routing_id or pipe.routing_id
        if not routing_id:
            routing_id = self._auto_id()
        holder = self.by_id.get(routing_id)
        if holder is not None and holder is not pipe:
            if not self.options.router_handover:
                return False
            holder.user_data = None
            self.displaced.append(holder)
        self.by_id[routing_id] = pipe
        pipe.user_data = routing_id
        return True

    def _auto_id(self) -> bytes:
        while True:
            self.next_id = (self.next_id + 1) & 0xFFFFFFFF
            candidate = b"\x00" + self.next_id.to_bytes(4, "big")
            if candidate not in self.by_id:
                return candidate

    def detach(self, pipe: Pipe) -> None:
        routing_id = pipe.user_data
        if isinstance(routing_id, bytes) and self.by_id.get(routing_id) is pipe:
            del self.by_id[routing_id]

    def send(self, message: Message) -> bool:
        if len(message) < 2:
            if self.options.router_mandatory and message and message[0] not in self.by_id:
                raise HostUnreachable(f"no peer with routing id {bytes(message[0])!r}")
            return True  # only a routing id, nothing to route: dropped
        routing_id = bytes(message[0])
        pipe = self.by_id.get(routing_id)
        if pipe is None or pipe.terminated:
            if self.options.router_mandatory:
                raise HostUnreachable(
                    f"no connected peer has routing id {routing_id!r} (router_mandatory is set)"
                )
            return True
        if not pipe.has_room():
            # libzmq: dropped, or with ROUTER_MANDATORY the sender waits for room.
            return not self.options.router_mandatory
        pipe.write(message[1:])
        return True

    def recv(self) -> Received | None:
        got = self.fq.recv()
        if got is None:
            return None
        message, pipe = got
        routing_id = pipe.user_data
        return [routing_id if isinstance(routing_id, bytes) else b"", *message]
