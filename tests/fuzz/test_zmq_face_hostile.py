"""The hostile-input catalogue against bound ``zmtp.zmq`` sockets (the pyzmq face).

The face runs its own I/O driver (an asyncio engine per connection, libzmq's monitor
events) over the sans-IO core, so the catalogue of test_catalogue_handshake and
test_catalogue_traffic is played again here, over a raw blocking TCP client on
127.0.0.1.  Each case asserts the whole answer:

- only the offending connection closes (the raw client sees EOF or a reset, or stays
  up where libzmq tolerates the input);
- the monitor (``get_monitor_socket`` + ``recv_monitor_message``) reports it with
  libzmq's events and values: ACCEPTED(fd), HANDSHAKE_FAILED_PROTOCOL with a libzmq
  ``PROTOCOL_ERROR_*`` code, HANDSHAKE_FAILED_NO_DETAIL with an errno, DISCONNECTED(fd);
- a log line on the ``zmtp.zmq`` logger names the peer (address:port) and the reason;
- a well-behaved libzmq peer (pyzmq) on the same bound socket keeps exchanging;
- nothing but ``zmq.ZMQError`` reaches the application and nothing is logged as an
  error (an exception escaping into the I/O thread's loop would be);
- no file descriptor or thread outlives the batch.

Where libzmq's answer differs and ours is kept (the core's documented choices: ZMTP 1.0
refused, reserved flag bits refused, malformed commands after the handshake closed),
the test says so.  Values were compared with libzmq 4.3.5 through pyzmq on the same
bytes.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket as stdlib_socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import zmq as pyzmq

import zmtp.zmq as zmq
import zmtp.zmq.asyncio as zmq_asyncio
from zmtp.protocol import Connection, SocketType
from zmtp.protocol import Message as MessageEvent
from zmtp.zmq.utils.monitor import recv_monitor_message

from .raw import BAD_TRAFFIC, close_with_reset, command, frame, greeting, long_header, ready

pytestmark = pytest.mark.timeout(30)

WAIT = 5.0  # seconds; nothing healthy here waits this long
WAIT_MS = int(WAIT * 1000)
SIGNATURE = b"\xff" + bytes(8) + b"\x7f"

E = zmq.Event
UNEXPECTED = int(E.PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND)
MISMATCH = int(E.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
MALFORMED = int(E.PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED)
MALFORMED_HELLO = int(E.PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO)
INVALID_METADATA = int(E.PROTOCOL_ERROR_ZMTP_INVALID_METADATA)
UNSPECIFIED = int(E.PROTOCOL_ERROR_ZMTP_UNSPECIFIED)

# The bound types, and the libzmq (pyzmq) socket type of a well-behaved peer of each.
GOOD_PEER: dict[int, int] = {
    zmq.PULL: pyzmq.PUSH,
    zmq.SUB: pyzmq.PUB,
    zmq.XPUB: pyzmq.SUB,
    zmq.REP: pyzmq.REQ,
    zmq.ROUTER: pyzmq.DEALER,
    zmq.PAIR: pyzmq.PAIR,
    zmq.DEALER: pyzmq.DEALER,
}
# The ZMTP socket type a hostile peer announces to each bound type (a valid one).
HOSTILE_AS: dict[int, SocketType] = {
    zmq.PULL: SocketType.PUSH,
    zmq.SUB: SocketType.PUB,
    zmq.XPUB: SocketType.SUB,
    zmq.REP: SocketType.REQ,
    zmq.ROUTER: SocketType.DEALER,
    zmq.PAIR: SocketType.PAIR,
    zmq.DEALER: SocketType.DEALER,
}
# An announced type each bound type refuses (RFC 37).
INCOMPATIBLE: dict[int, bytes] = {
    zmq.PULL: b"PULL", zmq.SUB: b"SUB", zmq.XPUB: b"PUSH", zmq.REP: b"REP",
    zmq.ROUTER: b"PUB", zmq.PAIR: b"PUSH", zmq.DEALER: b"SUB",
}
BOUND = list(GOOD_PEER)
NAMES: dict[int, str] = {kind: zmq.SocketType(kind).name for kind in BOUND}


def kind_id(kind: int) -> str:
    return NAMES[kind]


# -- the raw client ----------------------------------------------------------------------


class Raw:
    """A blocking TCP client on loopback that sends whatever it is told."""

    def __init__(self, port: int) -> None:
        self.sock = stdlib_socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        host, local_port = self.sock.getsockname()[:2]
        #: How the bound socket names us in its log lines.
        self.name = f"{host}:{local_port}"
        self.received = bytearray()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_slowly(self, data: bytes, interval: float) -> bool:
        """One octet per ``interval``; False once the server closed on us."""
        for i in range(len(data)):
            try:
                self.sock.send(data[i : i + 1])
            except OSError:
                return False
            time.sleep(interval)
        return True

    def closed_by_server(self) -> str:
        """Read (and keep) whatever arrives until the server closes: 'eof' or 'reset'."""
        self.sock.settimeout(WAIT)
        while True:
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                return "reset"
            except TimeoutError:
                raise AssertionError(f"{self.name}: the server did not close") from None
            if not data:
                return "eof"
            self.received += data

    def still_open(self, quiet: float = 0.2) -> bool:
        """True if the server neither closed nor reset us within ``quiet`` seconds."""
        self.sock.settimeout(quiet)
        deadline = time.monotonic() + quiet
        try:
            while time.monotonic() < deadline:
                data = self.sock.recv(65536)
                if not data:
                    return False
                self.received += data
        except TimeoutError:
            return True
        except OSError:
            return False
        return True

    def recv_until(self, wanted: bytes) -> None:
        self.sock.settimeout(WAIT)
        while wanted not in self.received:
            data = self.sock.recv(65536)
            if not data:
                raise AssertionError(f"closed before {wanted!r} arrived")
            self.received += data

    def recv_at_least(self, count: int) -> None:
        self.sock.settimeout(WAIT)
        while len(self.received) < count:
            data = self.sock.recv(65536)
            if not data:
                raise AssertionError(f"closed after {len(self.received)} octets")
            self.received += data

    def reset(self) -> None:
        """Close with RST (SO_LINGER 0) instead of FIN."""
        close_with_reset(self.sock)

    def close(self) -> None:
        self.sock.close()


class Peer(Raw):
    """A raw client that completes a real NULL handshake (through the sans-IO core) and
    may then misbehave; it decodes what the server sends."""

    def __init__(self, port: int, kind: SocketType, routing_id: bytes = b"",
                 rcvbuf: int = 0) -> None:
        super().__init__(port)
        if rcvbuf:
            self.sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_RCVBUF, rcvbuf)
        self.conn = Connection(kind, routing_id=routing_id)
        self.messages: list[list[bytes]] = []
        self.flush()
        while not self.conn.handshake_complete:
            self.pump()

    def flush(self) -> None:
        for chunk in self.conn.data_to_send():
            self.send(bytes(chunk))

    def pump(self) -> None:
        self.sock.settimeout(WAIT)
        data = self.sock.recv(65536)
        if not data:
            raise AssertionError("server closed during our handshake")
        self.received += data
        for event in self.conn.receive_data(data):
            if isinstance(event, MessageEvent):
                self.messages.append([bytes(f) for f in event.frames])
        self.flush()

    def send_message(self, frames: list[bytes]) -> None:
        self.conn.send_message(frames)
        self.flush()

    def recv_message(self) -> list[bytes]:
        while not self.messages:
            self.pump()
        return self.messages.pop(0)


# -- the bound face socket, its monitor, and a libzmq peer beside it ---------------------


class Bound:
    """A bound ``zmtp.zmq`` socket of ``kind``, its monitor, and a good pyzmq peer."""

    def __init__(self, kind: int, **options: Any) -> None:
        self.kind = kind
        self.ctx = zmq.Context()
        sock = self.ctx.socket(kind)
        sock.linger = 0
        sock.rcvtimeo = sock.sndtimeo = WAIT_MS
        for name, value in options.items():
            setattr(sock, name, value)
        if kind == zmq.SUB:
            sock.subscribe(b"")
        self.sock = sock
        self.mon = sock.get_monitor_socket()
        self.mon.rcvtimeo = WAIT_MS
        self.port = sock.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{self.port}"
        self.seen: list[tuple[int, int]] = []
        self.good_ctx = pyzmq.Context()
        good = self.good_ctx.socket(GOOD_PEER[kind])
        good.linger = 0
        good.rcvtimeo = good.sndtimeo = WAIT_MS
        if GOOD_PEER[kind] == pyzmq.SUB:
            good.subscribe(b"")
        good.connect(self.endpoint)
        self.good = good
        self._rounds = 0
        self.event(E.HANDSHAKE_SUCCEEDED)
        self.exchange()

    def close(self) -> None:
        self.good.close(0)
        self.good_ctx.term()
        self.mon.close(0)
        self.sock.close(0)
        self.ctx.term()

    def event(self, kind: int, value: int | None = None) -> int:
        """Read monitor events up to the first of ``kind`` (and ``value``); its value."""
        while True:
            try:
                message = recv_monitor_message(self.mon)
            except zmq.Again:
                raise AssertionError(f"no {E(kind).name} event; seen: {self.shown()}") from None
            got = (int(message["event"]), int(message["value"]))
            self.seen.append(got)
            if got[0] == kind and (value is None or got[1] == value):
                return got[1]

    def shown(self) -> list[str]:
        return [f"{E(event).name}({value:#x})" for event, value in self.seen]

    def answer(self, until: int = E.DISCONNECTED) -> list[tuple[int, int]]:
        """The events of one connection: from its ACCEPTED to its DISCONNECTED (or
        ``until``), with the fd values checked to belong to it."""
        start = len(self.seen)
        fd = self.event(E.ACCEPTED)
        if until == E.DISCONNECTED:
            self.event(E.DISCONNECTED, fd)
        else:
            self.event(until)
        events = self.seen[start:]
        assert events[0] == (E.ACCEPTED, fd)
        return events

    def refused(self, raw: Raw, reason: str, caplog: pytest.LogCaptureFixture,
                failure: tuple[int, int] | None) -> None:
        """The whole answer to a bad peer: the close, the events, the log line."""
        raw.closed_by_server()
        events = self.answer()
        fd = events[0][1]
        expected: list[tuple[int, int]] = [(E.ACCEPTED, fd)]
        if failure is not None:
            expected.append(failure)
        else:
            expected.append((E.HANDSHAKE_SUCCEEDED, 0))
        expected.append((E.DISCONNECTED, fd))
        assert events == expected, self.shown()
        assert_logged(caplog, raw.name, reason)

    def exchange(self) -> None:
        """The good libzmq peer's traffic still flows, both ways where the type allows."""
        self._rounds += 1
        tag = b"good-%d" % self._rounds
        kind, server, good = self.kind, self.sock, self.good
        if kind == zmq.XPUB:
            if self._rounds == 1:
                assert server.recv() == b"\x01"  # the good SUB's subscription
            server.send(tag)
            assert good.recv() == tag
            return
        if kind == zmq.SUB:
            # The subscription reaches libzmq's PUB some time after the handshake.
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline:
                good.send(tag)
                if server.poll(20):
                    assert server.recv() == tag
                    while server.poll(20):
                        assert server.recv() == tag  # repeats sent while waiting
                    return
            raise AssertionError("the good PUB's messages never arrived")
        good.send(tag)
        got = server.recv_multipart()
        if kind == zmq.ROUTER:
            assert got[1:] == [tag], got
            server.send_multipart([got[0], tag + b"-back"])
        else:
            assert got == [tag], got
            if kind in (zmq.REP, zmq.PAIR, zmq.DEALER):
                server.send(tag + b"-back")
        if kind in (zmq.ROUTER, zmq.REP, zmq.PAIR, zmq.DEALER):
            assert good.recv() == tag + b"-back"

    def assert_quiet(self) -> None:
        """No message is waiting (nothing partial or foreign was delivered)."""
        assert not self.sock.poll(0), self.sock.recv_multipart(zmq.NOBLOCK)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture the face's log lines; afterwards, nothing may have been logged as an error
    (an exception escaping into the I/O thread's loop is logged by asyncio so)."""
    caplog.set_level(logging.DEBUG, logger="zmtp")
    caplog.set_level(logging.DEBUG, logger="asyncio")
    thread_errors: list[BaseException | None] = []
    old_hook = threading.excepthook
    threading.excepthook = lambda args: thread_errors.append(args.exc_value)
    try:
        yield caplog
    finally:
        threading.excepthook = old_hook
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors
    assert not thread_errors, thread_errors


def assert_logged(caplog: pytest.LogCaptureFixture, peer: str, reason: str) -> None:
    deadline = time.monotonic() + WAIT
    while True:  # the line is written on the I/O thread
        lines = [r.getMessage() for r in caplog.records if r.name.startswith("zmtp")]
        if any(peer in line and reason in line for line in lines):
            return
        if time.monotonic() > deadline:
            raise AssertionError((peer, reason, lines))
        time.sleep(0.005)


@pytest.fixture
def bound_factory() -> Iterator[Any]:
    made: list[Bound] = []

    def make(kind: int, **options: Any) -> Bound:
        bound = Bound(kind, **options)
        made.append(bound)
        return bound

    yield make
    for bound in made:
        bound.close()


def envelope(kind: int, body: list[bytes]) -> list[bytes]:
    """What a peer of ``kind``'s partner sends for the application message ``body``."""
    return [b"", *body] if kind == zmq.REP else body


def app_message(bound: Bound, got: list[bytes]) -> list[bytes]:
    return got[1:] if bound.kind == zmq.ROUTER else got


# -- before the handshake completes -------------------------------------------------------

# (id, bytes, reason in the log line, libzmq's HANDSHAKE_FAILED_PROTOCOL value)
BAD_OPENINGS = [
    ("wrong-signature", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "not a ZMTP peer", UNSPECIFIED),
    ("zmtp1-short-identity", b"\x01\x00", "ZMTP/1.0", UNSPECIFIED),
    ("zmtp1-long-identity", b"\xff" + (300).to_bytes(8, "big") + b"\x00" + b"i" * 300,
     "ZMTP/1.0", UNSPECIFIED),
    ("revision-0", SIGNATURE + b"\x00" + bytes(53), "ZMTP/1.0", UNSPECIFIED),
    ("unknown-mechanism", greeting(b"FOO"), "security mechanism mismatch", MISMATCH),
    ("mismatched-mechanism", greeting(b"PLAIN"), "security mechanism mismatch", MISMATCH),
    ("curve-mechanism", greeting(b"CURVE"), "security mechanism mismatch", MISMATCH),
    ("empty-mechanism", greeting(b""), "invalid mechanism name", MISMATCH),
    ("mechanism-bad-chars", greeting(b"nu ll"), "invalid mechanism name", MISMATCH),
    ("command-before-ready", greeting() + command(b"SUBSCRIBE", b"x"), "expected READY",
     UNEXPECTED),
    ("ping-before-ready", greeting() + command(b"PING", b"\x00\x00"), "expected READY",
     UNEXPECTED),
    ("message-before-ready", greeting() + frame(b"hello"), "handshake completed", UNEXPECTED),
    ("multipart-before-ready", greeting() + frame(b"a", 0x01) + frame(b"b"),
     "handshake completed", UNEXPECTED),
    ("long-message-before-ready", greeting() + frame(b"x" * 70_000), "handshake completed",
     UNEXPECTED),
    ("empty-command", greeting() + frame(b"", 0x04), "empty command", UNEXPECTED),
    ("command-with-more", greeting() + frame(b"\x05READY", 0x05), "MORE flag", UNEXPECTED),
    ("command-name-past-end", greeting() + frame(b"\x09READY", 0x04), "malformed command",
     UNEXPECTED),
    ("reserved-flags-in-handshake", greeting() + bytes((0x84, 2)) + b"ab", "reserved bits",
     UNEXPECTED),
    ("ready-name-past-end", greeting() + command(b"READY", b"\x0bSocket-Typ"),
     "malformed metadata", INVALID_METADATA),
    ("ready-zero-length-name", greeting() + command(b"READY", b"\x00\x00\x00\x00\x00"),
     "malformed metadata", INVALID_METADATA),
    ("ready-huge-value-length",
     greeting() + command(b"READY", b"\x0bSocket-Type\xff\xff\xff\xffPUSH"),
     "malformed metadata", INVALID_METADATA),
    ("ready-value-past-end",
     greeting() + command(b"READY", b"\x0bSocket-Type\x00\x00\x00\x09PUSH"),
     "malformed metadata", INVALID_METADATA),
    ("missing-socket-type", greeting() + ready(None, Identity=b""), "no Socket-Type",
     INVALID_METADATA),
    ("unknown-socket-type", greeting() + ready(b"BOGUS"), "unknown Socket-Type",
     INVALID_METADATA),
    ("lower-case-socket-type", greeting() + ready(b"push"), "unknown Socket-Type",
     INVALID_METADATA),
    ("peer-error-in-handshake", greeting() + command(b"ERROR", b"\x04nope"),
     "peer sent ERROR", UNSPECIFIED),
]


@pytest.mark.parametrize("kind", BOUND, ids=kind_id)
@pytest.mark.parametrize("data,reason,code", [case[1:] for case in BAD_OPENINGS],
                         ids=[case[0] for case in BAD_OPENINGS])
def test_bad_opening(kind: int, data: bytes, reason: str, code: int,
                     logs: pytest.LogCaptureFixture, bound_factory: Any) -> None:
    bound = bound_factory(kind)
    raw = Raw(bound.port)
    raw.send(data)
    bound.refused(raw, reason, logs, (E.HANDSHAKE_FAILED_PROTOCOL, code))
    raw.close()
    bound.exchange()
    bound.assert_quiet()


@pytest.mark.parametrize("kind", BOUND, ids=kind_id)
def test_incompatible_socket_type(kind: int, logs: pytest.LogCaptureFixture,
                                  bound_factory: Any) -> None:
    bound = bound_factory(kind)
    raw = Raw(bound.port)
    raw.send(greeting() + ready(INCOMPATIBLE[kind]))
    bound.refused(raw, "cannot talk to", logs, (E.HANDSHAKE_FAILED_PROTOCOL, INVALID_METADATA))
    assert b"incompatible Socket-Type" in raw.received  # ERROR told the peer why
    raw.close()
    bound.exchange()


@pytest.mark.parametrize("kind", [zmq.PULL, zmq.ROUTER, zmq.PAIR], ids=kind_id)
def test_signature_then_silence(kind: int, logs: pytest.LogCaptureFixture,
                                bound_factory: Any) -> None:
    """HANDSHAKE_IVL bounds the handshake: a peer that sends the signature and stops, or
    never sends a byte, is closed after it with NO_DETAIL(EAGAIN), as libzmq does."""
    bound = bound_factory(kind, handshake_ivl=200)
    for opening in (SIGNATURE, b""):
        raw = Raw(bound.port)
        raw.send(opening)
        start = time.monotonic()
        bound.refused(raw, "handshake timed out", logs,
                      (E.HANDSHAKE_FAILED_NO_DETAIL, errno.EAGAIN))
        assert time.monotonic() - start >= 0.15
        raw.close()
    bound.exchange()


@pytest.mark.parametrize("kind", [zmq.PULL, zmq.XPUB, zmq.ROUTER], ids=kind_id)
def test_slowloris_greeting(kind: int, logs: pytest.LogCaptureFixture,
                            bound_factory: Any) -> None:
    """One octet every 10 ms: the 64-octet greeting needs 0.6 s, HANDSHAKE_IVL is 0.25 s.
    The good peer keeps exchanging while the slow one trickles."""
    bound = bound_factory(kind, handshake_ivl=250)
    raw = Raw(bound.port)
    data = greeting() + ready(HOSTILE_AS[kind].wire_name)
    sender = threading.Thread(target=raw.send_slowly, args=(data, 0.01))
    sender.start()
    try:
        for _ in range(3):
            bound.exchange()
        events = bound.answer()
        assert [event for event, _ in events] == [
            E.ACCEPTED, E.HANDSHAKE_FAILED_NO_DETAIL, E.DISCONNECTED], bound.shown()
        assert events[1][1] == errno.EAGAIN
        assert_logged(logs, raw.name, "handshake timed out")
    finally:
        sender.join(WAIT)
    raw.close()
    bound.exchange()


@pytest.mark.parametrize("kind", [zmq.PULL, zmq.REP, zmq.ROUTER], ids=kind_id)
@pytest.mark.parametrize("how", ["eof", "reset"])
@pytest.mark.parametrize("after", [b"", SIGNATURE, greeting()], ids=["nothing", "signature",
                                                                     "greeting"])
def test_peer_gone_during_handshake(kind: int, how: str, after: bytes,
                                    logs: pytest.LogCaptureFixture,
                                    bound_factory: Any) -> None:
    """A peer that just goes away mid-handshake: HANDSHAKE_FAILED_NO_DETAIL with the errno
    (EPIPE for an orderly close, ECONNRESET for a reset, as libzmq reports them), then
    DISCONNECTED, and a log line naming it."""
    bound = bound_factory(kind)
    raw = Raw(bound.port)
    raw.send(after)
    if after:
        raw.recv_at_least(10)  # the server has the connection and answered
    else:
        bound.event(E.ACCEPTED)
        bound.seen.pop()
    bound.seen.clear()
    if how == "reset":
        raw.reset()
        reason, code = "connection lost", errno.ECONNRESET
    else:
        raw.close()
        reason, code = "closed by peer", errno.EPIPE
    if after:
        bound.event(E.ACCEPTED)
    bound.event(E.DISCONNECTED)
    kinds = [event for event, _ in bound.seen]
    assert kinds[-2:] == [E.HANDSHAKE_FAILED_NO_DETAIL, E.DISCONNECTED], bound.shown()
    assert bound.seen[-2][1] in (code, errno.EPIPE, errno.ECONNRESET), bound.shown()
    assert_logged(logs, raw.name, "closed" if how == "eof" else reason)
    bound.exchange()


@pytest.mark.parametrize("kind", [zmq.PULL, zmq.XPUB, zmq.REP, zmq.ROUTER], ids=kind_id)
def test_zmtp2_greeting_accepted(kind: int, logs: pytest.LogCaptureFixture,
                                 bound_factory: Any) -> None:
    """A ZMTP/2.0 peer (RFC 15) of a classic type is accepted and spoken to in 2.0
    framing, as libzmq does (libzmq reports no HANDSHAKE_SUCCEEDED for it; the face does)."""
    codes = {SocketType.PUSH: 8, SocketType.DEALER: 5, SocketType.SUB: 2, SocketType.REQ: 3}
    bound = bound_factory(kind)
    raw = Raw(bound.port)
    raw.send(SIGNATURE + bytes((1, codes[HOSTILE_AS[kind]])) + b"\x00\x00")
    bound.answer(until=E.HANDSHAKE_SUCCEEDED)
    raw.recv_at_least(12)
    assert raw.received[10] == 3  # we announce 3.x; the peer's revision 1 decides
    if kind == zmq.XPUB:
        raw.send(b"\x00\x02\x01t")  # 2.0 subscription: a message 0x01 + topic
        assert bound.sock.recv() == b"\x01t"
        bound.sock.send_multipart([b"t", b"2.0"])
        raw.recv_until(b"\x01\x01t\x00\x032.0")
        assert bound.good.recv_multipart() == [b"t", b"2.0"]  # subscribed to everything
    elif kind == zmq.REP:
        raw.send(b"\x01\x00" + b"\x00\x04ping")  # empty delimiter, then the body
        assert bound.sock.recv_multipart() == [b"ping"]
        bound.sock.send(b"pong")
        raw.recv_until(b"\x01\x00\x00\x04pong")
    else:
        raw.send(b"\x00\x04v2ok")
        assert app_message(bound, bound.sock.recv_multipart()) == [b"v2ok"]
    # A COMMAND bit does not exist in 2.0 framing: that is a violation there.
    raw.send(command(b"PING", b"\x00\x00"))
    raw.closed_by_server()
    bound.event(E.DISCONNECTED)
    assert_logged(logs, raw.name, "ZMTP/2.0 framing")
    raw.close()
    if kind == zmq.XPUB:  # its topic had no other subscriber: gone with it, as in libzmq
        assert bound.sock.recv() == b"\x00t"
    bound.exchange()
    bound.assert_quiet()


@pytest.mark.parametrize("kind", [zmq.PULL, zmq.ROUTER], ids=kind_id)
@pytest.mark.parametrize("version", [(4, 0), (3, 0), (255, 255)],
                         ids=lambda v: f"{v[0]}.{v[1]}")
def test_newer_version_accepted(kind: int, version: tuple[int, int],
                                logs: pytest.LogCaptureFixture, bound_factory: Any) -> None:
    """A greeting announcing 4.0 (or any 3.x) is answered as 3.1 and works (RFC 23: a
    peer MUST accept higher versions; libzmq does)."""
    bound = bound_factory(kind)
    raw = Raw(bound.port)
    raw.send(greeting(b"NULL", *version) + ready(HOSTILE_AS[kind].wire_name)
             + frame(b"from-v%d" % version[0]))
    bound.answer(until=E.HANDSHAKE_SUCCEEDED)
    assert app_message(bound, bound.sock.recv_multipart()) == [b"from-v%d" % version[0]]
    raw.recv_at_least(12)
    assert raw.received[10:12] == b"\x03\x01"
    raw.close()
    bound.event(E.DISCONNECTED)
    assert E.HANDSHAKE_FAILED_NO_DETAIL not in [event for event, _ in bound.seen]
    bound.exchange()


def test_plain_server(logs: pytest.LogCaptureFixture, bound_factory: Any) -> None:
    """PLAIN_SERVER: a NULL client, a malformed HELLO and a command out of turn are
    refused with libzmq's codes; so is a well-formed HELLO: the face has no ZAP handler,
    and libzmq 4.3.5 without one refuses every PLAIN client (NO_DETAIL, EFAULT)."""
    bound = bound_factory(zmq.PULL)
    bound.sock.plain_server = True
    assert bound.sock.mechanism == zmq.PLAIN
    for data, reason, code in [
        (greeting() + ready(b"PUSH"), "security mechanism mismatch", MISMATCH),
        (greeting(b"PLAIN") + command(b"HELLO", b"\x09ad"), "malformed PLAIN HELLO",
         MALFORMED_HELLO),
        (greeting(b"PLAIN") + command(b"INITIATE"), "expected HELLO", UNEXPECTED),
        (greeting(b"PLAIN") + command(b"HELLO", b"\x01u\x01p"), "no authenticator",
         errno.EFAULT),
    ]:
        raw = Raw(bound.port)
        raw.send(data)
        event = (E.HANDSHAKE_FAILED_NO_DETAIL if code == errno.EFAULT
                 else E.HANDSHAKE_FAILED_PROTOCOL)
        bound.refused(raw, reason, logs, (event, code))
        raw.close()
    bound.exchange()  # the NULL libzmq peer's connection predates PLAIN_SERVER


def test_plain_client_refused_with_status(logs: pytest.LogCaptureFixture) -> None:
    """A face PLAIN client whose credentials a libzmq server (with a ZAP handler that
    says 400) refuses reports HANDSHAKE_FAILED_AUTH(400), as libzmq's client does."""
    server_ctx = pyzmq.Context()
    zap = server_ctx.socket(pyzmq.REP)
    zap.linger = 0
    zap.rcvtimeo = zap.sndtimeo = WAIT_MS
    zap.bind("inproc://zeromq.zap.01")
    server = server_ctx.socket(pyzmq.PULL)
    server.linger = 0
    server.plain_server = True
    port = server.bind_to_random_port("tcp://127.0.0.1")
    ctx = zmq.Context()
    client = ctx.socket(zmq.PUSH)
    client.linger = 0
    client.plain_username = b"admin"
    client.plain_password = b"wrong"
    client.reconnect_ivl = -1
    mon = client.get_monitor_socket(E.HANDSHAKE_FAILED_AUTH | E.HANDSHAKE_FAILED_PROTOCOL)
    mon.rcvtimeo = WAIT_MS
    try:
        client.connect(f"tcp://127.0.0.1:{port}")
        request = zap.recv_multipart()
        assert request[0] == b"1.0" and request[-2:] == [b"admin", b"wrong"]
        zap.send_multipart([b"1.0", request[1], b"400", b"no", b"", b""])
        event = recv_monitor_message(mon)
        assert (event["event"], event["value"]) == (E.HANDSHAKE_FAILED_AUTH, 400)
    finally:
        mon.close(0)
        client.close(0)
        ctx.term()
        server.close(0)
        zap.close(0)
        server_ctx.term()


# -- after the handshake ------------------------------------------------------------------

TRAFFIC_BOUND = [zmq.PULL, zmq.SUB, zmq.XPUB, zmq.REP, zmq.ROUTER, zmq.DEALER]


def hostile(bound: Bound) -> Peer:
    """A peer that completed its handshake (HANDSHAKE_SUCCEEDED seen)."""
    peer = Peer(bound.port, HOSTILE_AS[bound.kind])
    bound.answer(until=E.HANDSHAKE_SUCCEEDED)
    return peer


def delivered(bound: Bound, peer: Peer, body: list[bytes]) -> None:
    """``body`` from the hostile peer reaches the application intact (REP answers)."""
    got = app_message(bound, bound.sock.recv_multipart())
    assert len(got) == len(body) and got == body, (len(got), len(body))
    if bound.kind == zmq.REP:
        bound.sock.send(b"ack")
        assert peer.recv_message() == [b"", b"ack"]


def survived(bound: Bound, peer: Peer) -> None:
    """The peer's connection is still up and the socket still serves its good peer."""
    assert peer.still_open(0.1)
    bound.exchange()
    assert E.DISCONNECTED not in [event for event, _ in bound.seen]
    peer.close()


def closed_after_handshake(bound: Bound, peer: Peer, reason: str,
                           caplog: pytest.LogCaptureFixture) -> None:
    """Closed, DISCONNECTED only (no handshake failure: it had succeeded), a log line."""
    peer.closed_by_server()
    start = len(bound.seen)
    bound.event(E.DISCONNECTED)
    assert [event for event, _ in bound.seen[start:]] == [E.DISCONNECTED], bound.shown()
    assert_logged(caplog, peer.name, reason)


@pytest.mark.parametrize("kind", TRAFFIC_BOUND, ids=kind_id)
@pytest.mark.parametrize("data,reason", [case[1:] for case in BAD_TRAFFIC],
                         ids=[case[0] for case in BAD_TRAFFIC])
def test_bad_traffic(kind: int, data: bytes, reason: str, logs: pytest.LogCaptureFixture,
                     bound_factory: Any) -> None:
    bound = bound_factory(kind)
    peer = hostile(bound)
    peer.send(data)
    closed_after_handshake(bound, peer, reason, logs)
    peer.close()
    bound.exchange()
    bound.assert_quiet()


@pytest.mark.parametrize("kind", TRAFFIC_BOUND, ids=kind_id)
def test_unknown_command_ignored(kind: int, logs: pytest.LogCaptureFixture,
                                 bound_factory: Any) -> None:
    """libzmq ignores a command it does not know once the handshake is done; so does the
    face (and a second READY or a HELLO)."""
    bound = bound_factory(kind)
    peer = hostile(bound)
    peer.send(command(b"FOOBAR", b"x" * 300) + command(b"READY")
              + command(b"HELLO", b"\x01u\x01p"))
    if kind == zmq.XPUB:
        peer.send(command(b"SUBSCRIBE", b"k"))
        assert bound.sock.recv() == b"\x01k"
        bound.sock.send(b"k-for-you")
        assert peer.recv_message() == [b"k-for-you"]
        assert bound.good.recv() == b"k-for-you"
    elif kind != zmq.SUB:
        peer.send_message(envelope(kind, [b"after unknown commands"]))
        delivered(bound, peer, [b"after unknown commands"])
    else:
        peer.send_message([b"after unknown commands"])
        delivered(bound, peer, [b"after unknown commands"])
    survived(bound, peer)


@pytest.mark.parametrize("kind", [zmq.PULL, zmq.XPUB, zmq.REP, zmq.ROUTER], ids=kind_id)
def test_ping_with_17_octet_context(kind: int, logs: pytest.LogCaptureFixture,
                                    bound_factory: Any) -> None:
    """libzmq 4.3.5 PONGs the first 16 octets of an over-long context and stays up (the
    TTL here is 0: no heartbeat deadline is set)."""
    bound = bound_factory(kind)
    peer = hostile(bound)
    peer.send(command(b"PING", b"\x00\x00" + b"C" * 16 + b"X"))
    peer.recv_until(b"\x04\x15\x04PONG" + b"C" * 16)
    if kind != zmq.XPUB:
        peer.send_message(envelope(kind, [b"still here"]))
        delivered(bound, peer, [b"still here"])
    survived(bound, peer)


@pytest.mark.parametrize("kind", [zmq.PULL, zmq.REP, zmq.ROUTER, zmq.DEALER], ids=kind_id)
def test_frames_around_maxmsgsize(kind: int, logs: pytest.LogCaptureFixture,
                                  bound_factory: Any) -> None:
    """MAXMSGSIZE bounds each frame (as in libzmq): exactly the limit passes, one more
    octet closes the connection, and the frames before it in that message are dropped."""
    bound = bound_factory(kind, maxmsgsize=1000)
    peer = hostile(bound)
    peer.send_message(envelope(kind, [b"m" * 1000, b"n" * 1000]))
    delivered(bound, peer, [b"m" * 1000, b"n" * 1000])
    peer.send(b"".join(frame(part, 0x01) for part in envelope(kind, [b"partial"]))
              + frame(b"x" * 1001))
    closed_after_handshake(bound, peer, "more than maxmsgsize=1000", logs)
    peer.close()
    bound.exchange()  # the next message is the good one, not "partial"
    bound.assert_quiet()


@pytest.mark.parametrize("size", [70_000, 1 << 20], ids=["70k", "1M"])
def test_large_frame_just_over_maxmsgsize(size: int, logs: pytest.LogCaptureFixture,
                                          bound_factory: Any) -> None:
    """A long frame (LONG flag) one octet over MAXMSGSIZE, with a body that follows:
    closed at its header (the body is never buffered)."""
    bound = bound_factory(zmq.PULL, maxmsgsize=size)
    peer = hostile(bound)
    peer.send_message([b"L" * size])
    delivered(bound, peer, [b"L" * size])
    try:
        peer.send(long_header(size + 1) + b"L" * 1000)
    except OSError:
        pass  # already closed on us
    closed_after_handshake(bound, peer, f"more than maxmsgsize={size}", logs)
    peer.close()
    bound.exchange()


@pytest.mark.parametrize("kind", [zmq.PULL, zmq.ROUTER], ids=kind_id)
def test_long_frame_2_63_with_maxmsgsize(kind: int, logs: pytest.LogCaptureFixture,
                                         bound_factory: Any) -> None:
    bound = bound_factory(kind, maxmsgsize=1 << 20)
    peer = hostile(bound)
    peer.send(long_header(2**63 - 1) + b"xyz")
    closed_after_handshake(bound, peer, "more than maxmsgsize=1048576", logs)
    peer.close()
    bound.exchange()


@pytest.mark.parametrize("kind", [zmq.PULL, zmq.ROUTER, zmq.DEALER], ids=kind_id)
def test_hundred_thousand_empty_frames(kind: int, logs: pytest.LogCaptureFixture,
                                       bound_factory: Any) -> None:
    """libzmq delivers a message of 100,000 empty frames; so does the face, part by part
    (RCVMORE) or at once."""
    count = 100_000
    bound = bound_factory(kind)
    peer = hostile(bound)
    peer.send(b"\x01\x00" * (count - 1) + b"\x00\x00")
    got = app_message(bound, bound.sock.recv_multipart())
    assert len(got) == count and not any(got)
    assert peer.still_open(0.05)
    peer.send(b"\x01\x00\x00\x05after")
    first = bound.sock.recv()
    if kind == zmq.ROUTER:
        first = bound.sock.recv()
    assert first == b"" and bound.sock.rcvmore
    assert bound.sock.recv() == b"after" and not bound.sock.rcvmore
    bound.exchange()
    peer.close()


@pytest.mark.parametrize("form", ["command", "message"])
def test_subscription_of_64k_on_xpub(form: str, logs: pytest.LogCaptureFixture,
                                     bound_factory: Any) -> None:
    """A 64 KiB topic is a valid subscription (libzmq takes it): reported by XPUB,
    matched, cancelled."""
    topic = bytes(range(256)) * 256
    bound = bound_factory(zmq.XPUB)
    peer = Peer(bound.port, SocketType.SUB)  # subscribes to nothing by itself
    bound.answer(until=E.HANDSHAKE_SUCCEEDED)
    peer.send(command(b"SUBSCRIBE", topic) if form == "command" else frame(b"\x01" + topic))
    assert bound.sock.recv() == b"\x01" + topic
    bound.sock.send_multipart([topic + b"!", b"body"])
    assert peer.recv_message() == [topic + b"!", b"body"]
    assert bound.good.recv_multipart() == [topic + b"!", b"body"]
    peer.send(command(b"CANCEL", topic) if form == "command" else frame(b"\x00" + topic))
    assert bound.sock.recv() == b"\x00" + topic
    bound.exchange()
    assert peer.still_open(0.05)
    assert E.DISCONNECTED not in [event for event, _ in bound.seen]
    peer.close()


@pytest.mark.parametrize("kind", TRAFFIC_BOUND, ids=kind_id)
@pytest.mark.parametrize("how", ["reset", "eof"])
def test_connection_lost_mid_multipart(kind: int, how: str, logs: pytest.LogCaptureFixture,
                                       bound_factory: Any) -> None:
    """The whole message before the break is delivered; the half after it never is."""
    bound = bound_factory(kind)
    peer = hostile(bound)
    whole = envelope(kind, [b"whole-1", b"whole-2"])
    parts = envelope(kind, [b"half-1", b"half-2"])
    if kind == zmq.XPUB:  # a SUB's messages are (un)subscriptions
        whole, parts = [b"\x01whole"], [b"\x01half-1", b"half-2"]
    peer.send(b"".join(frame(p, 0x01) for p in whole[:-1]) + frame(whole[-1])
              + b"".join(frame(p, 0x01) for p in parts) + b"\x00\x10half")
    if kind == zmq.XPUB:
        assert bound.sock.recv() == b"\x01whole"
    else:
        delivered(bound, peer, [b"whole-1", b"whole-2"])
    if how == "reset":
        peer.reset()
        reason = "connection lost"
    else:  # FIN, and read what the server sent (unread data would make close a reset)
        peer.sock.shutdown(stdlib_socket.SHUT_WR)
        peer.closed_by_server()
        peer.close()
        reason = "closed by peer"
    start = len(bound.seen)
    bound.event(E.DISCONNECTED)
    assert [event for event, _ in bound.seen[start:]] == [E.DISCONNECTED], bound.shown()
    assert_logged(logs, peer.name, reason)
    if kind == zmq.XPUB:  # the dead SUB's topics that nobody else wants
        assert bound.sock.recv() == b"\x00whole"
    bound.exchange()  # the next message is the good peer's, not the half
    bound.assert_quiet()


def test_second_pair_peer_refused(logs: pytest.LogCaptureFixture, bound_factory: Any) -> None:
    """PAIR talks to one peer: a second one that completes its handshake is closed with
    the reason and its message goes nowhere; the first keeps its conversation."""
    bound = bound_factory(zmq.PAIR)
    raw = Raw(bound.port)
    raw.send(greeting() + ready(b"PAIR") + frame(b"intruder"))
    raw.closed_by_server()
    bound.event(E.ACCEPTED)
    bound.event(E.DISCONNECTED)
    assert_logged(logs, raw.name, "peer refused")
    raw.close()
    bound.exchange()
    bound.assert_quiet()


def test_ping_ttl_expires(logs: pytest.LogCaptureFixture, bound_factory: Any) -> None:
    """A PING announcing a TTL of 0.1 s, then silence: the peer is taken for dead after
    the TTL, as libzmq does."""
    bound = bound_factory(zmq.PULL)
    peer = hostile(bound)
    peer.send(command(b"PING", b"\x00\x01"))
    closed_after_handshake(bound, peer, "TTL", logs)
    peer.close()
    bound.exchange()


@pytest.mark.parametrize("kind", [zmq.PULL, zmq.REP, zmq.ROUTER], ids=kind_id)
def test_good_message_then_violation_in_one_write(kind: int, logs: pytest.LogCaptureFixture,
                                                  bound_factory: Any) -> None:
    """A whole message and, in the same write, a violation: the message is delivered,
    then the connection closes (what arrived intact ahead of bad bytes is kept)."""
    bound = bound_factory(kind)
    peer = hostile(bound)
    wire = b"".join(frame(p, 0x01) for p in envelope(kind, [b"intact"])[:-1]) + frame(b"intact")
    peer.send(wire + bytes((0x08, 2)) + b"ab")
    closed_after_handshake(bound, peer, "reserved bits", logs)
    assert app_message(bound, bound.sock.recv_multipart()) == [b"intact"]
    if kind == zmq.REP:
        bound.sock.send(b"to nobody")  # REP answers before it takes the next request
    peer.close()
    bound.exchange()
    bound.assert_quiet()


# -- leaks -------------------------------------------------------------------------------


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_no_fd_or_thread_leak(logs: pytest.LogCaptureFixture) -> None:
    """A batch of every bad opening, every bad traffic case and some resets against one
    bound socket: while it runs the socket's fds go back to their level after each
    connection; when the contexts end, fds and threads are back where they started."""
    fds_before, threads_before = fd_count(), threading.active_count()
    bound = Bound(zmq.ROUTER)
    try:
        level = fd_count()
        for _ in range(2):
            for _, data, _, _ in BAD_OPENINGS:
                raw = Raw(bound.port)
                raw.send(data)
                raw.closed_by_server()
                raw.close()
                bound.event(E.DISCONNECTED)
            for _, data, _ in BAD_TRAFFIC:
                peer = hostile(bound)
                peer.send(data)
                peer.closed_by_server()
                peer.close()
                bound.event(E.DISCONNECTED)
            for _ in range(5):
                peer = hostile(bound)
                peer.send(frame(b"half", 0x01))
                peer.reset()
                bound.event(E.DISCONNECTED)
            bound.exchange()
            # Each connection's fds (the transport's and the dup for direct writes) are
            # gone by the time DISCONNECTED is reported.
            assert fd_count() == level
    finally:
        bound.close()
    assert fd_count() == fds_before
    deadline = time.monotonic() + WAIT
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.01)  # the I/O thread ends with term(); let it finish returning
    assert threading.active_count() == threads_before


