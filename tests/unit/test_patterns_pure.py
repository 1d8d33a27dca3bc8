"""The pure pattern classes of zmtp.patterns, driven with plain Pipe objects: no I/O, no trio."""

from __future__ import annotations

import pytest

from zmtp.errors import HostUnreachable
from zmtp.options import Options
from zmtp.patterns import FairQueue, LoadBalancer, StateError, make_pattern
from zmtp.patterns.base import Pattern
from zmtp.patterns.pubsub import PublisherTopics, SubscriberTopics
from zmtp.pipe import Pipe
from zmtp.protocol import Event
from zmtp.protocol.frames import Encoded, FrameDecoder
from zmtp.protocol.sockettypes import SocketType


def pipe(out_limit: int = 0, in_limit: int = 0, routing_id: bytes = b"",
         locally_initiated: bool = False) -> Pipe:
    p = Pipe(out_limit=out_limit, in_limit=in_limit, locally_initiated=locally_initiated)
    p.routing_id = routing_id
    return p


def connect(pattern: Pattern, p: Pipe) -> bool:
    """What the socket does for a new peer: install callbacks, attach, pipe_ready."""
    p.on_readable = pattern.readable
    pattern.attach(p)
    p.ready = True
    return pattern.pipe_ready(p)


def make(kind: SocketType, **options: object) -> Pattern:
    return make_pattern(kind, Options(**options))


# -- FairQueue ---------------------------------------------------------------------------


def test_fair_queue_takes_one_message_per_pipe_per_turn() -> None:
    fq = FairQueue()
    pipes = [pipe() for _ in range(3)]
    for p in pipes:
        p.on_readable = fq.readable
    pipes[0].deliver([[b"a1"], [b"a2"], [b"a3"]])
    pipes[1].deliver([[b"b1"]])
    pipes[2].deliver([[b"c1"], [b"c2"]])
    order = []
    while (got := fq.recv()) is not None:
        order.append(got[0][0])
    assert order == [b"a1", b"b1", b"c1", b"a2", b"c2", b"a3"]
    assert not fq.has_message()
    # A pipe that turns readable again rejoins at the back.
    pipes[1].deliver([[b"b2"]])
    pipes[0].deliver([[b"a4"]])
    assert [fq.recv()[0][0], fq.recv()[0][0]] == [b"b2", b"a4"]  # type: ignore[index]


def test_fair_queue_discard_drops_pipe_and_its_messages() -> None:
    fq = FairQueue()
    a, b = pipe(), pipe()
    for p in (a, b):
        p.on_readable = fq.readable
    a.deliver([[b"a1"], [b"a2"]])
    b.deliver([[b"b1"]])
    fq.discard(a)
    assert not a.inq
    got = fq.recv()
    assert got is not None and got[0] == [b"b1"] and got[1] is b
    assert fq.recv() is None
    fq.discard(a)  # twice is harmless


def test_fair_queue_returns_pipe_of_each_message() -> None:
    fq = FairQueue()
    a = pipe()
    a.on_readable = fq.readable
    a.deliver([[b"x", b"", b"y"]])
    assert fq.recv() == ([b"x", b"", b"y"], a)


# -- LoadBalancer ------------------------------------------------------------------------


def test_load_balancer_round_robin_and_skips_full_pipes() -> None:
    lb = LoadBalancer()
    pipes = [pipe(out_limit=2) for _ in range(3)]
    for p in pipes:
        lb.add(p)
    lb.add(pipes[0])  # idempotent
    assert [lb.pick() for _ in range(3)] == pipes
    pipes[1].write([b"x"])
    pipes[1].write([b"y"])  # now full
    assert [lb.pick() for _ in range(4)] == [pipes[0], pipes[2], pipes[0], pipes[2]]
    for p in (pipes[0], pipes[2]):
        while p.has_room():
            p.write([b"z"])
    assert lb.pick() is None
    assert not lb.has_room()
    pipes[1].take()
    assert lb.has_room()
    assert lb.pick() is pipes[1]


