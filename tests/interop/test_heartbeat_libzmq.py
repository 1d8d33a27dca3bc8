"""ZMTP 3.1 heartbeats between zmtp and libzmq: an idle connection outliving the TTL stays
up (each side answers the other's PINGs), and a peer that vanishes without closing its
socket is detected by our heartbeat_ivl / heartbeat_timeout."""

from __future__ import annotations

import os
import signal
import socket as stdlib_socket
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import pytest
import trio

import zmtp
from zmtp.monitor import EventKind, SocketEvent
from zmtp.protocol import Connection, Ping, SocketType

from .conftest import trecv, zbind, zmq, zrecv, zsend, zsock


def _drain(events: trio.MemoryReceiveChannel[SocketEvent]) -> list[EventKind]:
    kinds = []
    while True:
        try:
            kinds.append(events.receive_nowait().kind)
        except trio.WouldBlock:
            return kinds


async def _wait_event(events: trio.MemoryReceiveChannel[SocketEvent], kind: EventKind,
                      timeout: float) -> SocketEvent:
    with trio.fail_after(timeout):
        async for event in events:
            if event.kind is kind:
                return event
    raise AssertionError("event channel closed")


@pytest.mark.parametrize("zmtp_binds", [True, False], ids=["zmtp_binds", "libzmq_binds"])
async def test_idle_connection_outlives_libzmq_heartbeat_ttl(ctx: Any, zmtp_binds: bool) -> None:
    """libzmq PINGs with a short TTL and times out after 1 s without an answer; we stay
    silent ourselves, so only our PONGs keep it alive for 2.5 s. (1 s, not less: a loaded
    CI machine can stall either process for a few hundred milliseconds.)"""
    peer = zsock(ctx, "DEALER", heartbeat_ivl=100, heartbeat_ttl=1000, heartbeat_timeout=1000)
    try:
        async with zmtp.Socket(zmtp.DEALER, linger=0) as sock:
            events = sock.events()
            if zmtp_binds:
                peer.connect(await sock.bind("tcp://127.0.0.1:*"))
            else:
                await sock.connect(zbind(peer, "tcp://127.0.0.1:*"))
            await zsend(peer, [b"hello"])
            assert await trecv(sock) == [b"hello"]
            # Idle for well over libzmq's timeout and TTL (keep libzmq's thread turning).
            with trio.move_on_after(2.5):
                while True:
                    peer.getsockopt(zmq.EVENTS)
                    await trio.sleep(0.02)
            await sock.send(b"still there")
            assert await zrecv(peer) == [b"still there"]
            await zsend(peer, [b"and back"])
            assert await trecv(sock) == [b"and back"]
            kinds = _drain(events)
            assert EventKind.DISCONNECTED not in kinds, kinds
            assert kinds.count(EventKind.HANDSHAKE_SUCCEEDED) == 1, kinds
    finally:
        peer.close(linger=0)


@pytest.mark.parametrize("zmtp_binds", [True, False], ids=["zmtp_binds", "libzmq_binds"])
async def test_our_heartbeats_keep_libzmq_answering(ctx: Any, zmtp_binds: bool) -> None:
    """We PING every 100 ms announcing a 1 s TTL, with a 1 s timeout: libzmq must
    answer every PING (PONG) and honour the TTL without dropping us."""
    peer = zsock(ctx, "DEALER")
    try:
        async with zmtp.Socket(zmtp.DEALER, linger=0, heartbeat_ivl=0.1, heartbeat_ttl=1.0,
                               heartbeat_timeout=1.0) as sock:
            events = sock.events()
            if zmtp_binds:
                peer.connect(await sock.bind("tcp://127.0.0.1:*"))
            else:
                await sock.connect(zbind(peer, "tcp://127.0.0.1:*"))
            await sock.send(b"hello")
            assert await zrecv(peer) == [b"hello"]
            with trio.move_on_after(2.5):
                while True:
                    peer.getsockopt(zmq.EVENTS)
                    await trio.sleep(0.02)
            await zsend(peer, [b"alive"])
            assert await trecv(sock) == [b"alive"]
            kinds = _drain(events)
            assert EventKind.DISCONNECTED not in kinds, kinds
    finally:
        peer.close(linger=0)