def test_libzmq_peer_unaffected_by_a_barrage(logs: pytest.LogCaptureFixture) -> None:
    """A libzmq DEALER on the same face ROUTER as a barrage of every bad opening at once
    (from threads) keeps its request/reply going throughout."""
    bound = Bound(zmq.ROUTER, handshake_ivl=1000)
    errors: list[BaseException] = []

    def bad(data: bytes) -> None:
        try:
            raw = Raw(bound.port)
            try:
                raw.send(data)
                raw.closed_by_server()
            finally:
                raw.close()
        except OSError:
            pass
        except BaseException as exc:  # reported below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=bad, args=(case[1],)) for case in BAD_OPENINGS * 3]
        for thread in threads:
            thread.start()
        for _ in range(30):
            bound.exchange()
        for thread in threads:
            thread.join(WAIT)
        assert not errors, errors
        bound.exchange()
        bound.assert_quiet()
    finally:
        bound.close()


# -- zmtp.zmq.asyncio: representative cases -----------------------------------------------


class AsyncBound:
    """A bound ``zmtp.zmq.asyncio`` socket on the running loop, with its monitor."""

    def __init__(self, kind: int, **options: Any) -> None:
        self.ctx = zmq_asyncio.Context()
        sock = self.ctx.socket(kind)
        sock.linger = 0
        for name, value in options.items():
            setattr(sock, name, value)
        self.sock = sock
        self.mon = sock.get_monitor_socket()
        self.port = sock.bind_to_random_port("tcp://127.0.0.1")
        self.seen: list[tuple[int, int]] = []

    async def event(self, kind: int, value: int | None = None) -> int:
        while True:
            message = await asyncio.wait_for(recv_monitor_message(self.mon), WAIT)
            got = (int(message["event"]), int(message["value"]))
            self.seen.append(got)
            if got[0] == kind and (value is None or got[1] == value):
                return got[1]

    def close(self) -> None:
        self.mon.close(0)
        self.sock.close(0)
        self.ctx.term()


