"""A hypothesis state machine playing misbehaving peers against one live zmtp socket.

The socket (a bound PULL, with a good PUSH peer beside it) lives in a trio loop on a
helper thread for the whole example; each rule runs one action in that loop through
``trio.from_thread``.  Rules open raw peers (handshaken or not) over loopback and make
them send valid messages, garbage, partial frames, bad flags, or close and reset.

Invariants after every step: nothing escaped the socket (its loop is still running and
raised nothing, so only zmtp's own errors were ever raised inside), the good peer's
traffic still flows, every input buffer stays within its bound, and the receive queues
within rcvhwm.  At the end, every valid message a peer sent while its stream was still
clean, and before it closed with FIN, has been delivered exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import trio
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
)

import zmtp
from zmtp.protocol import LARGE_FRAME, SocketType

from .raw import RawPeer, Served, ZmtpPeer, frame, long_header, serve

R = TypeVar("R")
RCVHWM = 50


class _Loop:
    """A trio loop on a thread, holding the served socket until ``close``."""

    def __init__(self) -> None:
        self.error: BaseException | None = None
        self.served: Served | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("the socket's loop did not start")
        if self.error is not None:
            raise self.error

    def _main(self) -> None:
        try:
            trio.run(self._serve)
        except BaseException as exc:  # reported by the invariants
            self.error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self.token = trio.lowlevel.current_trio_token()
        self.stop = trio.Event()
        async with serve(SocketType.PULL, rcvhwm=RCVHWM, maxmsgsize=1 << 20,
                         handshake_ivl=5) as served:
            self.served = served
            self._ready.set()
            await self.stop.wait()

    def run(self, fn: Callable[..., Awaitable[R]], *args: Any) -> R:
        assert self.error is None, self.error
        return trio.from_thread.run(fn, *args, trio_token=self.token)

    def close(self) -> None:
        if self.error is None and self._thread.is_alive():
            trio.from_thread.run_sync(self.stop.set, trio_token=self.token)
        self._thread.join(20)


class Peer:
    def __init__(self, raw: RawPeer, handshaken: bool) -> None:
        self.raw = raw
        self.handshaken = handshaken
        self.clean = handshaken  # at a frame boundary, nothing bad sent yet
        self.sent: list[bytes] = []


class MisbehavingPeers(RuleBasedStateMachine):
    peers = Bundle("peers")

    def __init__(self) -> None:
        super().__init__()
        self.loop = _Loop()
        self.counter = 0
        self.expected: set[bytes] = set()  # must arrive: sent clean, peer ended with FIN
        self.received: list[bytes] = []
        self.live: list[Peer] = []

    @property
    def served(self) -> Served:
        assert self.loop.served is not None
        return self.loop.served

    # -- peers ---------------------------------------------------------------------------

    @initialize(target=peers)
    def first_peer(self) -> Peer:
        return self.open_peer(True)

    @rule(target=peers, handshake=st.booleans())
    def open_peer(self, handshake: bool) -> Peer:
        async def go() -> Peer:
            if handshake:
                return Peer(await ZmtpPeer.open(self.served.endpoint, SocketType.PUSH), True)
            return Peer(await RawPeer.connect(self.served.endpoint), False)

        peer = self.loop.run(go)
        self.live.append(peer)
        return peer

    @rule(peer=peers, count=st.integers(1, 5), size=st.sampled_from([0, 10, 300, 70_000]))
    def send_valid(self, peer: Peer, count: int, size: int) -> None:
        if peer.raw.sock.fileno() < 0:
            return
        data = bytearray()
        for _ in range(count):
            self.counter += 1
            tag = b"valid-%d" % self.counter
            data += frame(tag, 0x01) + frame(b"p" * size)
            if peer.clean:
                peer.sent.append(tag)
        self.loop.run(self._send, peer, bytes(data))

    @rule(peer=peers, data=st.binary(min_size=1, max_size=300))
    def send_garbage(self, peer: Peer, data: bytes) -> None:
        peer.clean = False
        self.loop.run(self._send, peer, data)

    @rule(peer=peers, announced=st.sampled_from([5, 255, LARGE_FRAME + 1, 2 << 20, 2**63 - 1]),
          given=st.integers(0, 100))
    def send_partial_frame(self, peer: Peer, announced: int, given: int) -> None:
        peer.clean = False
        header = long_header(announced) if announced > 255 else bytes((0, announced))
        self.loop.run(self._send, peer, header + b"z" * min(given, announced - 1))

    @rule(peer=peers, flags=st.sampled_from([0x08, 0x10, 0x80, 0x05, 0x07]))
    def send_bad_flags(self, peer: Peer, flags: int) -> None:
        peer.clean = False
        self.loop.run(self._send, peer, bytes((flags, 3)) + b"bad")

    @rule(peer=consumes(peers), reset=st.booleans())
    def close_peer(self, peer: Peer, reset: bool) -> None:
        if peer.clean and not reset:
            self.expected.update(peer.sent)
        self.live.remove(peer)
        self.loop.run(self._close, peer, reset)

    async def _send(self, peer: Peer, data: bytes) -> None:
        try:
            with trio.fail_after(5):
                await peer.raw.send(data)
        except (OSError, trio.TooSlowError):
            peer.clean = False  # the server closed on us (or stopped reading): fine

    async def _close(self, peer: Peer, reset: bool) -> None:
        if reset:
            peer.raw.reset()
        else:
            peer.raw.close()
        await trio.lowlevel.checkpoint()

    # -- invariants ----------------------------------------------------------------------

    async def _drain(self) -> None:
        sock = self.served.sock
        await trio.sleep(0.01)
        while True:
            try:
                message = sock.recv_multipart_nowait()
            except zmtp.Again:
                return
            self.received.append(message[0])

    @invariant()
    def socket_alive_and_bounded(self) -> None:
        assert self.loop.error is None, self.loop.error

        async def check() -> None:
            sock = self.served.sock
            assert not sock.closed
            for engine in list(sock._engines):
                conn = engine.conn
                assert conn.allocated <= max(2 * conn.buffered, 1 << 20) + LARGE_FRAME + 9, (
                    conn.allocated, conn.buffered)
            for pipe in list(sock._pipes):
                assert len(pipe.inq) <= RCVHWM + 1024  # one parsed batch past the mark
            await self._drain()

        self.loop.run(check)

    @rule()
    def good_peer_exchanges(self) -> None:
        async def go() -> None:
            await self._drain()
            await self.served.good.send(b"good")
            with trio.fail_after(10):
                while True:
                    message = await self.served.sock.recv_multipart()
                    if message == [b"good"]:
                        return
                    self.received.append(message[0])

        self.loop.run(go)

    def teardown(self) -> None:
        try:
            if self.loop.error is None:
                for peer in list(self.live):
                    self.close_peer(peer, reset=False)

                async def collect() -> None:
                    with trio.move_on_after(10):
                        while not self.expected <= set(self.received):
                            await self._drain()

                self.loop.run(collect)
                tagged = [tag for tag in self.received if tag.startswith(b"valid-")]
                assert len(tagged) == len(set(tagged)), "a message was delivered twice"
                missing = self.expected - set(self.received)
                assert not missing, f"accepted messages lost: {sorted(missing)[:5]}"
            assert self.loop.error is None, self.loop.error
        finally:
            self.loop.close()


MisbehavingPeers.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.timeout(180)
class TestMisbehavingPeers(MisbehavingPeers.TestCase):  # type: ignore[misc,valid-type]
    pass
