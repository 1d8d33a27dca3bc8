"""Socket behaviour between zmtp sockets: queues, timeouts, cancellation, connection life."""

from __future__ import annotations

import socket as stdlib_socket
import subprocess
import sys
from pathlib import Path

import pytest
import trio

import zmtp
from zmtp.monitor import EventKind
from zmtp.patterns import StateError

TRANSPORTS = ["tcp", "ipc", "inproc"]


def endpoint_for(transport: str, tmp_path: Path, name: str = "a") -> str:
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    if transport == "ipc":
        return f"ipc://{tmp_path}/{name}.sock"
    return f"inproc://{tmp_path.name}-{name}"


async def wait_for_event(channel: trio.MemoryReceiveChannel, kind: EventKind) -> object:
    async for event in channel:
        if event.kind is kind:
            return event
    raise AssertionError(f"event stream ended before {kind}")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_multipart_roundtrip_each_transport(transport: str, tmp_path: Path) -> None:
    async with zmtp.Socket(zmtp.PULL) as pull, zmtp.Socket(zmtp.PUSH) as push:
        endpoint = await pull.bind(endpoint_for(transport, tmp_path))
        await push.connect(endpoint)
        with trio.fail_after(10):
            await push.send_multipart([b"a", b"", b"c" * 300, bytearray(b"d")])
            assert await pull.recv_multipart() == [b"a", b"", b"c" * 300, b"d"]
            big = bytes(range(256)) * 4096  # 1 MiB
            await push.send(big)
            assert await pull.recv() == big


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_connect_before_bind_then_messages_flow(transport: str, tmp_path: Path) -> None:
    if transport == "tcp":
        probe = stdlib_socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        endpoint = f"tcp://127.0.0.1:{port}"
    else:
        endpoint = endpoint_for(transport, tmp_path)
    with trio.fail_after(10):
        async with zmtp.Socket(zmtp.PUSH, reconnect_ivl=0.02) as push:
            await push.connect(endpoint)
            await push.send(b"queued before the peer existed")
            async with zmtp.Socket(zmtp.PULL) as pull:
                await pull.bind(endpoint)
                assert await pull.recv() == b"queued before the peer existed"


async def test_bind_returns_resolved_endpoint_and_port_zero() -> None:
    async with zmtp.Socket(zmtp.PULL) as pull:
        first = await pull.bind("tcp://127.0.0.1:*")
        second = await pull.bind("tcp://127.0.0.1:0")
        assert first.startswith("tcp://127.0.0.1:") and not first.endswith(":*")
        assert second != first
        assert pull.last_endpoint == second


async def test_bind_every_interface_and_ipv6_loopback() -> None:
    async with zmtp.Socket(zmtp.PULL, ipv6=True) as pull, zmtp.Socket(zmtp.PUSH) as push:
        everywhere = await pull.bind("tcp://*:*")
        port = everywhere.rsplit(":", 1)[1]
        await push.connect(f"tcp://127.0.0.1:{port}")
        with trio.fail_after(5):
            await push.send(b"v4 to dual stack")
            assert await pull.recv() == b"v4 to dual stack"
    if not stdlib_socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    async with zmtp.Socket(zmtp.PULL) as pull, zmtp.Socket(zmtp.PUSH) as push:
        try:
            endpoint = await pull.bind("tcp://[::1]:*")
        except zmtp.EndpointError:
            pytest.skip("::1 is not configured")
        assert endpoint.startswith("tcp://[::1]:")
        await push.connect(endpoint)
        with trio.fail_after(5):
            await push.send(b"v6")
            assert await pull.recv() == b"v6"