async def _good_push(endpoint: str) -> Any:
    ctx = zmq_asyncio.Context()
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.connect(endpoint)
    return ctx, push


ASYNC_CASES = [
    ("wrong-signature", b"GET / HTTP/1.1\r\n\r\n", "not a ZMTP peer",
     (E.HANDSHAKE_FAILED_PROTOCOL, UNSPECIFIED)),
    ("message-before-ready", greeting() + frame(b"hello"), "handshake completed",
     (E.HANDSHAKE_FAILED_PROTOCOL, UNEXPECTED)),
    ("incompatible", greeting() + ready(b"PULL"), "cannot talk to",
     (E.HANDSHAKE_FAILED_PROTOCOL, INVALID_METADATA)),
    ("ready-huge-value-length",
     greeting() + command(b"READY", b"\x0bSocket-Type\xff\xff\xff\xffPUSH"),
     "malformed metadata", (E.HANDSHAKE_FAILED_PROTOCOL, INVALID_METADATA)),
    ("signature-then-silence", SIGNATURE, "handshake timed out",
     (E.HANDSHAKE_FAILED_NO_DETAIL, errno.EAGAIN)),
    ("long-frame-2**63-1", greeting() + ready(b"PUSH") + long_header(2**63 - 1),
     "more than this machine's memory", None),
    ("reserved-flags", greeting() + ready(b"PUSH") + bytes((0x08, 2)) + b"ab",
     "reserved bits", None),
]