def test_load_balancer_remove_keeps_the_turn() -> None:
    lb = LoadBalancer()
    a, b, c = pipe(), pipe(), pipe()
    for p in (a, b, c):
        lb.add(p)
    assert lb.pick() is a
    assert lb.pick() is b
    lb.remove(a)  # before the cursor: the next turn is still c
    assert lb.pick() is c
    assert lb.pick() is b
    lb.remove(pipe())  # unknown: ignored
    lb.remove(b)
    lb.remove(c)
    assert lb.pick() is None


def test_load_balancer_exact_split() -> None:
    lb = LoadBalancer()
    pipes = [pipe() for _ in range(3)]
    for p in pipes:
        lb.add(p)
    for index in range(3000):
        chosen = lb.pick()
        assert chosen is not None
        chosen.write([b"%d" % index])
    assert [len(p.outq) for p in pipes] == [1000, 1000, 1000]


# -- PublisherTopics / SubscriberTopics --------------------------------------------------


def test_publisher_topics_first_and_last_subscriber() -> None:
    topics = PublisherTopics()
    a, b = pipe(), pipe()
    assert topics.add(a, b"news") is True
    assert topics.add(b, b"news") is False
    assert topics.add(a, b"news") is False  # a set per topic: no double count per peer
    assert topics.remove(a, b"news") is False
    assert topics.remove(a, b"news") is False  # a no longer subscribed
    assert topics.remove(b, b"news") is True
    assert topics.by_topic == {} and topics.lengths == {}


def test_publisher_topics_prefix_match() -> None:
    topics = PublisherTopics()
    a, b, c = pipe(), pipe(), pipe()
    topics.add(a, b"")
    topics.add(b, b"ne")
    topics.add(c, b"news")
    assert topics.match(b"news today") == {a, b, c}
    assert topics.match(b"nest") == {a, b}
    assert topics.match(b"n") == {a}
    assert topics.match(b"") == {a}
    topics.remove(a, b"")
    assert topics.match(b"x") is None
    assert topics.match(b"ne") == {b}


def test_publisher_topics_remove_pipe_reports_orphans() -> None:
    topics = PublisherTopics()
    a, b = pipe(), pipe()
    topics.add(a, b"x")
    topics.add(a, b"y")
    topics.add(b, b"y")
    assert sorted(topics.remove_pipe(a)) == [b"x"]
    assert topics.match(b"y") == {b}
    assert topics.match(b"x") is None
    assert topics.remove_pipe(b) == [b"y"]
    assert topics.lengths == {}


def test_subscriber_topics_are_counted() -> None:
    topics = SubscriberTopics()
    assert not topics.matches(b"abc")
    topics.add(b"ab")
    topics.add(b"ab")
    assert topics.matches(b"abc") and topics.matches(b"ab") and not topics.matches(b"a")
    assert topics.remove(b"ab") is False
    assert topics.matches(b"abc")
    assert topics.remove(b"ab") is True
    assert not topics.matches(b"abc")
    assert topics.remove(b"ab") is False  # nothing left to remove
    topics.add(b"")
    assert topics.matches(b"") and topics.matches(b"anything")


# -- pattern classes with plain pipes ----------------------------------------------------


def test_push_round_robin_and_blocks_without_room() -> None:
    push = make(SocketType.PUSH)
    assert push.send([b"x"]) is False  # no peer: the socket waits
    a, b = pipe(out_limit=1), pipe(out_limit=1)
    connect(push, a)
    connect(push, b)
    assert push.send([b"1"]) and push.send([b"2"])
    assert list(a.outq) == [[b"1"]] and list(b.outq) == [[b"2"]]
    assert push.send([b"3"]) is False  # both full: never dropped
    push.detach(a)
    b.take()
    assert push.send([b"3"]) and list(b.outq) == [[b"3"]]