async def test_ipc_abstract_namespace(tmp_path: Path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("abstract sockets are Linux only")
    name = f"ipc://@zmtp-test-{tmp_path.name}"
    async with zmtp.Socket(zmtp.PULL) as pull, zmtp.Socket(zmtp.PUSH) as push:
        assert await pull.bind(name) == name
        await push.connect(name)
        with trio.fail_after(5):
            await push.send(b"abstract")
            assert await pull.recv() == b"abstract"


async def test_bad_endpoints_raise_endpoint_error(tmp_path: Path) -> None:
    async with zmtp.Socket(zmtp.PULL) as pull:
        for bad in ["tcp://127.0.0.1", "foo://x", "tcp://127.0.0.1:99999", "tcp://::1:5",
                    "ipc://", "inproc://", "127.0.0.1:5555"]:
            with pytest.raises(zmtp.EndpointError):
                await pull.bind(bad)
        taken = await pull.bind("tcp://127.0.0.1:*")
        with pytest.raises(zmtp.EndpointError, match="already in use"):
            await pull.bind(taken)
        await pull.bind(f"inproc://{tmp_path.name}")
        async with zmtp.Socket(zmtp.PULL) as other:
            with pytest.raises(zmtp.EndpointError, match="already in use"):
                await other.bind(f"inproc://{tmp_path.name}")
        with pytest.raises(zmtp.EndpointError):
            await pull.unbind("tcp://127.0.0.1:1")
        with pytest.raises(zmtp.EndpointError):
            await pull.disconnect("tcp://127.0.0.1:1")


async def test_unknown_option_and_bad_values_are_refused() -> None:
    with pytest.raises(TypeError, match="unknown socket option"):
        zmtp.Socket(zmtp.PUSH, sndhwn=10)
    with pytest.raises(ValueError, match="sndhwm"):
        zmtp.Socket(zmtp.PUSH, sndhwm=-1)
    sock = zmtp.Socket(zmtp.PUSH, linger=0.5)
    assert sock.linger == 0.5
    sock.sndhwm = 7
    assert sock.sndhwm == 7
    assert sock.rcvhwm == 1000 and sock.linger == 0.5
    with pytest.raises(TypeError, match="bytes, not str"):
        async with zmtp.Socket(zmtp.PUSH) as push:
            push.send_nowait("text")  # type: ignore[arg-type]


@pytest.mark.parametrize("transport", ["tcp", "inproc"])
async def test_push_blocks_at_hwm_and_send_nowait_raises_again(
    transport: str, tmp_path: Path
) -> None:
    async with zmtp.Socket(zmtp.PULL, rcvhwm=5) as pull, \
            zmtp.Socket(zmtp.PUSH, sndhwm=5, linger=0) as push:
        endpoint = await pull.bind(endpoint_for(transport, tmp_path))
        await push.connect(endpoint)
        sent = 0
        with trio.move_on_after(1.0):
            while True:
                await push.send(b"x" * 100_000 if transport == "tcp" else b"x")
                sent += 1
        # Nobody reads: the send blocked, with the number queued bounded by the HWMs
        # (plus what the kernel's socket buffers hold for tcp).
        assert 5 <= sent < 200
        with pytest.raises(zmtp.Again):
            push.send_nowait(b"x")
        received = 0
        with trio.fail_after(10):
            while received < sent:
                await pull.recv()
                received += 1


async def test_push_with_no_peer_blocks_until_sndtimeo() -> None:
    async with zmtp.Socket(zmtp.PUSH, sndtimeo=0.05) as push:
        await push.bind("tcp://127.0.0.1:*")
        with pytest.raises(zmtp.Again, match="sndtimeo"):
            await push.send(b"nobody")
        with pytest.raises(zmtp.Again):
            push.send_nowait(b"nobody")


async def test_recv_timeout_and_nowait() -> None:
    async with zmtp.Socket(zmtp.PULL, rcvtimeo=0.05) as pull:
        await pull.bind("tcp://127.0.0.1:*")
        with pytest.raises(zmtp.Again, match="rcvtimeo"):
            await pull.recv()
        with pytest.raises(zmtp.Again):
            pull.recv_nowait()


async def test_cancelled_recv_consumes_nothing_and_cancelled_send_sends_nothing(
    tmp_path: Path,
) -> None:
    endpoint = endpoint_for("inproc", tmp_path)
    async with zmtp.Socket(zmtp.PULL) as pull, zmtp.Socket(zmtp.PUSH, sndhwm=1) as push:
        await pull.bind(endpoint)
        with trio.move_on_after(0.05) as scope:
            await pull.recv()
        assert scope.cancelled_caught
        await push.connect(endpoint)
        await push.send(b"first")
        assert await pull.recv() == b"first"
    async with zmtp.Socket(zmtp.PUSH, sndhwm=1, linger=0) as push:
        await push.bind("tcp://127.0.0.1:*")
        with trio.move_on_after(0.05) as scope:
            await push.send(b"never")
        assert scope.cancelled_caught
        with pytest.raises(zmtp.Again):
            push.send_nowait(b"still no peer")


async def test_closed_socket_raises_socket_closed() -> None:
    push = zmtp.Socket(zmtp.PUSH)
    async with push:
        pass
    with pytest.raises(zmtp.SocketClosed):
        await push.send(b"x")
    with pytest.raises(zmtp.SocketClosed):
        await push.bind("tcp://127.0.0.1:*")


async def test_pub_drops_for_stuck_subscriber_and_keeps_feeding_others(tmp_path: Path) -> None:
    endpoint = endpoint_for("tcp", tmp_path)
    async with zmtp.Socket(zmtp.PUB, sndhwm=10) as pub, \
            zmtp.Socket(zmtp.SUB, rcvhwm=10) as stuck, \
            zmtp.Socket(zmtp.SUB) as live:
        endpoint = await pub.bind(endpoint)
        for sub in (stuck, live):
            sub.subscribe(b"")
            await sub.connect(endpoint)
        with trio.fail_after(10):
            # Wait until both subscriptions reached the publisher.
            for sub in (live, stuck):
                while True:
                    await pub.send(b"hello")
                    with trio.move_on_after(0.02):
                        if await sub.recv() == b"hello":
                            break
            count = 20_000
            payload = b"p" * 1000
            got = 0
            done = trio.Event()

            async def reader() -> None:
                nonlocal got
                while True:
                    message = await live.recv()
                    if message == b"end":
                        done.set()
                        return
                    if message == payload:
                        got += 1

            async with trio.open_nursery() as nursery:
                nursery.start_soon(reader)
                for _ in range(count):
                    await pub.send(payload)  # never blocks, whatever the stuck one does
                while not done.is_set():
                    await pub.send(b"end")
                    with trio.move_on_after(0.05):
                        await done.wait()
            assert got > 0
            # The stuck subscriber holds at most what its queues and kernel buffers hold.
            stuck_count = 0
            while True:
                try:
                    stuck.recv_nowait()
                    stuck_count += 1
                except zmtp.Again:
                    break
            assert stuck_count < count


async def test_sub_filters_and_counts_subscriptions(tmp_path: Path) -> None:
    endpoint = endpoint_for("inproc", tmp_path)
    async with zmtp.Socket(zmtp.PUB) as pub, zmtp.Socket(zmtp.SUB, rcvtimeo=0.2) as sub:
        await pub.bind(endpoint)
        await sub.connect(endpoint)
        sub.subscribe(b"a")
        sub.subscribe(b"a")
        await pub.send_multipart([b"abc", b"body"])
        await pub.send(b"bcd")
        assert await sub.recv_multipart() == [b"abc", b"body"]
        with pytest.raises(zmtp.Again):
            await sub.recv()
        sub.unsubscribe(b"a")
        await pub.send(b"a-still")
        assert await sub.recv() == b"a-still"
        sub.unsubscribe(b"a")
        await pub.send(b"a-gone")
        with pytest.raises(zmtp.Again):
            await sub.recv()


async def test_sub_to_everything_filters_again_after_invert_or_unsubscribe(
    tmp_path: Path,
) -> None:
    # Subscribed to everything, a SUB skips its filter; whatever changes that (another
    # subscription removed, invert_matching set) must bring the filter back.
    endpoint = endpoint_for("inproc", tmp_path)
    async with zmtp.Socket(zmtp.PUB) as pub, zmtp.Socket(zmtp.SUB, rcvtimeo=0.2) as sub:
        await pub.bind(endpoint)
        await sub.connect(endpoint)
        sub.subscribe(b"")
        sub.subscribe(b"k")
        await pub.send(b"any")
        assert await sub.recv() == b"any"
        sub.unsubscribe(b"")
        await pub.send(b"other")
        await pub.send(b"kept")
        assert await sub.recv() == b"kept"
        sub.subscribe(b"")
        sub.invert_matching = True  # now only what matches no subscription: nothing
        await pub.send(b"kx")
        await pub.send(b"zz")
        with pytest.raises(zmtp.Again):
            await sub.recv()
        sub.invert_matching = False
        await pub.send(b"back")
        assert await sub.recv() == b"back"


async def test_handshake_timeout_closes_silent_peer() -> None:
    async with zmtp.Socket(zmtp.PULL, handshake_ivl=0.2) as pull:
        events = pull.events()
        endpoint = await pull.bind("tcp://127.0.0.1:*")
        host, port = endpoint[len("tcp://"):].rsplit(":", 1)
        raw = trio.socket.socket()
        await raw.connect((host, int(port)))
        with trio.fail_after(5):
            event = await wait_for_event(events, EventKind.DISCONNECTED)
            assert "handshake" in event.reason  # type: ignore[attr-defined]
            greeting = await raw.recv(64)
            assert greeting[:1] == b"\xff"
            assert await raw.recv(64) in (b"", greeting[10:11], b"\x03")
        raw.close()


async def test_heartbeat_detects_dead_peer() -> None:
    async with zmtp.Socket(zmtp.DEALER, heartbeat_ivl=0.05, heartbeat_timeout=0.2,
                           linger=0) as dealer:
        events = dealer.events()
        listener = trio.socket.socket()
        await listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        await dealer.connect(f"tcp://127.0.0.1:{port}")
        conn, _ = await listener.accept()
        # Play a peer that completes the greeting and READY, then goes silent.
        from zmtp.protocol import Connection, SocketType

        peer = Connection(SocketType.DEALER)
        with trio.fail_after(5):
            for chunk in peer.data_to_send():
                await conn.send(bytes(chunk))
            while not peer.handshake_complete:
                data = await conn.recv(4096)
                peer.receive_data(data)
                for chunk in peer.data_to_send():
                    await conn.send(bytes(chunk))
            event = await wait_for_event(events, EventKind.DISCONNECTED)
            assert "heartbeat" in event.reason  # type: ignore[attr-defined]
        conn.close()
        listener.close()


async def test_heartbeats_keep_idle_connection_up(tmp_path: Path) -> None:
    async with zmtp.Socket(zmtp.PAIR, heartbeat_ivl=0.03, heartbeat_ttl=0.1,
                           heartbeat_timeout=0.1) as a, \
            zmtp.Socket(zmtp.PAIR, heartbeat_ivl=0.03, heartbeat_timeout=0.1) as b:
        events = a.events()
        endpoint = await a.bind("tcp://127.0.0.1:*")
        await b.connect(endpoint)
        await b.send(b"ping")
        assert await a.recv() == b"ping"
        with trio.move_on_after(0.5):
            event = await wait_for_event(events, EventKind.DISCONNECTED)
            pytest.fail(f"idle connection dropped: {event}")
        await a.send(b"still here")
        with trio.fail_after(2):
            assert await b.recv() == b"still here"


async def test_peer_restart_reconnects(tmp_path: Path) -> None:
    endpoint = f"ipc://{tmp_path}/restart.sock"
    async with zmtp.Socket(zmtp.PUSH, reconnect_ivl=0.02, linger=0) as push:
        await push.connect(endpoint)
        for round_ in range(2):
            async with zmtp.Socket(zmtp.PULL, linger=0) as pull:
                await pull.bind(endpoint)
                with trio.fail_after(10):
                    await push.send(f"round {round_}".encode())
                    assert await pull.recv() == f"round {round_}".encode()


async def test_linger_flushes_on_close_and_zero_drops(tmp_path: Path) -> None:
    endpoint = f"ipc://{tmp_path}/linger.sock"
    async with zmtp.Socket(zmtp.PULL) as pull:
        await pull.bind(endpoint)
        async with zmtp.Socket(zmtp.PUSH) as push:  # linger -1: flush everything
            await push.connect(endpoint)
            for index in range(500):
                await push.send(b"%d" % index)
        with trio.fail_after(10):
            for index in range(500):
                assert await pull.recv() == b"%d" % index
    with trio.fail_after(2):
        async with zmtp.Socket(zmtp.PUSH, linger=0) as push:
            await push.connect(f"ipc://{tmp_path}/nobody.sock")
            await push.send(b"dropped at close")
    with trio.fail_after(2):
        async with zmtp.Socket(zmtp.PUSH, linger=0.1) as push:
            await push.connect(f"ipc://{tmp_path}/nobody.sock")
            await push.send(b"dropped after 0.1 s")


async def test_immediate_does_not_queue_to_unconnected_peer(tmp_path: Path) -> None:
    async with zmtp.Socket(zmtp.PUSH, immediate=True, linger=0) as push:
        await push.connect(f"ipc://{tmp_path}/absent.sock")
        with pytest.raises(zmtp.Again):
            push.send_nowait(b"x")
    async with zmtp.Socket(zmtp.PUSH, linger=0) as push:
        await push.connect(f"ipc://{tmp_path}/absent.sock")
        push.send_nowait(b"queued for later")


async def test_conflate_keeps_only_last(tmp_path: Path) -> None:
    endpoint = endpoint_for("inproc", tmp_path)
    async with zmtp.Socket(zmtp.PULL, conflate=True) as pull, \
            zmtp.Socket(zmtp.PUSH) as push:
        await pull.bind(endpoint)
        await push.connect(endpoint)
        for index in range(10):
            await push.send(b"%d" % index)
        assert await pull.recv() == b"9"
        with pytest.raises(zmtp.Again):
            pull.recv_nowait()


async def test_unbind_and_disconnect(tmp_path: Path) -> None:
    async with zmtp.Socket(zmtp.PULL, rcvtimeo=0.2) as pull, \
            zmtp.Socket(zmtp.PUSH, linger=0, reconnect_ivl=0.02) as push:
        endpoint = await pull.bind("tcp://127.0.0.1:*")
        await push.connect(endpoint)
        await push.send(b"before")
        assert await pull.recv() == b"before"
        await pull.unbind(endpoint)
        await push.disconnect(endpoint)
        with pytest.raises(zmtp.Again):
            push.send_nowait(b"after")


async def test_req_strict_alternation(tmp_path: Path) -> None:
    endpoint = endpoint_for("inproc", tmp_path)
    async with zmtp.Socket(zmtp.REP) as rep, zmtp.Socket(zmtp.REQ) as req:
        await rep.bind(endpoint)
        await req.connect(endpoint)
        with pytest.raises(StateError):
            await req.recv()
        await req.send(b"question")
        with pytest.raises(StateError):
            await req.send(b"again")
        assert await rep.recv() == b"question"
        with pytest.raises(StateError):
            await rep.recv()
        await rep.send(b"answer")
        assert await req.recv() == b"answer"


async def test_events_stream_reports_connection_life() -> None:
    async with zmtp.Socket(zmtp.PULL) as pull:
        events = pull.events()
        endpoint = await pull.bind("tcp://127.0.0.1:*")
        async with zmtp.Socket(zmtp.PUSH, linger=0) as push:
            await push.connect(endpoint)
            with trio.fail_after(5):
                kinds = []
                async for event in events:
                    kinds.append(event.kind)
                    if event.kind is EventKind.HANDSHAKE_SUCCEEDED:
                        break
        with trio.fail_after(5):
            await wait_for_event(events, EventKind.DISCONNECTED)
        assert kinds[:2] == [EventKind.LISTENING, EventKind.ACCEPTED]


def test_version_command() -> None:
    result = subprocess.run([sys.executable, "-m", "zmtp", "--version"], capture_output=True,
                            text=True, timeout=30, check=True)
    assert result.stdout.startswith(f"zmtp {zmtp.__version__}")
    assert "3.1" in result.stdout


def test_socket_types_are_libzmq_numbers() -> None:
    types = (zmtp.PAIR, zmtp.PUB, zmtp.SUB, zmtp.REQ, zmtp.REP, zmtp.DEALER, zmtp.ROUTER,
             zmtp.PULL, zmtp.PUSH, zmtp.XPUB, zmtp.XSUB)
    assert types == tuple(range(11))
    assert zmtp.SocketType.PUSH is zmtp.PUSH


async def test_recv_takes_turns_and_wakes_a_reader_held_at_rcvhwm() -> None:
    """Socket.recv's written-out fair-queue step keeps FairQueue's rules: one message per
    pipe per turn, bare and tuple messages alike, and a pipe whose reader waits for room
    (rcvhwm) is read through the pattern so that the reader is woken."""
    from zmtp.pipe import Pipe

    async with zmtp.Socket(zmtp.PULL) as pull:
        pattern = pull._pattern
        pipes = [Pipe(out_limit=0, in_limit=2) for _ in range(3)]
        for pipe in pipes:
            pipe.on_readable = pattern.readable
            pattern.attach(pipe)
        pipes[0].deliver([b"a1", (b"a2",), b"a3"])
        pipes[1].deliver([b"b1"])
        pipes[2].deliver([(b"c1", b"more"), b"c2"])
        woken: list[int] = []
        pipes[0].in_blocked = True  # its reader waits until fewer than 2 are queued
        pipes[0].notify_in_space = lambda: woken.append(0)
        got = [await pull.recv() for _ in range(6)]
        assert got == [b"a1", b"b1", b"c1", b"a2", b"c2", b"a3"]
        assert woken == [0] and not pipes[0].in_blocked
        assert not pattern.fq.active
        pipes[1].deliver([b"b2"])
        assert pull.recv_nowait() == b"b2"