@pytest.mark.parametrize("data,reason,failure", [case[1:] for case in ASYNC_CASES],
                         ids=[case[0] for case in ASYNC_CASES])
def test_asyncio_bad_input(data: bytes, reason: str, failure: tuple[int, int] | None,
                           logs: pytest.LogCaptureFixture) -> None:
    """The same answers from an asyncio PULL on the caller's loop; a good zmtp.zmq.asyncio
    PUSH on the same socket keeps delivering."""

    async def main() -> None:
        bound = AsyncBound(zmq.PULL, handshake_ivl=200)
        good_ctx, good = await _good_push(f"tcp://127.0.0.1:{bound.port}")
        try:
            await good.send(b"before")
            assert await asyncio.wait_for(bound.sock.recv(), WAIT) == b"before"
            await bound.event(E.HANDSHAKE_SUCCEEDED)
            start = len(bound.seen)
            reader, writer = await asyncio.open_connection("127.0.0.1", bound.port)
            host, port = writer.get_extra_info("sockname")[:2]
            writer.write(data)
            await writer.drain()
            while await asyncio.wait_for(reader.read(65536), WAIT):
                pass  # until the server closes
            fd = await bound.event(E.DISCONNECTED)
            events = bound.seen[start:]
            expected: list[tuple[int, int]] = [(E.ACCEPTED, fd)]
            expected.append(failure if failure is not None else (E.HANDSHAKE_SUCCEEDED, 0))
            expected.append((E.DISCONNECTED, fd))
            assert events == expected, events
            assert_logged(logs, f"{host}:{port}", reason)
            writer.close()
            await good.send(b"after")
            assert await asyncio.wait_for(bound.sock.recv(), WAIT) == b"after"
            assert not await bound.sock.poll(0)
        finally:
            good.close(0)
            good_ctx.term()
            bound.close()

    asyncio.run(main())


