"""The two queueing disciplines every pattern is built from, and the pattern interface.

Pure logic: no I/O, no trio.  A socket calls these from its own thread of control and
does the waiting itself, so the same classes serve the trio sockets and any other driver.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from ..errors import ZMTPError
from ..options import Options
from ..pipe import Message, Pipe, Received

__all__ = ["FairQueue", "LoadBalancer", "Pattern", "StateError"]


class StateError(ZMTPError):
    """The socket's pattern does not allow this call now (libzmq's EFSM), e.g. two sends on REQ."""


class UnsupportedOperation(StateError):
    """The socket type never allows this call (libzmq's ENOTSUP), e.g. recv on PUSH.

    A StateError subclass, so code that catches StateError keeps working."""


class FairQueue:
    """Round-robin over the pipes that have messages waiting, one message per turn.

    Invariant: a pipe is in ``active`` exactly while its ``inq`` is non-empty (the pipe
    tells us through ``readable`` when it turns non-empty).  A pipe whose peer went away
    stays until its last message is read: what arrived intact is delivered.
    """

    __slots__ = ("active",)

    def __init__(self) -> None:
        self.active: deque[Pipe] = deque()

    def readable(self, pipe: Pipe) -> None:
        self.active.append(pipe)

    def has_message(self) -> bool:
        return bool(self.active)

    def recv(self) -> tuple[Message, Pipe] | None:
        active = self.active
        while active:
            pipe = active[0]
            message = pipe.read()
            if message is None:
                active.popleft()
                continue
            if pipe.inq:
                if len(active) > 1:
                    active.rotate(-1)
            else:
                active.popleft()
            if isinstance(message, bytes):  # a bare one-frame message (see Received)
                return (message,), pipe
            return message, pipe
        return None

    def recv_message(self) -> Received | None:
        """``recv`` for patterns that do not need to know the pipe (no tuple per message),
        and that hand a bare one-frame message on as it is (see Received).

        The body of ``Pipe.read`` is written out here: this runs once per message."""
        active = self.active
        while active:
            pipe = active[0]
            inq = pipe.inq
            if pipe.is_inproc:  # its read() also frees room on the peer's side
                message = pipe.read()
                if message is None:
                    active.popleft()
                    continue
            else:
                if not inq:
                    active.popleft()
                    continue
                message = inq.popleft()
                if pipe.in_blocked and (pipe.in_limit <= 0 or len(inq) < pipe.in_limit):
                    pipe.in_blocked = False
                    pipe.notify_in_space()
            if inq:
                if len(active) > 1:
                    active.rotate(-1)
            else:
                active.popleft()
            return message
        return None

    def discard(self, pipe: Pipe) -> None:
        """Forget a pipe and everything it still holds (REQ drops unsolicited replies)."""
        pipe.discard_inbound()
        active = self.active
        if pipe in active:  # not remove() and catch: its ValueError formats the pipe's repr
            active.remove(pipe)


class LoadBalancer:
    """Round-robin over the pipes with room: each message to the next pipe that can take it."""

    __slots__ = ("current", "pipes")

    def __init__(self) -> None:
        self.pipes: list[Pipe] = []
        self.current = 0

    def add(self, pipe: Pipe) -> None:
        if pipe not in self.pipes:
            self.pipes.append(pipe)

    def remove(self, pipe: Pipe) -> None:
        try:
            index = self.pipes.index(pipe)
        except ValueError:
            return
        del self.pipes[index]
        if index < self.current:
            self.current -= 1

    def pick(self) -> Pipe | None:
        """The pipe the next message goes to, advancing the turn; None if none has room."""
        pipes = self.pipes
        count = len(pipes)
        if count == 1:  # the common case, without the turn-taking
            pipe = pipes[0]
            limit = pipe.out_limit
            return pipe if limit <= 0 or len(pipe.outq) < limit else None
        current = self.current
        for _ in range(count):
            if current >= count:
                current = 0
            pipe = pipes[current]
            current += 1
            if pipe.has_room():
                self.current = current
                return pipe
        return None

    def has_room(self) -> bool:
        return any(pipe.has_room() for pipe in self.pipes)


class Pattern:
    """What a socket type does with messages; one subclass per type.

    ``send`` returns False when the message cannot be queued now (the socket then waits
    for ``on_writable``/``attach`` and retries); returns True when the message was queued
    or, where the type prescribes it, dropped.  ``recv`` returns None when nothing is
    waiting.  ``attach`` is called for every new pipe, ``pipe_ready`` once its peer is
    known (False = refuse this peer), ``detach`` when the peer is gone for good.
    """

    can_send = True
    can_recv = True
    #: ``recv`` is exactly ``self.fq.recv_message`` (the socket then calls that directly).
    #: Honoured only on the class that defines ``recv``, so subclasses stay safe.
    recv_is_fair_queue = False
    #: Whether a connecting socket may queue to a pipe before its connection is made.
    queues_before_connect = True

    def __init__(self, options: Options) -> None:
        self.options = options
        self.fq = FairQueue()

    # pipes
    def attach(self, pipe: Pipe) -> None:
        return None

    def pipe_ready(self, pipe: Pipe) -> bool:
        return True

    def detach(self, pipe: Pipe) -> None:
        return None

    def readable(self, pipe: Pipe) -> None:
        self.fq.readable(pipe)

    # messages
    def send(self, message: Message) -> bool:
        raise UnsupportedOperation(f"{type(self).__name__.upper()} sockets cannot send")

    def recv(self) -> Received | None:
        raise UnsupportedOperation(f"{type(self).__name__.upper()} sockets cannot receive")

    def has_message(self) -> bool:
        return self.fq.has_message()

    def receiver(self) -> Callable[[], Received | None]:
        """What a socket calls for ``recv``: ``recv`` itself, or the fair queue's when
        ``recv`` would only pass its answer on (one call less per message).  Sockets ask
        again after subscribing, unsubscribing or changing an option."""
        if vars(type(self)).get("recv_is_fair_queue", False):
            return self.fq.recv_message
        return self.recv

    # subscriptions (SUB/XSUB send them, PUB/XPUB receive them)
    def subscribe(self, topic: bytes) -> None:
        raise StateError(f"{type(self).__name__.upper()} sockets have no subscriptions")

    def unsubscribe(self, topic: bytes) -> None:
        raise StateError(f"{type(self).__name__.upper()} sockets have no subscriptions")

    def peer_subscription(self, pipe: Pipe, topic: bytes, subscribe: bool) -> None:
        """A peer (un)subscribed; ignored except by PUB/XPUB."""
        return None
