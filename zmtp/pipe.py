"""A pipe: one peer's pair of bounded message queues, shared by a socket and its transport.

The socket's pattern writes to ``outq`` and reads from ``inq``; the transport side (a ZMTP
connection driver, or the peer socket for inproc) drains ``outq`` and fills ``inq``.  The
pipe itself knows nothing about trio: each side installs plain callbacks that the other
side's actions fire, so the pattern classes stay pure and a different I/O driver (the
pyzmq-compatible face) can reuse them unchanged.

HWM counts whole messages, as libzmq does.  For inproc, both pipes of a pair share the
same deques and the limit is sndhwm + peer's rcvhwm, again as libzmq does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from .protocol.frames import Encoded

if TYPE_CHECKING:
    from .protocol.sockettypes import SocketType

__all__ = ["Message", "Outgoing", "Pipe", "Received", "frame_list"]

#: One whole message: its frames.  Connections deliver tuples (untracked by the GC once a
#: collection has seen them, however many are queued); senders and other drivers queue
#: lists.  Patterns accept both; the socket API always returns lists.
Message = list[bytes] | tuple[bytes, ...]
#: What a pipe's ``inq`` holds: a Message, or, from the trio engine's connections, a
#: one-frame message as the bare ``bytes`` of its frame (the common small message then
#: costs one object, not two, and nothing for the GC).  ``type(m) is bytes`` tells.
#: Only ``FairQueue.recv_message``'s callers see bare frames; ``FairQueue.recv`` wraps them.
Received = Message | bytes
#: What a pipe's ``outq`` holds: a Message, or, to a connection (never inproc), a message
#: already framed for the wire (a PUB frames once what it sends to many peers).
Outgoing = Message | Encoded


def frame_list(message: Received) -> list[bytes]:
    """A received message as the list of frames the socket APIs hand out."""
    if type(message) is list:
        return message
    if isinstance(message, bytes):
        return [message]
    return list(message)


def _nothing() -> None:
    return None


def _ignore_pipe(pipe: Pipe) -> None:
    return None


def _no_subscription(topic: bytes, subscribe: bool) -> None:
    return None


class Pipe:
    """One peer of a socket.

    ``out_limit``/``in_limit`` are message counts (0 = no limit).  ``ready`` becomes True
    when the peer's identity and type are known (ZMTP handshake done, or inproc attach);
    patterns route only to ready pipes, except that a connecting socket may queue into a
    pipe whose connection is still being made (libzmq's behaviour without IMMEDIATE).
    """

    __slots__ = (
        "assigned_routing_id",
        "conflate",
        "endpoint",
        "in_blocked",
        "in_limit",
        "inq",
        "is_inproc",
        "locally_initiated",
        "notify_in_space",
        "notify_out",
        "on_readable",
        "on_writable",
        "out_limit",
        "outq",
        "peer_socket_type",
        "ready",
        "routing_id",
        "send_subscription",
        "terminated",
        "user_data",
    )

    def __init__(
        self,
        *,
        out_limit: int,
        in_limit: int,
        endpoint: str = "",
        locally_initiated: bool = False,
    ) -> None:
        self.outq: deque[Outgoing] = deque()
        self.inq: deque[Received] = deque()
        self.out_limit = out_limit
        self.in_limit = in_limit
        self.endpoint = endpoint
        self.locally_initiated = locally_initiated
        self.is_inproc = False
        self.ready = False
        self.terminated = False
        self.in_blocked = False
        self.routing_id = b""
        # Given by our own connect (connect_routing_id): ROUTER files the peer under it
        # rather than under the routing_id it announced.
        self.assigned_routing_id = b""
        self.peer_socket_type: SocketType | None = None
        # Fired when outq goes from empty to non-empty: wake the writer.
        self.notify_out: Callable[[], None] = _nothing
        # Fired when the reader side was blocked on a full inq and room appeared.
        self.notify_in_space: Callable[[], None] = _nothing
        # Sends a SUBSCRIBE (True) or CANCEL (False) to the peer, if connected.
        self.send_subscription: Callable[[bytes, bool], None] = _no_subscription
        # Installed by the socket: inq went from empty to non-empty / outq has room again.
        self.on_readable: Callable[[Pipe], None] = _ignore_pipe
        self.on_writable: Callable[[Pipe], None] = _ignore_pipe
        # libzmq's ZMQ_CONFLATE: each queue keeps only the newest message.
        self.conflate = False
        # Free slot for the pattern (e.g. ROUTER bookkeeping, PUB subscriptions).
        self.user_data: object = None

    # -- socket side -------------------------------------------------------------------

    def has_room(self) -> bool:
        limit = self.out_limit
        return limit <= 0 or len(self.outq) < limit

    def write(self, message: Message) -> None:
        """Queue one whole message for the peer (the caller checked ``has_room``)."""
        outq = self.outq
        if self.conflate:
            outq.clear()
        outq.append(message)
        if len(outq) == 1:
            self.notify_out()

    def read(self) -> Received | None:
        """Take the next whole message from the peer, or None."""
        inq = self.inq
        if not inq:
            return None
        message = inq.popleft()
        if self.in_blocked and (self.in_limit <= 0 or len(inq) < self.in_limit):
            self.in_blocked = False
            self.notify_in_space()
        return message

    def discard_inbound(self) -> None:
        """Drop every message from the peer still queued, and let the peer send again if
        the queue had been full (a reader parked at rcvhwm must not stay parked)."""
        self.inq.clear()
        if self.in_blocked:
            self.in_blocked = False
            self.notify_in_space()

    # -- transport side ----------------------------------------------------------------

    def deliver(self, messages: list[Received]) -> None:
        """Hand whole messages from the peer to the socket."""
        inq = self.inq
        was_empty = not inq
        if self.conflate:
            inq.clear()
            inq.append(messages[-1])
        else:
            inq.extend(messages)
        if was_empty and inq:
            self.on_readable(self)

    def take(self, max_messages: int = 1024, max_bytes: int = 0) -> list[Outgoing]:
        """Take up to ``max_messages`` queued outgoing messages for the writer; with
        ``max_bytes``, stop once that much payload is taken (one message at least), for
        writers that copy what the kernel does not take at once.

        Fires ``on_writable`` when this opens room in a queue that was full, so blocked
        senders wake exactly when they can make progress.
        """
        outq = self.outq
        was_full = not self.has_room()
        if max_bytes > 0:
            taken: list[Outgoing] = []
            size = 0
            popleft = outq.popleft
            while outq and len(taken) < max_messages and size < max_bytes:
                message = popleft()
                taken.append(message)
                if isinstance(message, Encoded):
                    size += len(message)
                else:
                    for frame in message:
                        size += len(frame)
        elif len(outq) <= max_messages:
            taken = list(outq)
            outq.clear()
        else:
            popleft = outq.popleft
            taken = [popleft() for _ in range(max_messages)]
        if was_full and taken:
            self.on_writable(self)
        return taken

    def unhook_transport(self) -> None:
        """The connection behind this pipe is gone: its hooks fall back to doing nothing
        (the queues stay, for a reconnect or for the socket to drain what arrived)."""
        self.notify_out = _nothing
        self.notify_in_space = _nothing
        self.send_subscription = _no_subscription

    def in_full(self) -> bool:
        limit = self.in_limit
        return limit > 0 and len(self.inq) >= limit

    def __repr__(self) -> str:
        state = "terminated" if self.terminated else ("ready" if self.ready else "pending")
        return f"<Pipe {self.endpoint or 'inproc'} {state} out={len(self.outq)} in={len(self.inq)}>"