async def _send_all(sock: trio.socket.SocketType, conn: Connection) -> None:
    for chunk in conn.data_to_send():
        view = memoryview(bytes(chunk))
        while view:
            view = view[await sock.send(view):]


async def _raw_handshake(sock: trio.socket.SocketType, kind: SocketType) -> Connection:
    """Complete a NULL handshake as a bare ZMTP peer on ``sock`` (sans-IO core)."""
    conn = Connection(kind)
    with trio.fail_after(5):
        await _send_all(sock, conn)
        while not conn.handshake_complete:
            conn.receive_data(await sock.recv(65536))
            await _send_all(sock, conn)
    return conn


async def test_silent_raw_peer_detected_by_heartbeat_timeout() -> None:
    """A peer that completes the handshake and then never answers (no PONG, no traffic,
    socket left open) is dropped after heartbeat_timeout."""
    async with zmtp.Socket(zmtp.DEALER, linger=0, heartbeat_ivl=0.05,
                           heartbeat_timeout=0.25) as sock:
        events = sock.events()
        endpoint = await sock.bind("tcp://127.0.0.1:*")
        host, port = endpoint[len("tcp://"):].rsplit(":", 1)
        raw = trio.socket.socket(stdlib_socket.AF_INET, stdlib_socket.SOCK_STREAM)
        try:
            await raw.connect((host, int(port)))
            conn = await _raw_handshake(raw, SocketType.DEALER)
            assert conn.handshake_complete
            await _wait_event(events, EventKind.HANDSHAKE_SUCCEEDED, 5)
            # Our engine PINGs: the raw peer sees them arrive but never answers.
            pinged = False
            with trio.fail_after(5):
                while not pinged:
                    pinged = any(isinstance(e, Ping) for e in conn.receive_data(
                        await raw.recv(65536)))
            start = trio.current_time()
            event = await _wait_event(events, EventKind.DISCONNECTED, 5)
            assert "heartbeat" in event.reason
            assert trio.current_time() - start < 2.0
        finally:
            raw.close()


async def test_closed_raw_peer_detected() -> None:
    async with zmtp.Socket(zmtp.DEALER, linger=0, heartbeat_ivl=0.05) as sock:
        events = sock.events()
        endpoint = await sock.bind("tcp://127.0.0.1:*")
        host, port = endpoint[len("tcp://"):].rsplit(":", 1)
        raw = trio.socket.socket(stdlib_socket.AF_INET, stdlib_socket.SOCK_STREAM)
        await raw.connect((host, int(port)))
        await _raw_handshake(raw, SocketType.DEALER)
        await _wait_event(events, EventKind.HANDSHAKE_SUCCEEDED, 5)
        raw.close()
        await _wait_event(events, EventKind.DISCONNECTED, 5)


