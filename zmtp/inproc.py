"""inproc://: two sockets in one process joined by a pair of pipes, no serialisation.

The two pipes share their deques (one per direction), so a message written by one
socket is already in the other's receive queue: no copy, no task, no encoding.  As in
libzmq, the limit of each direction is the sender's sndhwm plus the receiver's rcvhwm,
and a connect may come before the bind (it completes when the name is bound).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Protocol, cast

from .pipe import Message, Pipe, Received
from .protocol.sockettypes import SocketType

__all__ = ["InprocPipe", "InprocPeer", "Registry", "REGISTRY", "complete", "open_pair"]


class InprocPeer(Protocol):
    """What a socket offers to inproc (implemented by ``zmtp.socket.Socket``)."""

    @property
    def socket_type(self) -> SocketType: ...

    def _inproc_limits(self) -> tuple[int, int, bytes]: ...

    def _inproc_attach(self, pipe: Pipe, endpoint: str, locally_initiated: bool) -> bool: ...

    def _inproc_ready(self, pipe: Pipe) -> bool: ...

    def _inproc_subscription(self, pipe: Pipe, topic: bytes, subscribe: bool) -> None: ...


def _ignore(pipe: Pipe) -> None:
    return None


def _sum_hwm(sndhwm: int, rcvhwm: int) -> int:
    return 0 if sndhwm == 0 or rcvhwm == 0 else sndhwm + rcvhwm


class InprocPipe(Pipe):
    """A pipe whose reads free room in the peer's outgoing direction."""

    __slots__ = ("on_peer_gone", "peer")

    peer: InprocPipe

    def __init__(self, *, out_limit: int, in_limit: int, endpoint: str = "",
                 locally_initiated: bool = False) -> None:
        super().__init__(out_limit=out_limit, in_limit=in_limit, endpoint=endpoint,
                         locally_initiated=locally_initiated)
        # Installed by the owning socket: the other end of the pair was closed.
        self.on_peer_gone: Callable[[Pipe], None] = _ignore

    def peer_terminated(self) -> None:
        """Our end terminated: tell the other socket that its pipe is gone too."""
        peer = self.peer
        if not peer.terminated:
            peer.on_peer_gone(peer)

    def read(self) -> Received | None:
        inq = self.inq
        if not inq:
            return None
        peer = self.peer
        limit = peer.out_limit
        was_full = limit > 0 and len(inq) >= limit
        message = inq.popleft()
        if was_full:
            peer.on_writable(peer)
        return message

    def discard_inbound(self) -> None:
        inq = self.inq
        peer = self.peer
        limit = peer.out_limit
        was_full = limit > 0 and len(inq) >= limit
        inq.clear()
        if was_full:
            peer.on_writable(peer)

    def write(self, message: Message) -> None:
        for frame in message:
            if type(frame) is not bytes:
                # A zero-copy view of the sender's buffer (large frames, see socket._frame)
                # must not reach the receiver: it is promised bytes, and the sender may
                # reuse its buffer once send() returned.
                message = [f if type(f) is bytes else bytes(f) for f in message]
                break
        outq = self.outq
        if self.conflate or self.peer.conflate:
            outq.clear()
        was_empty = not outq
        outq.append(message)
        if was_empty:
            peer = self.peer
            peer.on_readable(peer)


def open_pair(
    connecter: InprocPeer, endpoint: str, binder: InprocPeer | None
) -> tuple[InprocPipe, InprocPipe]:
    """Create the pipe pair for a connect.  With no binder yet (connect before bind) the
    limits are the connecter's own on both ends, as in libzmq, and the pair is completed
    by ``complete`` when the name is bound."""
    c_snd, c_rcv, c_id = connecter._inproc_limits()
    b_snd, b_rcv = (c_snd, c_rcv) if binder is None else binder._inproc_limits()[:2]
    c_pipe = InprocPipe(out_limit=_sum_hwm(c_snd, b_rcv), in_limit=0, endpoint=endpoint,
                        locally_initiated=True)
    b_pipe = InprocPipe(out_limit=_sum_hwm(b_snd, c_rcv), in_limit=0, endpoint=endpoint)
    c_pipe.peer = b_pipe
    b_pipe.peer = c_pipe
    # One deque per direction: the sender's outq is the receiver's inq (only ever Messages).
    b_pipe.inq = cast("deque[Received]", c_pipe.outq)
    c_pipe.inq = cast("deque[Received]", b_pipe.outq)
    c_pipe.is_inproc = b_pipe.is_inproc = True
    b_pipe.routing_id = c_id
    b_pipe.peer_socket_type = connecter.socket_type
    b_pipe.send_subscription = lambda topic, sub: connecter._inproc_subscription(
        c_pipe, topic, sub
    )
    return c_pipe, b_pipe


def complete(
    pair: tuple[InprocPipe, InprocPipe], connecter: InprocPeer, binder: InprocPeer
) -> bool:
    """Join the binder to a pair; False (and the pair terminated) if a side refuses."""
    c_pipe, b_pipe = pair
    c_pipe.routing_id = binder._inproc_limits()[2]
    c_pipe.peer_socket_type = binder.socket_type
    c_pipe.send_subscription = lambda topic, sub: binder._inproc_subscription(b_pipe, topic, sub)
    if not binder._inproc_attach(b_pipe, b_pipe.endpoint, False):
        # Refused (second PAIR, ROUTER id taken): the connecter's socket must drop its end
        # too, or its pattern would keep sending into a pipe nobody reads.
        b_pipe.terminated = True
        c_pipe.on_peer_gone(c_pipe)
        c_pipe.terminated = True
        return False
    return connecter._inproc_ready(c_pipe)


class Registry:
    """inproc names bound in this process, and connects waiting for a name to be bound."""

    def __init__(self) -> None:
        self.bound: dict[str, InprocPeer] = {}
        self.waiting: dict[str, list[tuple[InprocPeer, tuple[InprocPipe, InprocPipe]]]] = {}

    def bind(self, name: str, peer: InprocPeer) -> bool:
        if name in self.bound:
            return False
        self.bound[name] = peer
        return True

    def unbind(self, name: str, peer: InprocPeer) -> None:
        if self.bound.get(name) is peer:
            del self.bound[name]

    def take_waiting(self, name: str) -> list[tuple[InprocPeer, tuple[InprocPipe, InprocPipe]]]:
        return self.waiting.pop(name, [])

    def wait_for(self, name: str, peer: InprocPeer, pair: tuple[InprocPipe, InprocPipe]) -> None:
        self.waiting.setdefault(name, []).append((peer, pair))

    def forget(self, peer: InprocPeer, pipe: InprocPipe | None = None) -> None:
        """Drop a socket's bindings and pending connects (or just one pending pipe)."""
        if pipe is None:
            for name in [name for name, holder in self.bound.items() if holder is peer]:
                del self.bound[name]
        for name, entries in list(self.waiting.items()):
            entries[:] = [
                (who, pair) for who, pair in entries
                if who is not peer or (pipe is not None and pair[0] is not pipe)
            ]
            if not entries:
                del self.waiting[name]


REGISTRY = Registry()
