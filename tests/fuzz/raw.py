"""A hostile peer's toolkit: hand-built ZMTP bytes, a raw TCP client, and a bound zmtp
socket with a well-behaved peer beside it, for the catalogue of bad inputs (issue 7).

The raw client speaks through a plain trio socket on loopback, so it can send anything:
broken greetings, frames with impossible headers, one octet at a time, or a reset.
The bound socket records its ``Socket.events()``; ``Served.exchange()`` checks that the
good peer on the same socket still gets its messages through, in both directions where
the socket type allows.
"""

from __future__ import annotations

import logging
import socket as stdlib_socket
import struct
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio

import zmtp
from zmtp.monitor import EventKind, SocketEvent
from zmtp.protocol import Connection, HandshakeComplete, Message, SocketType
from zmtp.protocol.commands import encode_command
from zmtp.protocol.metadata import encode_metadata

WAIT = 10.0  # generous: the machine is shared; nothing here waits this long when healthy

# The socket type a well-behaved (or hostile) peer of each bound type uses.
PEER_OF = {
    SocketType.PULL: SocketType.PUSH,
    SocketType.ROUTER: SocketType.DEALER,
    SocketType.PUB: SocketType.SUB,
    SocketType.XPUB: SocketType.SUB,
    SocketType.REP: SocketType.REQ,
    SocketType.PAIR: SocketType.PAIR,
    SocketType.DEALER: SocketType.DEALER,
    SocketType.SUB: SocketType.PUB,
    SocketType.PUSH: SocketType.PULL,
}

# -- hand-built wire bytes ---------------------------------------------------------------


def frame(body: bytes, flags: int = 0) -> bytes:
    """One ZMTP 3.x frame; the LONG bit is set when the body needs it."""
    if len(body) < 256 and not flags & 0x02:
        return bytes((flags, len(body))) + body
    return struct.pack(">BQ", flags | 0x02, len(body)) + body


def long_header(size: int, flags: int = 0) -> bytes:
    """Just the header of a long frame announcing ``size`` octets."""
    return struct.pack(">BQ", flags | 0x02, size)


def command(name: bytes, data: bytes = b"") -> bytes:
    return frame(encode_command(name, data), 0x04)


def greeting(mechanism: bytes = b"NULL", major: int = 3, minor: int = 1) -> bytes:
    """A 64-octet 3.x-shaped greeting with any version and any (even invalid) mechanism."""
    return (b"\xff" + bytes(8) + b"\x7f" + bytes((major, minor))
            + mechanism.ljust(20, b"\0")[:20] + bytes(32))


def ready(socket_type: bytes | None, **properties: bytes) -> bytes:
    props: dict[str, bytes] = {}
    if socket_type is not None:
        props["Socket-Type"] = socket_type
    props.update({name.replace("_", "-"): value for name, value in properties.items()})
    return command(b"READY", encode_metadata(props))


def null_handshake(peer_type: SocketType, **properties: bytes) -> bytes:
    """Greeting and READY of a NULL peer of ``peer_type``, in one piece."""
    return greeting() + ready(peer_type.wire_name, **properties)


#: Traffic after a good handshake that must close that one connection: (id, the bytes,
#: what the reason says).  libzmq ignores reserved flag bits; RFC 23 says they shall be
#: zero and zmtp refuses them.
BAD_TRAFFIC = [
    ("reserved-flag-0x08", bytes((0x08, 2)) + b"ab", "reserved bits"),
    ("reserved-flag-0x80-long", bytes((0x82,)) + (3).to_bytes(8, "big") + b"abc",
     "reserved bits"),
    ("long-frame-2**63-1", long_header(2**63 - 1), "more than this machine's memory"),
    ("long-command-2**63-1", long_header(2**63 - 1, 0x04), "more than this machine's memory"),
    ("command-with-more", frame(b"\x04PING\x00\x00", 0x05), "MORE flag"),
    ("command-mid-multipart", frame(b"a", 0x01) + command(b"PING", b"\x00\x00"),
     "middle of a multipart"),
    ("ping-without-ttl", command(b"PING", b"\x00"), "TTL is missing"),
    ("empty-command", frame(b"", 0x04), "empty command"),
    ("peer-error", command(b"ERROR", b"\x05bye!!"), "peer sent ERROR"),
]