_PEER_SCRIPT = textwrap.dedent("""
    import sys, zmq
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    if len(sys.argv) > 2:  # heartbeat interval and TTL, ms
        s.setsockopt(zmq.HEARTBEAT_IVL, int(sys.argv[2]))
        s.setsockopt(zmq.HEARTBEAT_TTL, int(sys.argv[3]))
    s.connect(sys.argv[1])
    s.send(b"ready")
    print("sent", flush=True)
    s.recv()  # blocks until stopped or killed
""")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGSTOP")
@pytest.mark.parametrize("how", ["SIGSTOP", "SIGKILL"])
async def test_vanished_pyzmq_process_detected(how: str) -> None:
    """A libzmq peer whose process is frozen (SIGSTOP: socket open, nothing answers) is
    dropped by our heartbeat timeout; one that is killed (the kernel closes its socket)
    is dropped at once.  The process is always killed by its pid in the end."""
    async with zmtp.Socket(zmtp.DEALER, linger=0, heartbeat_ivl=0.1,
                           heartbeat_timeout=1.0) as sock:
        events = sock.events()
        endpoint = await sock.bind("tcp://127.0.0.1:*")
        proc = subprocess.Popen([sys.executable, "-c", _PEER_SCRIPT, endpoint],
                                stdout=subprocess.PIPE)
        try:
            assert await trecv(sock, timeout=20) == [b"ready"]
            await trio.sleep(0.3)  # heartbeats flow while the peer is alive
            assert EventKind.DISCONNECTED not in _drain(events)
            os.kill(proc.pid, getattr(signal, how))
            event = await _wait_event(events, EventKind.DISCONNECTED, 10)
            if how == "SIGSTOP":
                assert "heartbeat" in event.reason
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGSTOP")
async def test_stopped_pyzmq_process_detected_by_its_own_ttl() -> None:
    """We send no heartbeats ourselves; the libzmq peer PINGs with HEARTBEAT_TTL=1 s.
    When it freezes, the TTL it announced expires and we drop the connection."""
    async with zmtp.Socket(zmtp.DEALER, linger=0) as sock:
        events = sock.events()
        endpoint = await sock.bind("tcp://127.0.0.1:*")
        proc = subprocess.Popen([sys.executable, "-c", _PEER_SCRIPT, endpoint, "100", "1000"],
                                stdout=subprocess.PIPE)
        try:
            assert await trecv(sock, timeout=20) == [b"ready"]
            await trio.sleep(1.5)  # longer than the TTL: its PINGs keep the connection up
            assert EventKind.DISCONNECTED not in _drain(events)
            os.kill(proc.pid, signal.SIGSTOP)
            start = trio.current_time()
            event = await _wait_event(events, EventKind.DISCONNECTED, 10)
            assert "TTL" in event.reason
            assert trio.current_time() - start < 4.0
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()



def _slow_ponger(listener: stdlib_socket.socket, stop: threading.Event) -> None:
    """A bare ZMTP peer on a thread of its own: completes the handshake, then answers
    every PING 0.2 s late (so one of ours is nearly always unanswered) until ``stop``."""
    peer, _ = listener.accept()
    with peer:
        peer.settimeout(0.01)
        conn = Connection(SocketType.DEALER)
        due: list[tuple[float, bytes]] = []
        while not stop.is_set():
            try:
                data = peer.recv(65536)
            except TimeoutError:
                data = None
            if data == b"":
                return
            if data:
                conn.receive_data(data)
            out = b"".join(bytes(chunk) for chunk in conn.data_to_send())
            if out:
                delay = 0.2 if conn.handshake_complete else 0.0
                due.append((time.monotonic() + delay, out))
            while due and due[0][0] <= time.monotonic():
                peer.sendall(due.pop(0)[1])


async def test_stall_of_our_process_does_not_time_out_an_answering_peer() -> None:
    """Our event loop stalls (a blocking call in some task) for longer than the heartbeat
    timeout while the peer's PONGs keep coming: the time we did not run is not the
    peer's silence, whichever of watchdog and reader runs first after the stall."""
    listener = stdlib_socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    thread = threading.Thread(target=_slow_ponger, args=(listener, stop), daemon=True)
    thread.start()
    try:
        async with zmtp.Socket(zmtp.DEALER, linger=0, heartbeat_ivl=0.05,
                               heartbeat_timeout=0.3) as sock:
            events = sock.events()
            await sock.connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
            await _wait_event(events, EventKind.HANDSHAKE_SUCCEEDED, 5)
            for _ in range(6):
                await trio.sleep(0.25)  # PINGs go out, PONGs come back 0.2 s later
                time.sleep(0.6)  # the loop is blocked past the timeout
            await trio.sleep(0.25)
            kinds = _drain(events)
            assert EventKind.DISCONNECTED not in kinds, kinds
    finally:
        stop.set()
        thread.join(5)
        listener.close()