def test_push_queues_to_connecting_pipe_unless_immediate() -> None:
    push = make(SocketType.PUSH)
    pending = pipe(locally_initiated=True)
    push.attach(pending)  # connect() called, no connection yet
    assert push.send([b"early"]) is True
    assert list(pending.outq) == [[b"early"]]
    strict = make(SocketType.PUSH, immediate=True)
    pending2 = pipe(locally_initiated=True)
    strict.attach(pending2)
    assert strict.send([b"early"]) is False


def test_req_strict_alternation() -> None:
    req = make(SocketType.REQ)
    with pytest.raises(StateError):
        req.recv()
    a = pipe()
    connect(req, a)
    assert req.send([b"q"]) is True
    assert list(a.outq) == [[b"", b"q"]]
    with pytest.raises(StateError):
        req.send([b"again"])
    assert req.recv() is None  # nothing yet
    a.deliver([[b"", b"r"]])
    assert req.recv() == [b"r"]
    with pytest.raises(StateError):
        req.recv()


def test_req_drops_replies_from_other_peers_and_malformed() -> None:
    req = make(SocketType.REQ)
    a, b = pipe(), pipe()
    connect(req, a)
    connect(req, b)
    req.send([b"q"])  # goes to a
    b.deliver([[b"", b"from b"]])  # unsolicited: dropped
    assert not b.inq
    a.deliver([[b"no delimiter"], [b"", b"good"]])
    assert req.recv() == [b"good"]


def test_req_relaxed_takes_reply_only_from_last_peer() -> None:
    req = make(SocketType.REQ, req_relaxed=True)
    a, b = pipe(), pipe()
    connect(req, a)
    connect(req, b)
    req.send([b"1"])  # to a
    req.send([b"2"])  # to b, allowed
    a.deliver([[b"", b"reply 1"]])
    b.deliver([[b"", b"reply 2"]])
    assert req.recv() == [b"reply 2"]
    with pytest.raises(StateError):
        req.recv()  # the late reply to "1" is never delivered


def test_req_correlate_matches_request_id() -> None:
    req = make(SocketType.REQ, req_relaxed=True, req_correlate=True)
    a = pipe()
    connect(req, a)
    req.send([b"1"])
    first = a.outq.popleft()
    req.send([b"2"])
    second = a.outq.popleft()
    assert len(first[0]) == 4 and first[1:] == [b"", b"1"]
    assert len(second[0]) == 4 and second[1:] == [b"", b"2"]
    assert int.from_bytes(second[0], "big") == (int.from_bytes(first[0], "big") + 1) % 2**32
    a.deliver([[first[0], b"", b"reply 1"], [second[0], b"", b"reply 2"]])
    assert req.recv() == [b"reply 2"]


def test_rep_restores_envelope_and_alternates() -> None:
    rep = make(SocketType.REP)
    with pytest.raises(StateError):
        rep.send([b"no request yet"])
    a = pipe()
    connect(rep, a)
    a.deliver([[b"id", b"hop", b"", b"body", b"", b"more"], [b"no delimiter"], [b"", b"q2"]])
    assert rep.recv() == [b"body", b"", b"more"]
    with pytest.raises(StateError):
        rep.recv()
    assert rep.send([b"reply"]) is True
    assert list(a.outq) == [[b"id", b"hop", b"", b"reply"]]
    assert rep.recv() == [b"q2"]  # the malformed one was dropped
    rep.detach(a)
    assert rep.send([b"to nobody"]) is True  # the asker left: reply dropped, no error


def test_router_auto_ids_and_routing() -> None:
    router = make(SocketType.ROUTER)
    a, b, named = pipe(), pipe(), pipe(routing_id=b"named")
    for p in (a, b, named):
        assert connect(router, p)
    ids = [p.user_data for p in (a, b, named)]
    assert ids[2] == b"named"
    for auto in ids[:2]:
        assert isinstance(auto, bytes) and len(auto) == 5 and auto[0] == 0
    assert ids[0] != ids[1]
    b.deliver([[b"hello"]])
    assert router.recv() == [ids[1], b"hello"]
    assert router.send([b"named", b"x", b""]) is True
    assert list(named.outq) == [[b"x", b""]]
    assert router.send([b"unknown", b"x"]) is True  # dropped silently