def close_with_reset(sock: Any) -> None:
    """Close with RST (SO_LINGER 0) instead of FIN (a stdlib or a trio socket)."""
    sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# -- the raw client ----------------------------------------------------------------------


class RawPeer:
    """A plain TCP client on loopback: sends whatever it is told, reads until EOF."""

    def __init__(self, sock: trio.socket.SocketType) -> None:
        self.sock = sock
        host, port = sock.getsockname()[:2]
        #: How the bound socket names us in events and log lines.
        self.name = f"{host}:{port}"
        self.received = bytearray()

    @classmethod
    async def connect(cls, endpoint: str) -> RawPeer:
        host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
        sock = trio.socket.socket(stdlib_socket.AF_INET, stdlib_socket.SOCK_STREAM)
        await sock.connect((host, int(port)))
        return cls(sock)

    async def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[await self.sock.send(view) :]

    async def send_slowly(self, data: bytes, interval: float) -> bool:
        """One octet per ``interval``; False once the other side closed on us."""
        for i in range(len(data)):
            try:
                await self.sock.send(data[i : i + 1])
            except OSError:
                return False
            await trio.sleep(interval)
        return True

    async def recv_some(self, timeout: float = WAIT) -> bytes:
        with trio.fail_after(timeout):
            data = await self.sock.recv(65536)
        self.received += data
        return data

    async def closed_by_server(self, timeout: float = WAIT) -> str:
        """Read (and keep) whatever arrives until the server closes: 'eof' or 'reset'."""
        with trio.fail_after(timeout):
            while True:
                try:
                    data = await self.sock.recv(65536)
                except ConnectionResetError:
                    return "reset"
                if not data:
                    return "eof"
                self.received += data

    async def still_open(self, quiet: float = 0.3) -> bool:
        """True if the server neither closed nor reset us within ``quiet`` seconds."""
        with trio.move_on_after(quiet):
            while True:
                try:
                    data = await self.sock.recv(65536)
                except OSError:
                    return False
                if not data:
                    return False
                self.received += data
        return True

    def reset(self) -> None:
        """Close with RST (SO_LINGER 0) instead of FIN."""
        close_with_reset(self.sock)

    def close(self) -> None:
        self.sock.close()


class ZmtpPeer(RawPeer):
    """A raw client that completes a real handshake (sans-IO core) and then may misbehave;
    it can also decode what the server sends it."""

    def __init__(self, sock: trio.socket.SocketType, conn: Connection) -> None:
        super().__init__(sock)
        self.conn = conn
        self.messages: list[list[bytes]] = []

    @classmethod
    async def open(cls, endpoint: str, kind: SocketType, **conn_args: Any) -> ZmtpPeer:
        raw = await RawPeer.connect(endpoint)
        peer = cls(raw.sock, Connection(kind, **conn_args))
        with trio.fail_after(WAIT):
            await peer.flush()
            while not peer.conn.handshake_complete:
                await peer.pump()
        return peer

    async def flush(self) -> None:
        for chunk in self.conn.data_to_send():
            await self.send(bytes(chunk))

    async def pump(self) -> None:
        data = await self.sock.recv(65536)
        if not data:
            raise AssertionError("server closed during our handshake")
        for event in self.conn.receive_data(data):
            if isinstance(event, Message):
                self.messages.append(list(event.frames))
            elif isinstance(event, HandshakeComplete):
                pass
        await self.flush()

    async def send_message(self, frames: Sequence[bytes]) -> None:
        self.conn.send_message(list(frames))
        await self.flush()

    async def recv_message(self, timeout: float = WAIT) -> list[bytes]:
        with trio.fail_after(timeout):
            while not self.messages:
                await self.pump()
        return self.messages.pop(0)


# -- the bound socket and its good peer --------------------------------------------------


