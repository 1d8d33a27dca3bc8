"""REQ and REP: the request-reply envelope and the strict send/receive alternation."""

from __future__ import annotations

import os

from ..options import Options
from ..pipe import Message, Pipe, Received
from .base import StateError
from .simple import Dealer

__all__ = ["Rep", "Req"]


class Req(Dealer):
    """Prepends the empty delimiter, sends round-robin, takes the reply only from the peer asked."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.reply_pipe: Pipe | None = None
        self.expecting_reply = False
        self.request_id = int.from_bytes(os.urandom(4), "big")

    def send(self, message: Message) -> bool:
        if self.expecting_reply and not self.options.req_relaxed:
            raise StateError(
                "REQ must receive the reply before sending another request "
                "(or set req_relaxed=True)"
            )
        pipe = self.lb.pick()
        if pipe is None:
            return False
        if self.reply_pipe is not None and self.reply_pipe is not pipe:
            self.fq.discard(self.reply_pipe)
        if self.options.req_correlate:
            self.request_id = (self.request_id + 1) & 0xFFFFFFFF
            envelope = [self.request_id.to_bytes(4, "big"), b""]
        else:
            envelope = [b""]
        pipe.write(envelope + list(message))
        self.reply_pipe = pipe
        self.expecting_reply = True
        return True

    def readable(self, pipe: Pipe) -> None:
        if pipe is self.reply_pipe and self.expecting_reply:
            self.fq.readable(pipe)
        else:
            pipe.discard_inbound()  # not the peer we asked (or nothing asked): drop, as libzmq does

    def recv(self) -> Received | None:
        if not self.expecting_reply:
            raise StateError("REQ must send a request before receiving")
        while True:
            got = self.fq.recv()
            if got is None:
                return None
            message, pipe = got
            if pipe is not self.reply_pipe:
                continue
            body = self._strip(message)
            if body is None:
                continue
            self.expecting_reply = False
            self.fq.discard(pipe)
            return body

    def has_message(self) -> bool:
        return self.expecting_reply and self.fq.has_message()

    def _strip(self, message: Message) -> Message | None:
        if self.options.req_correlate:
            if len(message) < 2 or message[1] != b"":
                return None
            if message[0] != self.request_id.to_bytes(4, "big"):
                return None
            return message[2:]
        if len(message) < 1 or message[0] != b"":
            return None
        return message[1:]

    def detach(self, pipe: Pipe) -> None:
        super().detach(pipe)
        if pipe is self.reply_pipe:
            self.fq.discard(pipe)


class Rep(Dealer):
    """Strips the envelope on receipt, restores it on the reply, replies to the asker only."""

    queues_before_connect = False

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.envelope: Message | None = None
        self.reply_pipe: Pipe | None = None

    def attach(self, pipe: Pipe) -> None:
        return None

    def pipe_ready(self, pipe: Pipe) -> bool:
        return True

    def recv(self) -> Received | None:
        if self.envelope is not None:
            raise StateError("REP must send the reply before receiving the next request")
        while True:
            got = self.fq.recv()
            if got is None:
                return None
            message, pipe = got
            try:
                delimiter = message.index(b"")
            except ValueError:
                continue  # no delimiter: malformed request, dropped as libzmq does
            self.envelope = message[: delimiter + 1]
            self.reply_pipe = pipe
            return message[delimiter + 1 :]

    def has_message(self) -> bool:
        return self.envelope is None and self.fq.has_message()

    def send(self, message: Message) -> bool:
        if self.envelope is None:
            raise StateError("REP must receive a request before sending a reply")
        pipe = self.reply_pipe
        if pipe is not None and not pipe.terminated and pipe.has_room():
            pipe.write([*self.envelope, *message])
        self.envelope = None
        self.reply_pipe = None
        return True

    def detach(self, pipe: Pipe) -> None:
        if pipe is self.reply_pipe:
            self.reply_pipe = None