def test_asyncio_reset_mid_multipart(logs: pytest.LogCaptureFixture) -> None:
    """asyncio ROUTER: a reset in the middle of a multipart message delivers nothing of
    it; the whole message before it arrives."""

    async def main() -> None:
        bound = AsyncBound(zmq.ROUTER)
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", bound.port)
            writer.write(greeting() + ready(b"DEALER") + frame(b"w1", 0x01) + frame(b"w2")
                         + frame(b"half", 0x01) + b"\x00\x10ha")
            await writer.drain()
            got = await asyncio.wait_for(bound.sock.recv_multipart(), WAIT)
            assert got[1:] == [b"w1", b"w2"]
            host, port = writer.get_extra_info("sockname")[:2]
            sock = writer.get_extra_info("socket")
            sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
            writer.transport.abort()
            await bound.event(E.DISCONNECTED)
            assert_logged(logs, f"{host}:{port}", "connection lost")
            assert not await bound.sock.poll(100)
        finally:
            bound.close()

    asyncio.run(main())


# -- more hostile peers -------------------------------------------------------------------


def test_router_duplicate_identity_refused(logs: pytest.LogCaptureFixture,
                                           bound_factory: Any) -> None:
    """A second peer announcing a routing id the ROUTER already has is refused (libzmq
    without ROUTER_HANDOVER keeps the first); the first keeps its conversation."""
    bound = bound_factory(zmq.ROUTER)
    first = Peer(bound.port, SocketType.DEALER)
    first.conn = first.conn  # (the handshake is done; same routing id below)
    bound.answer(until=E.HANDSHAKE_SUCCEEDED)
    raw = Raw(bound.port)
    raw.send(greeting() + ready(b"DEALER", Identity=b"dup") + frame(b"one"))
    assert bound.sock.recv_multipart() == [b"dup", b"one"]
    second = Raw(bound.port)
    second.send(greeting() + ready(b"DEALER", Identity=b"dup") + frame(b"intruder"))
    second.closed_by_server()
    assert_logged(logs, second.name, "peer refused")
    bound.sock.send_multipart([b"dup", b"to-first"])
    raw.recv_until(b"to-first")
    assert raw.still_open(0.05)
    bound.exchange()
    bound.assert_quiet()
    raw.close()
    first.close()
    second.close()


