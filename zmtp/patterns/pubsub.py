"""PUB, XPUB, SUB and XSUB: prefix subscriptions, filtered at the publisher as ZMTP 3 does.

Two different bookkeepings, as in libzmq:
- the subscriber side counts its own subscriptions (subscribe twice needs two
  unsubscribes; only the last one sends a CANCEL upstream) and re-sends them to every
  new or reconnected publisher;
- the publisher side keeps, per topic, the set of peers that subscribed to it, and drops
  a message for a peer whose queue is full instead of blocking.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from ..options import Options
from ..pipe import Message, Outgoing, Pipe, Received
from ..protocol.frames import encode_message
from .base import Pattern, UnsupportedOperation

__all__ = ["Pub", "Sub", "XPub", "XSub", "PublisherTopics", "SubscriberTopics"]


class PublisherTopics:
    """topic -> the peers subscribed to it; matching a message is one lookup per topic length."""

    __slots__ = ("by_topic", "lengths")

    def __init__(self) -> None:
        self.by_topic: dict[bytes, set[Pipe]] = {}
        self.lengths: dict[int, int] = {}  # topic length -> number of topics of that length

    def add(self, pipe: Pipe, topic: bytes) -> bool:
        """Record a subscription; True if the topic had no subscriber before."""
        peers = self.by_topic.get(topic)
        if peers is None:
            self.by_topic[topic] = {pipe}
            self.lengths[len(topic)] = self.lengths.get(len(topic), 0) + 1
            _pipe_topics(pipe).add(topic)
            return True
        peers.add(pipe)
        _pipe_topics(pipe).add(topic)
        return False

    def remove(self, pipe: Pipe, topic: bytes) -> bool:
        """Drop a subscription; True if that was the topic's last subscriber."""
        peers = self.by_topic.get(topic)
        if peers is None or pipe not in peers:
            return False
        peers.discard(pipe)
        _pipe_topics(pipe).discard(topic)
        if peers:
            return False
        del self.by_topic[topic]
        left = self.lengths[len(topic)] - 1
        if left:
            self.lengths[len(topic)] = left
        else:
            del self.lengths[len(topic)]
        return True

    def remove_pipe(self, pipe: Pipe) -> list[bytes]:
        """Forget a departed peer; returns the topics that lost their last subscriber."""
        orphaned = []
        for topic in list(_pipe_topics(pipe)):
            if self.remove(pipe, topic):
                orphaned.append(topic)
        return orphaned

    def match(self, first_frame: bytes) -> set[Pipe] | None:
        by_topic = self.by_topic
        size = len(first_frame)
        found: set[Pipe] | None = None
        for length in self.lengths:
            if length > size:
                continue
            peers = by_topic.get(first_frame[:length])
            if peers:
                found = peers if found is None else found | peers
        return found


#: Messages up to this size go to many peers framed once, not once per connection.
_SHARED_ENCODING_MAX = 4096


def _for_many_connections(message: Message) -> Outgoing:
    """What a PUB queues to each of several connections: the message framed once for all
    of them when it is small frames of ``bytes`` (copying them is cheaper than framing
    them again per connection), else the message itself."""
    size = 0
    for frame in message:
        if type(frame) is not bytes:
            return message
        size += len(frame)
    return encode_message(message) if size <= _SHARED_ENCODING_MAX else message


def _pipe_topics(pipe: Pipe) -> set[bytes]:
    topics = pipe.user_data
    if not isinstance(topics, set):
        topics = set()
        pipe.user_data = topics
    return topics


