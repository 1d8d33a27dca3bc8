"""zmtp.zmq sockets talking to pyzmq (libzmq 4.3.5) sockets: every pattern pair, each side
played by each library, both bind directions, over tcp and ipc.

The same exchange also runs pyzmq<->pyzmq (the "ref" case), which proves the exchange
itself is right before it judges zmtp.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import zmq as pyzmq
from zmq_face_util import bind_connect, configure, sync_pubsub

import zmtp.zmq as zzmq

PAIRS = [
    ("PUSH", "PULL"),
    ("REQ", "REP"),
    ("DEALER", "ROUTER"),
    ("REQ", "ROUTER"),
    ("DEALER", "REP"),
    ("PAIR", "PAIR"),
    ("PUB", "SUB"),
    ("XPUB", "XSUB"),
    ("PUB", "XSUB"),
    ("XPUB", "SUB"),
    ("DEALER", "DEALER"),
]

SIDES = {
    "zmtp-pyzmq": (zzmq, pyzmq),
    "pyzmq-zmtp": (pyzmq, zzmq),
    "ref": (pyzmq, pyzmq),
}


@pytest.fixture
def contexts() -> Iterator[dict[ModuleType, Any]]:
    made = {pyzmq: pyzmq.Context(), zzmq: zzmq.Context()}
    yield made
    for ctx in made.values():
        ctx.destroy(linger=0)


def _exchange(a_type: str, b_type: str, a: Any, b: Any) -> None:
    """Drive one conversation appropriate to the pattern; assert what arrives."""
    big = bytes(range(256)) * 1200  # > 255 bytes: long frames too
    if (a_type, b_type) == ("PUSH", "PULL"):
        for i in range(5):
            a.send_multipart([b"part-%d" % i, b"", big])
        for i in range(5):
            assert b.recv_multipart() == [b"part-%d" % i, b"", big]
    elif (a_type, b_type) == ("REQ", "REP"):
        for i in range(3):
            a.send(b"ask-%d" % i)
            assert b.recv() == b"ask-%d" % i
            b.send_multipart([b"ans", big])
            assert a.recv_multipart() == [b"ans", big]
    elif (a_type, b_type) == ("DEALER", "ROUTER"):
        a.send_multipart([b"hello", b"world"])
        peer, *body = b.recv_multipart()
        assert body == [b"hello", b"world"] and peer
        b.send_multipart([peer, b"back", big])
        assert a.recv_multipart() == [b"back", big]
    elif (a_type, b_type) == ("REQ", "ROUTER"):
        a.send(b"question")
        peer, empty, body = b.recv_multipart()
        assert (empty, body) == (b"", b"question")
        b.send_multipart([peer, b"", b"answer"])
        assert a.recv() == b"answer"
    elif (a_type, b_type) == ("DEALER", "REP"):
        a.send_multipart([b"", b"question"])
        assert b.recv() == b"question"
        b.send(b"answer")
        assert a.recv_multipart() == [b"", b"answer"]
    elif (a_type, b_type) in (("PAIR", "PAIR"), ("DEALER", "DEALER")):
        a.send_multipart([b"a->b", big])
        assert b.recv_multipart() == [b"a->b", big]
        b.send(b"b->a")
        assert a.recv() == b"b->a"
    elif b_type == "SUB":
        b.setsockopt(pyzmq.SUBSCRIBE, b"news")
        sync_pubsub(a, b, b"news")
        if a_type == "XPUB":  # once filtering works, the subscription has been seen
            assert a.recv() == b"\x01news"
        a.send(b"weather: skipped")
        a.send_multipart([b"news: one", b"more"])
        assert b.recv_multipart() == [b"news: one", b"more"]
    elif b_type == "XSUB":
        # Subscribe until the filter lets probes through (resent now and then, as an XSUB
        # that binds may send it before any publisher is connected).
        for attempt in range(500):
            if attempt % 25 == 0:
                b.send(b"\x01news")
            a.send(b"news\x00probe")
            if b.poll(10):
                break
        else:
            raise AssertionError("subscription never took effect")
        while b.poll(50):
            b.recv()
        if a_type == "XPUB":
            assert a.recv() == b"\x01news"
        a.send(b"weather: skipped")
        a.send(b"news: two")
        assert b.recv() == b"news: two"
    else:  # pragma: no cover - PAIRS and this function must agree
        raise AssertionError((a_type, b_type))


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("a_binds", [True, False], ids=["a-binds", "b-binds"])
@pytest.mark.parametrize("sides", list(SIDES))
@pytest.mark.parametrize(("a_type", "b_type"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_pattern_pair(
    contexts: dict[ModuleType, Any],
    a_type: str,
    b_type: str,
    sides: str,
    a_binds: bool,
    transport: str,
    tmp_path: Path,
) -> None:
    a_mod, b_mod = SIDES[sides]
    a = configure(contexts[a_mod].socket(getattr(a_mod, a_type)))
    b = configure(contexts[b_mod].socket(getattr(b_mod, b_type)))
    if a_binds:
        bind_connect(a, b, transport, tmp_path)
    else:
        bind_connect(b, a, transport, tmp_path)
    _exchange(a_type, b_type, a, b)


@pytest.mark.parametrize("sides", ["zmtp-pyzmq", "pyzmq-zmtp"])
def test_router_to_router_with_identities(
    contexts: dict[ModuleType, Any], sides: str, tmp_path: Path
) -> None:
    a_mod, b_mod = SIDES[sides]
    a = configure(contexts[a_mod].socket(a_mod.ROUTER))
    b = configure(contexts[b_mod].socket(b_mod.ROUTER))
    a.setsockopt(pyzmq.ROUTING_ID, b"alice")
    b.setsockopt(pyzmq.ROUTING_ID, b"bob")
    bind_connect(b, a, "tcp", Path("."))
    a.setsockopt(pyzmq.ROUTER_MANDATORY, 1)
    # The connecting side may only address "bob" once the handshake has told it the name.
    for _ in range(500):
        try:
            a.send_multipart([b"bob", b"hi"], pyzmq.NOBLOCK)
            break
        except (pyzmq.ZMQError, zzmq.ZMQError) as exc:
            assert exc.errno == pyzmq.EHOSTUNREACH
            time.sleep(0.01)
    assert b.recv_multipart() == [b"alice", b"hi"]
    b.send_multipart([b"alice", b"hello alice"])
    assert a.recv_multipart() == [b"bob", b"hello alice"]


@pytest.mark.parametrize("sides", ["zmtp-pyzmq", "pyzmq-zmtp"])
def test_many_messages_both_ways(contexts: dict[ModuleType, Any], sides: str) -> None:
    a_mod, b_mod = SIDES[sides]
    a = configure(contexts[a_mod].socket(a_mod.DEALER))
    b = configure(contexts[b_mod].socket(b_mod.DEALER))
    bind_connect(a, b, "tcp", Path("."))
    count = 2000
    for i in range(count):
        a.send(b"%d" % i)
    got = [b.recv() for _ in range(count)]
    assert got == [b"%d" % i for i in range(count)]
    for i in range(count):
        b.send(b"%d" % i, copy=False)
    assert [a.recv(copy=False).bytes for _ in range(count)] == got