@pytest.mark.parametrize("reply", [b"HTTP/1.1 400 Bad Request\r\n\r\n",
                                   greeting(b"CURVE"),
                                   greeting() + ready(b"PUSH")],
                         ids=["http", "curve", "incompatible"])
def test_connecting_to_a_hostile_server(reply: bytes, logs: pytest.LogCaptureFixture) -> None:
    """A face PUSH connecting to a bad listener: each attempt fails with a handshake
    failure event and a log line naming the endpoint, it keeps retrying, and its queued
    message waits for a real peer: it is delivered once one listens there."""
    listener = stdlib_socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(10)
    listener.settimeout(WAIT)
    port = listener.getsockname()[1]
    endpoint = f"tcp://127.0.0.1:{port}"
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.reconnect_ivl = 20
    push.sndtimeo = WAIT_MS
    mon = push.get_monitor_socket()
    mon.rcvtimeo = WAIT_MS
    try:
        push.connect(endpoint)
        push.send(b"queued")
        failures = []
        for _ in range(2):
            conn, _ = listener.accept()
            conn.sendall(reply)
            conn.settimeout(WAIT)
            try:
                while conn.recv(65536):
                    pass
            except ConnectionResetError:
                pass
            conn.close()
            while True:
                event = recv_monitor_message(mon)
                if event["event"] in (E.HANDSHAKE_FAILED_PROTOCOL, E.HANDSHAKE_FAILED_NO_DETAIL):
                    failures.append((int(event["event"]), int(event["value"])))
                if event["event"] == E.CONNECT_RETRIED:
                    break
        assert len(failures) == 2 and failures[0] == failures[1], failures
        assert failures[0][0] == E.HANDSHAKE_FAILED_PROTOCOL
        assert_logged(logs, endpoint.removeprefix("tcp://"), "protocol error")
        listener.close()
        # A real peer takes the address: the message queued all along is delivered.
        pull = ctx.socket(zmq.PULL)
        pull.linger = 0
        pull.rcvtimeo = WAIT_MS
        pull.bind(endpoint)
        assert pull.recv() == b"queued"
        pull.close()
    finally:
        listener.close()
        mon.close(0)
        push.close(0)
        ctx.term()