class Pub(Pattern):
    can_recv = False
    # As in libzmq: a connecting PUB/XPUB keeps one pipe across reconnects, and with it
    # the subscriptions it learnt, so a SUB that comes back is no new subscriber (an XPUB
    # reports no \x00 when it leaves nor \x01 again when it returns, unless verbose), and
    # matching messages queue (up to sndhwm) while it is away.
    queues_before_connect = True

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.topics = PublisherTopics()
        self.pipes: set[Pipe] = set()  # every subscriber (invert_matching sends to the rest)

    def attach(self, pipe: Pipe) -> None:
        self.pipes.add(pipe)

    def detach(self, pipe: Pipe) -> None:
        self.pipes.discard(pipe)
        self.topics.remove_pipe(pipe)

    def readable(self, pipe: Pipe) -> None:
        # PUB never reads: ordinary messages an XSUB sends upstream are discarded, as
        # libzmq does, so they cannot fill the queue and stall the subscriptions behind them.
        pipe.discard_inbound()

    def peer_subscription(self, pipe: Pipe, topic: bytes, subscribe: bool) -> None:
        if subscribe:
            self.topics.add(pipe, topic)
        else:
            self.topics.remove(pipe, topic)

    def send(self, message: Message) -> bool:
        first = message[0]
        if type(first) is not bytes:
            # A large frame arrives as a zero-copy memoryview, unhashable if writable
            # (bytearray, numpy): match on a bytes copy of the longest prefix needed.
            first = bytes(first[: max(self.topics.lengths, default=0)])
        peers = self.topics.match(first)
        options = self.options
        if options.invert_matching:  # to every subscriber whose topics do not match
            peers = self.pipes.difference(peers) if peers else self.pipes
        if peers:
            if options.xpub_nodrop:
                # Block (or Again) while any matching subscriber is at its HWM, instead
                # of dropping for it.
                for pipe in peers:
                    limit = pipe.out_limit
                    if limit > 0 and not pipe.terminated and len(pipe.outq) >= limit:
                        return False
            queued: Outgoing | None = None if len(peers) > 1 else message
            for pipe in peers:
                if pipe.terminated:
                    continue
                outq = pipe.outq
                limit = pipe.out_limit
                if limit > 0 and len(outq) >= limit:
                    continue  # PUB drops for a peer at its HWM, as libzmq does
                if pipe.is_inproc or pipe.conflate:
                    pipe.write(message)
                    continue
                if queued is None:
                    queued = _for_many_connections(message)
                # Pipe.write, written out: this runs once per message and subscriber.
                outq.append(queued)
                if len(outq) == 1:
                    pipe.notify_out()
        return True


class XPub(Pub):
    """PUB that also hands (un)subscriptions, and any other upstream message, to the app.

    With ``xpub_manual`` the peers' subscriptions are only reported (every one, and what a
    departing peer had asked for as unsubscriptions); the application applies them with
    ``subscribe``/``unsubscribe``, which act on the peer whose subscription message it
    received last, as libzmq's ZMQ_XPUB_MANUAL."""

    can_recv = True

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.pending: deque[Message] = deque()
        self.pending_from: deque[Pipe | None] = deque()  # beside pending, for manual mode
        self.last_pipe: Pipe | None = None
        self.requested: dict[Pipe, set[bytes]] = {}  # manual mode: what each peer asked

    def _report(self, message: Message, pipe: Pipe | None) -> None:
        self.pending.append(message)
        self.pending_from.append(pipe)

    def readable(self, pipe: Pipe) -> None:
        self.fq.readable(pipe)

    def attach(self, pipe: Pipe) -> None:
        super().attach(pipe)
        welcome = self.options.xpub_welcome_msg
        if welcome:
            pipe.write([welcome])  # the subscriber filters it as any message

    def detach(self, pipe: Pipe) -> None:
        self.pipes.discard(pipe)
        if self.last_pipe is pipe:
            self.last_pipe = None
        orphaned = self.topics.remove_pipe(pipe)
        if self.options.xpub_manual:
            orphaned = sorted(self.requested.pop(pipe, ()))
        for topic in orphaned:
            self._report([b"\x00" + topic], None)

    def peer_subscription(self, pipe: Pipe, topic: bytes, subscribe: bool) -> None:
        options = self.options
        if options.xpub_manual:
            asked = self.requested.setdefault(pipe, set())
            if subscribe:
                asked.add(topic)
            else:
                asked.discard(topic)
            self._report([(b"\x01" if subscribe else b"\x00") + topic], pipe)
            return
        verboser = options.xpub_verboser
        verbose = options.xpub_verbose or verboser
        if subscribe:
            first = self.topics.add(pipe, topic)
            if first or verbose:
                self._report([b"\x01" + topic], pipe)
        else:
            known = pipe in self.topics.by_topic.get(topic, ())
            last = self.topics.remove(pipe, topic)
            if last or (verboser and known):
                self._report([b"\x00" + topic], pipe)

    def subscribe(self, topic: bytes) -> None:
        if not self.options.xpub_manual:
            super().subscribe(topic)  # XPUB takes subscriptions only from its peers
        pipe = self.last_pipe
        if pipe is not None and not pipe.terminated:
            self.topics.add(pipe, topic)

    def unsubscribe(self, topic: bytes) -> None:
        if not self.options.xpub_manual:
            super().unsubscribe(topic)
        pipe = self.last_pipe
        if pipe is not None:
            self.topics.remove(pipe, topic)

    def has_message(self) -> bool:
        return bool(self.pending) or self.fq.has_message()

    def recv(self) -> Received | None:
        if self.pending:
            pipe = self.pending_from.popleft()
            if pipe is not None:
                self.last_pipe = pipe
            return self.pending.popleft()
        return self.fq.recv_message()


