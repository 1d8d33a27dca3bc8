"""PAIR, PUSH, PULL and DEALER: load-balance out, fair-queue in, nothing else to remember."""

from __future__ import annotations

from ..options import Options
from ..pipe import Message, Pipe, Received
from .base import LoadBalancer, Pattern

__all__ = ["Dealer", "Pair", "Pull", "Push"]


class Push(Pattern):
    can_recv = False

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.lb = LoadBalancer()

    def attach(self, pipe: Pipe) -> None:
        if pipe.locally_initiated and not self.options.immediate:
            self.lb.add(pipe)

    def pipe_ready(self, pipe: Pipe) -> bool:
        self.lb.add(pipe)
        return True

    def detach(self, pipe: Pipe) -> None:
        self.lb.remove(pipe)

    def send(self, message: Message) -> bool:
        pipe = self.lb.pick()
        if pipe is None:
            return False
        if pipe.is_inproc:
            pipe.write(message)
            return True
        # Pipe.write, written out (once per message).
        outq = pipe.outq
        if pipe.conflate:
            outq.clear()
        outq.append(message)
        if len(outq) == 1:
            pipe.notify_out()
        return True


class Pull(Pattern):
    can_send = False
    recv_is_fair_queue = True

    def recv(self) -> Received | None:
        return self.fq.recv_message()


class Dealer(Push):
    can_recv = True
    recv_is_fair_queue = True

    def attach(self, pipe: Pipe) -> None:
        super().attach(pipe)
        if self.options.probe_router:
            pipe.write([b""])  # libzmq's probe: one empty frame, first on the connection

    def recv(self) -> Received | None:
        return self.fq.recv_message()


class Pair(Pattern):
    """Exactly one peer; a second one is refused, as libzmq's PAIR does."""

    recv_is_fair_queue = True

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.peer: Pipe | None = None

    def attach(self, pipe: Pipe) -> None:
        if pipe.locally_initiated and not self.options.immediate and self.peer is None:
            self.peer = pipe

    def pipe_ready(self, pipe: Pipe) -> bool:
        if self.peer is None:
            self.peer = pipe
            return True
        return self.peer is pipe

    def detach(self, pipe: Pipe) -> None:
        if self.peer is pipe:
            self.peer = None

    def send(self, message: Message) -> bool:
        peer = self.peer
        if peer is None or not peer.has_room():
            return False
        peer.write(message)
        return True

    def recv(self) -> Received | None:
        return self.fq.recv_message()