def test_ping_flood_from_a_peer_that_never_reads(logs: pytest.LogCaptureFixture,
                                                 bound_factory: Any) -> None:
    """3 MB of PINGs from a peer that reads nothing: the PONGs waiting to be written stay
    bounded (one pending PONG, as in libzmq), not one per PING without limit.  (Small
    kernel buffers on both sides, so that the PONGs would pile up in the process.)"""
    bound = bound_factory(zmq.PULL, sndbuf=4096)
    peer = Raw(bound.port)
    peer.sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_RCVBUF, 4096)
    peer.send(greeting() + ready(b"PUSH"))
    bound.answer(until=E.HANDSHAKE_SUCCEEDED)
    chunk = command(b"PING", b"\x00\x00" + b"C" * 16) * 20_000
    for _ in range(7):
        peer.send(chunk)
    peer.send(frame(b"after the flood"))
    assert bound.sock.recv() == b"after the flood"  # every PING before it was read
    (engine,) = [e for e in bound.sock._core.engines if e.peer == peer.name]
    assert engine.transport is not None
    assert engine.transport.get_write_buffer_size() < 256 << 10
    assert not engine.conn.buffered
    bound.exchange()
    peer.close()


@pytest.mark.parametrize("kind", [zmq.PULL, zmq.ROUTER], ids=kind_id)
def test_slowloris_across_a_message(kind: int, logs: pytest.LogCaptureFixture,
                                    bound_factory: Any) -> None:
    """One octet every 10 ms across a message is not a violation (libzmq has no
    per-message deadline either) and blocks nobody; with heartbeats, a trickle slower
    than HEARTBEAT_TIMEOUT is a dead peer and is closed."""
    bound = bound_factory(kind, heartbeat_ivl=50, heartbeat_timeout=150)
    peer = hostile(bound)
    sender = threading.Thread(target=peer.send_slowly,
                              args=(frame(b"s", 0x01) + frame(b"t" * 20), 0.01))
    sender.start()
    for _ in range(3):
        bound.exchange()
    sender.join(WAIT)
    assert app_message(bound, bound.sock.recv_multipart()) == [b"s", b"t" * 20]
    assert peer.still_open(0.1)
    # Now slower than the heartbeat timeout, and never answering PINGs: dead.
    sender = threading.Thread(target=peer.send_slowly, args=(frame(b"u" * 40), 0.3))
    sender.start()
    start = len(bound.seen)
    bound.event(E.DISCONNECTED)
    assert [event for event, _ in bound.seen[start:]] == [E.DISCONNECTED], bound.shown()
    assert_logged(logs, peer.name, "heartbeat timed out")
    peer.close()
    sender.join(WAIT)
    bound.exchange()
    bound.assert_quiet()