def test_router_mandatory_and_full_pipe() -> None:
    router = make(SocketType.ROUTER, router_mandatory=True)
    a = pipe(out_limit=1, routing_id=b"a")
    connect(router, a)
    with pytest.raises(HostUnreachable):
        router.send([b"nobody", b"x"])
    assert router.send([b"a", b"1"]) is True
    assert router.send([b"a", b"2"]) is False  # full: with mandatory the sender waits
    lax = make(SocketType.ROUTER)
    c = pipe(out_limit=1, routing_id=b"c")
    connect(lax, c)
    lax.send([b"c", b"1"])
    assert lax.send([b"c", b"2"]) is True  # without: dropped
    assert len(c.outq) == 1


def test_router_duplicate_id_refused_or_handed_over() -> None:
    router = make(SocketType.ROUTER)
    first, second = pipe(routing_id=b"same"), pipe(routing_id=b"same")
    assert connect(router, first)
    assert not connect(router, second)
    handover = make(SocketType.ROUTER, router_handover=True)
    first, second = pipe(routing_id=b"same"), pipe(routing_id=b"same")
    assert connect(handover, first)
    assert connect(handover, second)
    assert handover.displaced == [first]  # type: ignore[attr-defined]
    handover.send([b"same", b"x"])
    assert list(second.outq) == [[b"x"]] and not first.outq
    handover.detach(first)  # the displaced one leaving must not unroute the new one
    handover.send([b"same", b"y"])
    assert list(second.outq) == [[b"x"], [b"y"]]


def test_pair_refuses_second_peer() -> None:
    pair = make(SocketType.PAIR)
    a, b = pipe(), pipe()
    assert pair.send([b"x"]) is False
    assert connect(pair, a)
    assert not connect(pair, b)
    assert pair.send([b"x"]) is True and list(a.outq) == [[b"x"]]
    pair.detach(a)
    assert connect(pair, b)


def queued(p: Pipe) -> list[list[bytes]]:
    """A pipe's outgoing queue as frames (a PUB queues some messages already framed)."""
    out = []
    for item in p.outq:
        if isinstance(item, Encoded):
            events: list[Event] = []
            FrameDecoder().feed(item, events)
            out += [event.frames for event in events]  # type: ignore[attr-defined]
        else:
            out.append(list(item))
    return out


def test_pub_drops_for_full_subscriber_and_filters() -> None:
    pub = make(SocketType.PUB)
    fast, slow, other = pipe(out_limit=10), pipe(out_limit=1), pipe()
    for p in (fast, slow, other):
        connect(pub, p)
        pub.peer_subscription(p, b"t" if p is not other else b"x", True)
    assert pub.send([b"t1"]) and pub.send([b"t2"])  # never blocks
    assert queued(fast) == [[b"t1"], [b"t2"]]
    assert queued(slow) == [[b"t1"]]
    assert not other.outq
    # Upstream messages to a PUB are discarded, not queued.
    fast.deliver([[b"upstream"]])
    assert not fast.inq


def test_xpub_reports_subscriptions_and_synthesises_on_detach() -> None:
    xpub = make(SocketType.XPUB)
    a, b = pipe(), pipe()
    connect(xpub, a)
    connect(xpub, b)
    xpub.peer_subscription(a, b"t", True)
    xpub.peer_subscription(b, b"t", True)  # not new: not reported (not verbose)
    xpub.peer_subscription(b, b"u", True)
    assert xpub.recv() == [b"\x01t"]
    assert xpub.recv() == [b"\x01u"]
    assert xpub.recv() is None
    xpub.peer_subscription(a, b"t", False)  # b still holds it
    assert xpub.recv() is None
    xpub.detach(b)
    assert sorted(m[0] for m in (xpub.recv(), xpub.recv()) if m) == [b"\x00t", b"\x00u"]
    a.deliver([[b"upstream", b"x"]])  # XPUB hands other upstream messages to the app
    assert xpub.recv() == [b"upstream", b"x"]