class SubscriberTopics:
    """Counted subscriptions of a SUB/XSUB, with the same length-indexed prefix match."""

    __slots__ = ("counts", "lengths")

    def __init__(self) -> None:
        self.counts: dict[bytes, int] = {}
        self.lengths: dict[int, int] = {}

    def add(self, topic: bytes) -> None:
        count = self.counts.get(topic, 0)
        self.counts[topic] = count + 1
        if count == 0:
            self.lengths[len(topic)] = self.lengths.get(len(topic), 0) + 1

    def remove(self, topic: bytes) -> bool:
        """True when this removed the last subscription to ``topic``."""
        count = self.counts.get(topic, 0)
        if count == 0:
            return False
        if count > 1:
            self.counts[topic] = count - 1
            return False
        del self.counts[topic]
        left = self.lengths[len(topic)] - 1
        if left:
            self.lengths[len(topic)] = left
        else:
            del self.lengths[len(topic)]
        return True

    def matches(self, first_frame: bytes) -> bool:
        counts = self.counts
        size = len(first_frame)
        for length in self.lengths:
            if length <= size and first_frame[:length] in counts:
                return True
        return False


class XSub(Pattern):
    queues_before_connect = False

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.topics = SubscriberTopics()
        self.pipes: list[Pipe] = []

    def pipe_ready(self, pipe: Pipe) -> bool:
        if pipe not in self.pipes:
            self.pipes.append(pipe)
        for topic in self.topics.counts:
            pipe.send_subscription(topic, True)
        return True

    def detach(self, pipe: Pipe) -> None:
        if pipe in self.pipes:
            self.pipes.remove(pipe)

    def subscribe(self, topic: bytes) -> None:
        self.topics.add(topic)
        for pipe in self.pipes:
            pipe.send_subscription(topic, True)

    def unsubscribe(self, topic: bytes) -> None:
        if self.topics.remove(topic):
            for pipe in self.pipes:
                pipe.send_subscription(topic, False)

    def send(self, message: Message) -> bool:
        first = message[0]
        if first[:1] == b"\x01":
            self.subscribe(bytes(first[1:]))  # bytes: a large frame may be a memoryview
        elif first[:1] == b"\x00":
            self.unsubscribe(bytes(first[1:]))
        else:
            for pipe in self.pipes:
                if pipe.has_room():
                    pipe.write(message)
        return True

    recv_is_fair_queue = True

    def recv(self) -> Received | None:
        return self.fq.recv_message()


class Sub(XSub):
    """XSUB that filters what arrives by its own subscriptions and cannot send."""

    can_send = False

    def send(self, message: Message) -> bool:
        raise UnsupportedOperation("SUB sockets cannot send; use subscribe() and unsubscribe()")

    def recv(self) -> Received | None:
        recv = self.fq.recv_message
        invert = self.options.invert_matching
        if not invert and b"" in self.topics.counts:  # everything: nothing to filter
            return recv()
        matches = self.topics.matches
        while True:
            message = recv()
            if message is None:
                return None
            first = message if isinstance(message, bytes) else message[0]
            if matches(first) is not invert:
                return message

    def receiver(self) -> Callable[[], Received | None]:
        if b"" in self.topics.counts and not self.options.invert_matching:
            return self.fq.recv_message  # everything matches: nothing to filter
        return self.recv

    def has_message(self) -> bool:
        # A queued message may still be filtered out; recv() reports the truth.
        return self.fq.has_message()