# -- a peer that never reads what it is sent ----------------------------------------------


def _stuff(bound: Bound, peer_id: bytes) -> None:
    """Route ~6 MB to ``peer_id``, which reads nothing: the connection's transport holds
    what the kernel would not take (small buffers on both sides)."""
    for _ in range(100):
        bound.sock.send_multipart([peer_id, b"z" * 65536])
    (engine,) = [e for e in bound.sock._core.engines if e.pipe is not None
                 and e.pipe.routing_id == peer_id]
    deadline = time.monotonic() + WAIT
    while engine.write_idle() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not engine.write_idle()


@pytest.mark.parametrize("how", ["violation", "heartbeat", "half-close"])
def test_failed_connection_does_not_wait_for_a_peer_that_never_reads(
        how: str, logs: pytest.LogCaptureFixture, bound_factory: Any) -> None:
    """A connection closed for a failure while it holds data for a peer that reads
    nothing is gone within a second or so (the ERROR gets its chance, no more); a dead
    peer (heartbeat) is dropped at once.  It used to wait for the peer forever, holding
    its fd and buffers."""
    options = {"sndbuf": 4096}
    if how == "heartbeat":
        options.update(heartbeat_ivl=50, heartbeat_timeout=200)
    bound = bound_factory(zmq.ROUTER, **options)
    peer = Peer(bound.port, SocketType.DEALER, routing_id=b"deaf", rcvbuf=4096)
    bound.answer(until=E.HANDSHAKE_SUCCEEDED)
    _stuff(bound, b"deaf")
    if how == "violation":
        peer.send(bytes((0x08, 2)) + b"ab")
    elif how == "half-close":
        peer.sock.shutdown(stdlib_socket.SHUT_WR)
    start = time.monotonic()
    bound.event(E.DISCONNECTED)
    assert time.monotonic() - start < 3.0
    reason = {"violation": "reserved bits", "heartbeat": "heartbeat",
              "half-close": "closed by peer"}[how]
    assert_logged(logs, peer.name, reason)
    peer.close()
    bound.exchange()


@pytest.mark.parametrize("linger", [0, 100])
def test_close_and_term_with_a_peer_that_never_reads(linger: int,
                                                     logs: pytest.LogCaptureFixture) -> None:
    """close(linger) then term() returns within the linger even though a peer holds
    megabytes unread (it hung for ever: the binding's graceful close kept waiting)."""
    bound = Bound(zmq.ROUTER, sndbuf=4096)
    peer = Peer(bound.port, SocketType.DEALER, routing_id=b"deaf", rcvbuf=4096)
    try:
        bound.answer(until=E.HANDSHAKE_SUCCEEDED)
        _stuff(bound, b"deaf")
        bound.good.close(0)
        bound.good_ctx.term()
        bound.mon.close(0)
        done = threading.Event()

        def close() -> None:
            bound.sock.close(linger)
            bound.ctx.term()
            done.set()

        start = time.monotonic()
        closer = threading.Thread(target=close, daemon=True)
        closer.start()
        assert done.wait(WAIT), "term() hangs"
        assert time.monotonic() - start < linger / 1000 + 1.0
    finally:
        peer.close()


def test_unbind_with_a_peer_that_never_reads(logs: pytest.LogCaptureFixture,
                                             bound_factory: Any) -> None:
    """unbind() with LINGER 0 drops the endpoint's connections at once, as disconnect()
    does, even one holding data for a peer that reads nothing (it stayed open for ever)."""
    bound = bound_factory(zmq.ROUTER, sndbuf=4096)
    peer = Peer(bound.port, SocketType.DEALER, routing_id=b"deaf", rcvbuf=4096)
    bound.answer(until=E.HANDSHAKE_SUCCEEDED)
    _stuff(bound, b"deaf")
    bound.sock.unbind(bound.endpoint)
    bound.event(E.DISCONNECTED)
    bound.event(E.DISCONNECTED)  # the good peer's connection too
    assert_logged(logs, peer.name, "unbound")
    assert peer.closed_by_server() in ("eof", "reset")
    peer.close()