def test_xpub_verbose_and_verboser() -> None:
    verbose = make(SocketType.XPUB, xpub_verbose=True)
    a, b = pipe(), pipe()
    connect(verbose, a)
    connect(verbose, b)
    verbose.peer_subscription(a, b"t", True)
    verbose.peer_subscription(b, b"t", True)
    verbose.peer_subscription(a, b"t", False)
    assert [verbose.recv(), verbose.recv(), verbose.recv()] == [[b"\x01t"], [b"\x01t"], None]
    verboser = make(SocketType.XPUB, xpub_verboser=True)
    a, b = pipe(), pipe()
    connect(verboser, a)
    connect(verboser, b)
    verboser.peer_subscription(a, b"t", True)
    verboser.peer_subscription(b, b"t", True)
    verboser.peer_subscription(a, b"t", False)
    assert [verboser.recv() for _ in range(4)] == [[b"\x01t"], [b"\x01t"], [b"\x00t"], None]


def test_sub_counts_sends_and_filters() -> None:
    sub = make(SocketType.SUB)
    sent: list[tuple[bytes, bool]] = []
    a = pipe()
    a.send_subscription = lambda topic, on: sent.append((topic, on))
    sub.subscribe(b"early")
    connect(sub, a)  # a new publisher gets what we already hold
    assert sent == [(b"early", True)]
    sub.subscribe(b"t")
    sub.subscribe(b"t")
    sub.unsubscribe(b"t")
    assert sent[1:] == [(b"t", True), (b"t", True)]  # CANCEL only for the last one
    sub.unsubscribe(b"t")
    assert sent[3:] == [(b"t", False)]
    sub.unsubscribe(b"never")  # not subscribed: nothing sent
    assert len(sent) == 4
    a.deliver([[b"t-late"], [b"early bird"], [b"x"]])
    assert sub.recv() == [b"early bird"]
    assert sub.recv() is None
    with pytest.raises(StateError):
        sub.send([b"x"])


def test_xsub_sends_subscriptions_as_messages_and_upstream() -> None:
    xsub = make(SocketType.XSUB)
    sent: list[tuple[bytes, bool]] = []
    a = pipe()
    a.send_subscription = lambda topic, on: sent.append((topic, on))
    connect(xsub, a)
    xsub.send([b"\x01topic"])
    xsub.send([b"\x00topic"])
    xsub.send([b"\x02other", b"x"])
    assert sent == [(b"topic", True), (b"topic", False)]
    assert list(a.outq) == [[b"\x02other", b"x"]]
    a.deliver([[b"anything"]])  # XSUB does not filter what it was sent
    assert xsub.recv() == [b"anything"]


def test_xsub_subscription_message_as_writable_view() -> None:
    xsub = make(SocketType.XSUB)
    sent: list[tuple[bytes, bool]] = []
    a = pipe()
    a.send_subscription = lambda topic, on: sent.append((topic, on))
    connect(xsub, a)
    topic = b"t" * 70_000
    xsub.send([memoryview(bytearray(b"\x01" + topic))])
    xsub.send([memoryview(bytearray(b"\x00" + topic))])
    assert sent == [(topic, True), (topic, False)]
    assert all(type(t) is bytes for t, _ in sent)


def test_discarding_a_full_pipe_unparks_its_reader() -> None:
    fq = FairQueue()
    woken: list[bool] = []
    a = pipe(in_limit=2)
    a.on_readable = fq.readable
    a.notify_in_space = lambda: woken.append(True)
    a.deliver([[b"1"], [b"2"], [b"3"]])
    assert a.in_full()
    a.in_blocked = True  # what the engine's reader does when it parks
    fq.discard(a)
    assert woken == [True] and not a.in_blocked and not a.inq