class Served:
    """A bound zmtp socket, its event log, and a good zmtp peer connected to it."""

    def __init__(self, kind: SocketType, sock: zmtp.Socket, endpoint: str,
                 events: trio.MemoryReceiveChannel[SocketEvent], good: zmtp.Socket) -> None:
        self.kind = kind
        self.sock = sock
        self.endpoint = endpoint
        self._events = events
        self.seen: list[SocketEvent] = []
        self.good = good
        self._rounds = 0

    async def event(self, kind: EventKind, peer: str, timeout: float = WAIT) -> SocketEvent:
        """The first event of ``kind`` about ``peer`` (earlier ones included)."""
        for event in self.seen:
            if event.kind is kind and event.peer == peer:
                return event
        with trio.fail_after(timeout):
            async for event in self._events:
                self.seen.append(event)
                if event.kind is kind and event.peer == peer:
                    return event
        raise AssertionError("event stream ended")

    def kinds_for(self, peer: str) -> list[EventKind]:
        """Events about ``peer`` seen so far (also drains what is already queued)."""
        while True:
            try:
                self.seen.append(self._events.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                break
        return [event.kind for event in self.seen if event.peer == peer]

    async def closed_with(self, peer: RawPeer, reason: str, caplog: pytest.LogCaptureFixture,
                          *, handshake_failed: bool) -> SocketEvent:
        """Assert the whole answer to a bad peer: the close, the event, the log line."""
        await peer.closed_by_server()
        if handshake_failed:
            failed = await self.event(EventKind.HANDSHAKE_FAILED, peer.name)
            assert reason in failed.reason, failed
        event = await self.event(EventKind.DISCONNECTED, peer.name)
        assert reason in event.reason, event
        assert_logged(caplog, peer.name, reason)
        if not handshake_failed:
            assert EventKind.HANDSHAKE_FAILED not in self.kinds_for(peer.name)
        return event

    async def exchange(self) -> None:
        """The good peer's traffic still flows, both ways where the type allows."""
        self._rounds += 1
        tag = b"good-%d" % self._rounds
        kind, server, good = self.kind, self.sock, self.good
        with trio.fail_after(WAIT):
            if kind in (SocketType.PUB, SocketType.XPUB):
                if kind is SocketType.XPUB and self._rounds == 1:
                    assert await server.recv() == b"\x01"  # the good SUB's subscription
                # Until the subscription is in, PUB drops: repeat until one gets through.
                while True:
                    await server.send(tag)
                    with trio.move_on_after(0.05):
                        while True:
                            if await good.recv() == tag:
                                return
            await good.send(tag)
            got = await server.recv_multipart()
            if kind is SocketType.ROUTER:
                assert got[1:] == [tag], got
                await server.send_multipart([got[0], tag + b"-back"])
                assert await good.recv() == tag + b"-back"
            else:
                assert got == [tag], got
                if kind in (SocketType.REP, SocketType.PAIR, SocketType.DEALER):
                    await server.send(tag + b"-back")
                    assert await good.recv() == tag + b"-back"


@asynccontextmanager
async def serve(kind: SocketType, *, good_options: dict[str, Any] | None = None,
                **options: Any) -> AsyncIterator[Served]:
    """Bind a ``kind`` socket on loopback, connect a good zmtp peer, exchange once."""
    options.setdefault("linger", 0)
    async with zmtp.Socket(kind, **options) as sock:
        events = sock.events(max_buffer=10_000)
        endpoint = await sock.bind("tcp://127.0.0.1:*")
        async with zmtp.Socket(PEER_OF[kind], linger=0, **(good_options or {})) as good:
            if PEER_OF[kind] is SocketType.SUB:
                good.subscribe(b"")
            await good.connect(endpoint)
            served = Served(kind, sock, endpoint, events, good)
            await served.exchange()
            yield served


def assert_logged(caplog: pytest.LogCaptureFixture, peer: str, reason: str) -> None:
    lines = [r.getMessage() for r in caplog.records if r.name == "zmtp"]
    assert any(peer in line and reason in line for line in lines), (peer, reason, lines)


def capture_zmtp_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="zmtp")


# -- leak accounting ---------------------------------------------------------------------


def fd_count() -> int:
    import os

    return len(os.listdir("/proc/self/fd"))


def task_count() -> int:
    """Every task in this trio run (a walk from the root task)."""
    count = 0
    stack = [trio.lowlevel.current_root_task()]
    while stack:
        task = stack.pop()
        assert task is not None
        count += 1
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return count
