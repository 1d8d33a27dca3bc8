"""One vocabulary for both ends of an interop test: a zmtp socket or a libzmq socket.

``open_pair`` builds a zmtp socket of one type and a pyzmq socket of another, one
binding and the other connecting, over tcp or ipc, and hands back two ``End`` objects
in the pair's canonical order (the order of the name: PUSH then PULL, REQ then ROUTER).
``exchange`` then moves a message across in the way the pattern prescribes (with the
envelopes each type adds or strips) and checks it arrived unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

import zmtp

from .conftest import (
    endpoint_for,
    tnothing,
    trecv,
    tsend_retry,
    zbind,
    zmq,
    znothing,
    zrecv,
    zrecv_nowait,
    zsend,
    zsock,
)

# Every compatible pair, in canonical order (first type "sends first").
PAIRS: list[tuple[str, str]] = [
    ("PAIR", "PAIR"),
    ("PUSH", "PULL"),
    ("PUB", "SUB"),
    ("PUB", "XSUB"),
    ("XPUB", "SUB"),
    ("XPUB", "XSUB"),
    ("REQ", "REP"),
    ("REQ", "ROUTER"),
    ("DEALER", "REP"),
    ("DEALER", "ROUTER"),
    ("DEALER", "DEALER"),
    ("ROUTER", "ROUTER"),
]

# Routing ids given to ROUTER-ROUTER ends (the connecting one must know the binder's id).
ZMTP_ID = b"zmtp-end"
LIBZMQ_ID = b"libzmq-end"


def orientations() -> list[tuple[str, str, bool]]:
    """(first, second, zmtp_is_first) for every pair, both ways round where they differ."""
    out = []
    for first, second in PAIRS:
        out.append((first, second, True))
        if first != second:
            out.append((first, second, False))
    return out


class End:
    """One end of a connection, zmtp or libzmq, with async send/recv that cannot hang."""

    def __init__(self, kind: str, binds: bool, *, zsock: zmtp.Socket | None = None,
                 lsock: Any = None) -> None:
        self.kind = kind
        self.binds = binds
        self.z = zsock
        self.lsock = lsock
        self.routing_id = b""
        self.warm_topics: set[bytes] = set()

    @property
    def is_zmtp(self) -> bool:
        return self.z is not None

    def __repr__(self) -> str:
        return f"<{'zmtp' if self.is_zmtp else 'libzmq'} {self.kind}>"

    async def send(self, frames: Sequence[bytes]) -> None:
        if self.z is not None:
            await tsend_retry(self.z, frames)
        else:
            await zsend(self.lsock, frames)

    async def recv(self, timeout: float = 10.0) -> list[bytes]:
        if self.z is not None:
            return await trecv(self.z, timeout)
        return await zrecv(self.lsock, timeout)

    async def try_recv(self, timeout: float) -> list[bytes] | None:
        if self.z is not None:
            with trio.move_on_after(timeout):
                return await self.z.recv_multipart()
            return None
        deadline = trio.current_time() + timeout
        while True:
            got = zrecv_nowait(self.lsock)
            if got is not None or trio.current_time() >= deadline:
                return got
            await trio.sleep(0.002)

    def poke(self) -> None:
        """Make libzmq process its pending commands (new pipes, ...); no-op for zmtp."""
        if self.lsock is not None:
            self.lsock.getsockopt(zmq.EVENTS)

    async def nothing(self, duration: float = 0.2) -> None:
        if self.z is not None:
            await tnothing(self.z, duration)
        else:
            await znothing(self.lsock, duration)

    async def subscribe(self, topic: bytes) -> None:
        if self.z is not None:
            self.z.subscribe(topic)
        elif self.kind == "SUB":
            self.lsock.setsockopt(zmq.SUBSCRIBE, topic)
        else:
            await zsend(self.lsock, [b"\x01" + topic])

    async def unsubscribe(self, topic: bytes) -> None:
        if self.z is not None:
            self.z.unsubscribe(topic)
        elif self.kind == "SUB":
            self.lsock.setsockopt(zmq.UNSUBSCRIBE, topic)
        else:
            await zsend(self.lsock, [b"\x00" + topic])


@asynccontextmanager
async def open_pair(
    ctx: Any,
    first: str,
    second: str,
    zmtp_is_first: bool,
    zmtp_binds: bool,
    transport: str,
    ipc_dir: Path,
    *,
    zmtp_options: dict[str, Any] | None = None,
    libzmq_options: dict[str, Any] | None = None,
) -> AsyncIterator[tuple[End, End]]:
    """A connected (first, second) pair of ends; see the module docstring."""
    zkind, lkind = (first, second) if zmtp_is_first else (second, first)
    zopts: dict[str, Any] = {"linger": 0, **(zmtp_options or {})}
    lopts: dict[str, Any] = dict(libzmq_options or {})
    if zkind == "ROUTER" and lkind == "ROUTER":
        zopts.setdefault("routing_id", ZMTP_ID)
        zopts.setdefault("router_mandatory", True)
        lopts.setdefault("routing_id", LIBZMQ_ID)
        lopts.setdefault("router_mandatory", 1)
    lsock = zsock(ctx, lkind, **lopts)
    try:
        async with zmtp.Socket(getattr(zmtp, zkind), **zopts) as zs:
            endpoint = endpoint_for(transport, ipc_dir)
            if zmtp_binds:
                endpoint = await zs.bind(endpoint)
                lsock.connect(endpoint)
            else:
                endpoint = zbind(lsock, endpoint)
                await zs.connect(endpoint)
            zend = End(zkind, zmtp_binds, zsock=zs)
            lend = End(lkind, not zmtp_binds, lsock=lsock)
            zend.routing_id = zopts.get("routing_id", b"")
            lend.routing_id = lopts.get("routing_id", b"")
            yield (zend, lend) if zmtp_is_first else (lend, zend)
    finally:
        lsock.close(linger=0)


def check_routing_id(seen: bytes, peer: End) -> None:
    """What a ROUTER sees as the id of ``peer``: its routing_id, else a 5-byte auto id."""
    if peer.routing_id:
        assert seen == peer.routing_id
    else:
        assert len(seen) == 5 and seen[0] == 0, f"expected a libzmq-style auto id, got {seen!r}"


async def warm_up_pubsub(pub: End, sub: End, topic: bytes = b"") -> None:
    """Subscribe ``sub`` to ``topic`` (once) and wait until ``pub`` has the subscription."""
    if topic in sub.warm_topics:
        return
    sub.warm_topics.add(topic)
    await sub.subscribe(topic)
    if pub.kind == "XPUB":
        assert await recv_poking(pub, sub) == [b"\x01" + topic]
        return
    with trio.fail_after(10):
        while True:
            await pub.send([topic + b"probe"])
            if await sub.try_recv(0.01) is not None:
                break


async def recv_poking(end: End, other: End, timeout: float = 10.0) -> list[bytes]:
    """Receive on ``end`` while keeping ``other`` turning, if it is libzmq: libzmq attaches
    a bound socket's new connections (and sends its subscriptions to them) only when the
    application thread calls into that socket."""
    with trio.fail_after(timeout):
        while True:
            other.poke()
            got = await end.try_recv(0.005)
            if got is not None:
                return got


async def recv_skipping_probes(sub: End, topic: bytes = b"") -> list[bytes]:
    while True:
        got = await sub.recv()
        if got != [topic + b"probe"]:
            return got


async def exchange(a: End, b: End, payload: list[bytes]) -> None:
    """Send ``payload`` across the (a, b) pair the way the pattern allows, and back where
    it has a way back; assert every hop delivered exactly what was meant."""
    kinds = (a.kind, b.kind)
    if kinds in (("PAIR", "PAIR"), ("DEALER", "DEALER")):
        await a.send(payload)
        assert await b.recv() == payload
        await b.send(payload[::-1])
        assert await a.recv() == payload[::-1]
    elif kinds == ("PUSH", "PULL"):
        await a.send(payload)
        assert await b.recv() == payload
    elif a.kind in ("PUB", "XPUB"):
        await warm_up_pubsub(a, b)
        await a.send(payload)
        assert await recv_skipping_probes(b) == payload
        if kinds == ("XPUB", "XSUB"):
            # XSUB sends non-subscription messages upstream; XPUB hands them to the app.
            upstream = [b"\x02up", *payload]
            await b.send(upstream)
            assert await a.recv() == upstream
    elif kinds == ("REQ", "REP"):
        await a.send(payload)
        assert await b.recv() == payload
        await b.send(payload[::-1])
        assert await a.recv() == payload[::-1]
    elif kinds == ("REQ", "ROUTER"):
        await a.send(payload)
        got = await b.recv()
        check_routing_id(got[0], a)
        assert got[1:] == [b"", *payload]
        await b.send([got[0], b"", *payload[::-1]])
        assert await a.recv() == payload[::-1]
    elif kinds == ("DEALER", "REP"):
        await a.send([b"", *payload])
        assert await b.recv() == payload
        await b.send(payload[::-1])
        assert await a.recv() == [b"", *payload[::-1]]
    elif kinds == ("DEALER", "ROUTER"):
        await a.send(payload)
        got = await b.recv()
        check_routing_id(got[0], a)
        assert got[1:] == payload
        await b.send([got[0], *payload[::-1]])
        assert await a.recv() == payload[::-1]
    elif kinds == ("ROUTER", "ROUTER"):
        connecter, binder = (b, a) if a.binds else (a, b)
        await connecter.send([binder.routing_id, *payload])
        got = await binder.recv()
        assert got == [connecter.routing_id, *payload]
        await binder.send([connecter.routing_id, *payload[::-1]])
        assert await connecter.recv() == [binder.routing_id, *payload[::-1]]
    else:  # pragma: no cover
        raise AssertionError(f"no exchange for {kinds}")