# -- bare one-frame messages (the trio engine queues a one-frame message as its bytes) ---


def test_bare_one_frame_messages_in_every_receiving_pattern() -> None:
    # FairQueue.recv wraps a bare frame (envelope handling sees a 1-tuple); recv_message
    # hands it on as it is.
    fq = FairQueue()
    a = pipe()
    a.on_readable = fq.readable
    a.deliver([b"bare", (b"two", b"frames")])
    assert fq.recv() == ((b"bare",), a)
    assert fq.recv() == ((b"two", b"frames"), a)
    a.deliver([b"again"])
    assert fq.recv_message() == b"again"

    for kind in (SocketType.PULL, SocketType.DEALER, SocketType.PAIR, SocketType.XSUB):
        pattern = make(kind)
        p = pipe()
        connect(pattern, p)
        p.deliver([b"one", (b"a", b"b")])
        assert [pattern.recv(), pattern.recv(), pattern.recv()] == [b"one", (b"a", b"b"), None]

    # SUB filters on the frame itself, not on its first octet.
    sub = make(SocketType.SUB)
    p = pipe()
    connect(sub, p)
    sub.subscribe(b"t")
    p.deliver([b"x-no", b"t-yes", (b"x", b"no"), (b"t", b"yes")])
    assert [sub.recv(), sub.recv(), sub.recv()] == [b"t-yes", (b"t", b"yes"), None]
    sub.subscribe(b"")
    p.deliver([b"any"])
    assert sub.receiver()() == b"any"

    # ROUTER prefixes the routing id to the frame; REP finds no delimiter in a lone frame
    # and drops it; REQ takes no lone frame as a reply.
    router = make(SocketType.ROUTER)
    r = pipe(routing_id=b"peer")
    connect(router, r)
    r.deliver([b"hello"])
    assert router.recv() == [b"peer", b"hello"]
    rep = make(SocketType.REP)
    q = pipe()
    connect(rep, q)
    q.deliver([b"lone", (b"", b"body")])
    assert rep.recv() == (b"body",)
    req = make(SocketType.REQ)
    s = pipe()
    connect(req, s)
    req.send([b"q"])
    s.deliver([b"lone", (b"", b"reply")])
    assert req.recv() == (b"reply",)


def test_pub_frames_once_what_goes_to_many_connections() -> None:
    """To several connections a small message is queued framed, one object for all; to
    one peer, to inproc or conflate pipes, and when big or not bytes, as it is."""
    pub = make(SocketType.PUB)
    a, b = pipe(), pipe()
    inproc = pipe()
    inproc.is_inproc = True
    for p in (a, b, inproc):
        connect(pub, p)
        pub.peer_subscription(p, b"", True)
    big = b"B" * 5000
    view = memoryview(b"v" * 10)
    for message in ([b"m"], [b"m", b"", b"parts"], [big], [view]):
        pub.send(message)
    shared = a.outq[0]
    assert type(shared) is Encoded and b.outq[0] is shared
    assert type(a.outq[1]) is Encoded
    assert [type(m) for m in list(a.outq)[2:]] == [list, list]  # big; not bytes
    assert queued(a) == queued(b) == [[b"m"], [b"m", b"", b"parts"], [big], [view]]
    assert [type(m) for m in inproc.outq] == [list] * 4  # the peer socket reads frames
    lone_pub, solo = make(SocketType.PUB), pipe()
    connect(lone_pub, solo)
    lone_pub.peer_subscription(solo, b"", True)
    lone_pub.send([b"s-only"])
    assert list(solo.outq) == [[b"s-only"]]  # one peer: framed by its connection
    # A writer that counts bytes counts an Encoded message by its length.
    assert [type(m) for m in a.take(max_bytes=1)] == [Encoded]
