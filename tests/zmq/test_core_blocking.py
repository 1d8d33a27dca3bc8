"""zmtp.zmq's blocking Context/Socket and the driver under them, zmtp.zmq against itself.

Each pattern pair over tcp, ipc and inproc, both bind directions; multipart and large
messages; HWM, timeouts, state errors, close/term/linger; options; monitor events; the
fast path's promise that a send with room and a recv with a message wake no other thread.
"""

from __future__ import annotations

import errno
import select
import socket as stdlib_socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import zmtp.zmq as zmq

PAIRS = [
    ("PUSH", "PULL"),
    ("REQ", "REP"),
    ("DEALER", "ROUTER"),
    ("REQ", "ROUTER"),
    ("DEALER", "REP"),
    ("PAIR", "PAIR"),
    ("PUB", "SUB"),
    ("XPUB", "XSUB"),
    ("DEALER", "DEALER"),
]


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def _endpoint(transport: str, tmp_path: Path, name: str = "s") -> str:
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    if transport == "ipc":
        return f"ipc://{tmp_path}/{name}.sock"
    return f"inproc://{name}-{time.monotonic_ns()}"


def _pair(ctx: zmq.Context, a_type: str, b_type: str, transport: str, tmp_path: Path,
          a_binds: bool) -> tuple[Any, Any]:
    a = ctx.socket(getattr(zmq, a_type))
    b = ctx.socket(getattr(zmq, b_type))
    for s in (a, b):
        s.linger = 0
        s.rcvtimeo = 5000
        s.sndtimeo = 5000
    binder, connecter = (a, b) if a_binds else (b, a)
    binder.bind(_endpoint(transport, tmp_path))
    connecter.connect(binder.last_endpoint.decode())
    return a, b


def _exchange(a: Any, b: Any, a_type: str, b_type: str) -> None:
    """One message each way the pattern allows, checking the envelope handling."""
    if a_type in ("PUB", "XPUB"):
        if b_type == "SUB":
            b.subscribe(b"")
        else:
            # XSUB subscribes with a message; libzmq's XSUB does not replay one sent before
            # its peer connected, so repeat it until the XPUB sees it (only the first shows)
            deadline = time.monotonic() + 5
            while True:
                b.send(b"\x01")
                if a.poll(50):
                    break
                assert time.monotonic() < deadline, "the subscription never arrived"
            assert a.recv() == b"\x01"
        deadline = time.monotonic() + 5
        while True:  # subscriptions travel asynchronously: publish until one arrives
            a.send(b"news")
            if b.poll(50):
                assert b.recv() == b"news"
                return
            assert time.monotonic() < deadline, "no publication arrived"
    envelope = [b""] if (a_type, b_type) == ("DEALER", "REP") else []
    a.send_multipart([*envelope, b"hello", b"world"])
    got = b.recv_multipart()
    if b_type == "ROUTER":
        routing_id = got[0]
        body = got[1:]
        if a_type == "REQ":
            assert body == [b"", b"hello", b"world"]
            b.send_multipart([routing_id, b"", b"back"])
        else:
            assert body == [b"hello", b"world"]
            b.send_multipart([routing_id, b"back"])
    else:
        assert got == [b"hello", b"world"]
        if b_type == "PULL":
            return
        b.send(b"back")
    if a_type == "DEALER" and b_type == "REP":
        assert a.recv_multipart() == [b"", b"back"]
    else:
        assert a.recv() == b"back"


@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
@pytest.mark.parametrize("a_binds", [True, False], ids=["a-binds", "b-binds"])
@pytest.mark.parametrize(("a_type", "b_type"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_pattern_pairs(ctx: zmq.Context, tmp_path: Path, transport: str, a_binds: bool,
                       a_type: str, b_type: str) -> None:
    a, b = _pair(ctx, a_type, b_type, transport, tmp_path, a_binds)
    _exchange(a, b, a_type, b_type)


def test_sndmore_rcvmore_and_frames(ctx: zmq.Context, tmp_path: Path) -> None:
    a, b = _pair(ctx, "PAIR", "PAIR", "tcp", tmp_path, True)
    a.send(b"one", zmq.SNDMORE)
    a.send(bytearray(b"two"), zmq.SNDMORE)
    a.send(memoryview(b"three"))
    assert b.recv() == b"one"
    assert b.rcvmore == 1
    frame = b.recv(copy=False)
    assert isinstance(frame, zmq.Frame) and frame.more and frame.bytes == b"two"
    assert b.getsockopt(zmq.RCVMORE) == 1
    assert b.recv() == b"three"
    assert b.getsockopt(zmq.RCVMORE) == 0
    a.send_multipart([b"x", zmq.Frame(b"y")])
    frames = b.recv_multipart(copy=False)
    assert [f.bytes for f in frames] == [b"x", b"y"] and [f.more for f in frames] == [True, False]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_one_mebibyte(ctx: zmq.Context, tmp_path: Path, transport: str) -> None:
    a, b = _pair(ctx, "PUSH", "PULL", transport, tmp_path, False)
    payload = bytes(range(256)) * 4096
    for _ in range(3):
        a.send(payload, copy=False)
    for _ in range(3):
        assert b.recv() == payload


def test_sugar(ctx: zmq.Context, tmp_path: Path) -> None:
    a, b = _pair(ctx, "PAIR", "PAIR", "tcp", tmp_path, True)
    a.send_string("héllo")
    assert b.recv_string() == "héllo"
    a.send_json({"a": [1, 2]})
    assert b.recv_json() == {"a": [1, 2]}
    a.send_pyobj({1, 2})
    assert b.recv_pyobj() == {1, 2}
    a.send_serialized("x,y", lambda s: [p.encode() for p in s.split(",")])
    assert b.recv_serialized(lambda frames: b"+".join(frames)) == b"x+y"
    buf = bytearray(4)
    a.send(b"123456")
    assert b.recv_into(buf) == 6 and buf == b"1234"
    with pytest.raises(TypeError):
        a.send("text")  # type: ignore[arg-type]


def test_noblock_and_timeouts(ctx: zmq.Context) -> None:
    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    pull.bind("tcp://127.0.0.1:*")
    with pytest.raises(zmq.Again):
        pull.recv(zmq.NOBLOCK)
    with pytest.raises(zmq.Again):
        pull.recv(zmq.DONTWAIT)
    pull.rcvtimeo = 50
    start = time.monotonic()
    with pytest.raises(zmq.Again) as info:
        pull.recv()
    assert time.monotonic() - start >= 0.04
    assert info.value.errno == zmq.EAGAIN
    assert info.value.strerror == "Resource temporarily unavailable"
    push = ctx.socket(zmq.PUSH)  # no peer at all: a send cannot be queued anywhere
    push.linger = 0
    with pytest.raises(zmq.Again):
        push.send(b"x", zmq.NOBLOCK)
    push.sndtimeo = 30
    with pytest.raises(zmq.Again):
        push.send(b"x")


def test_sndhwm_blocks_then_again(ctx: zmq.Context) -> None:
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.sndhwm = 5
    push.connect("tcp://127.0.0.1:1")  # nothing listens: messages stay queued
    for _ in range(5):
        push.send(b"m", zmq.NOBLOCK)
    with pytest.raises(zmq.Again):
        push.send(b"m", zmq.NOBLOCK)
    assert push.getsockopt(zmq.EVENTS) & zmq.POLLOUT == 0


def test_hwm_backpressure_end_to_end(ctx: zmq.Context) -> None:
    """A slow receiver: the sender's queue fills, blocks, and drains as it reads."""
    pull = ctx.socket(zmq.PULL)
    push = ctx.socket(zmq.PUSH)
    for s in (pull, push):
        s.linger = 0
        s.hwm = 10
    pull.rcvtimeo = push.sndtimeo = 5000
    pull.bind("tcp://127.0.0.1:*")
    push.connect(pull.last_endpoint)
    sent = 0
    payload = b"x" * 100_000
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            push.send(payload, zmq.NOBLOCK)
            sent += 1
        except zmq.Again:
            if push.poll(200, zmq.POLLOUT) == 0:
                break
    assert 20 <= sent < 2000  # bounded by both HWMs and the socket buffers
    for _ in range(sent):
        assert len(pull.recv()) == 100_000
    push.send(b"after")
    assert pull.recv() == b"after"


def test_req_state_errors(ctx: zmq.Context) -> None:
    req = ctx.socket(zmq.REQ)
    rep = ctx.socket(zmq.REP)
    with pytest.raises(zmq.ZMQError) as info:
        req.recv()
    assert info.value.errno == zmq.EFSM
    with pytest.raises(zmq.ZMQError) as info:
        rep.send(b"x")
    assert info.value.errno == zmq.EFSM
    rep.bind("inproc://req-state")
    req.connect("inproc://req-state")
    req.send(b"a")
    with pytest.raises(zmq.ZMQError) as info:
        req.send(b"b")
    assert info.value.errno == zmq.EFSM
    for s in (req, rep):
        s.close(linger=0)


def test_closed_socket_enotsock(ctx: zmq.Context) -> None:
    s = ctx.socket(zmq.PUSH)
    s.close()
    assert s.closed
    for call in (lambda: s.send(b"x"), lambda: s.recv(), lambda: s.bind("inproc://x"),
                 lambda: s.getsockopt(zmq.LINGER)):
        with pytest.raises(zmq.ZMQError) as info:
            call()
        assert info.value.errno == zmq.ENOTSOCK
    s.close()  # twice is fine


def test_options_and_attributes(ctx: zmq.Context) -> None:
    s = ctx.socket(zmq.DEALER)
    assert s.linger == -1 and s.rcvtimeo == -1 and s.sndhwm == 1000 and s.hwm == 1000
    s.linger = 0
    s.rcvtimeo = 1500
    s.hwm = 7
    s.routing_id = b"me"
    assert (s.linger, s.rcvtimeo, s.sndhwm, s.rcvhwm) == (0, 1500, 7, 7)
    assert s.identity == b"me" and s.getsockopt(zmq.ROUTING_ID) == b"me"
    assert s.getsockopt(zmq.TYPE) == zmq.DEALER == s.socket_type
    s.setsockopt_string(zmq.ROUTING_ID, "you")
    assert s.getsockopt_string(zmq.ROUTING_ID) == "you"
    s.set(zmq.RECONNECT_IVL, 250)
    assert s.get(zmq.RECONNECT_IVL) == 250
    s.tcp_keepalive_idle = 30  # accepted and remembered, as libzmq does
    assert s.tcp_keepalive_idle == 30
    with pytest.raises(zmq.ZMQError) as info:
        s.setsockopt(9999, 1)
    assert info.value.errno == zmq.EINVAL
    with pytest.raises(AttributeError):
        s.no_such_option = 1
    sub = ctx.socket(zmq.SUB)
    sub.subscribe("topic")
    sub.unsubscribe(b"topic")
    with pytest.raises(TypeError):
        sub.setsockopt(zmq.SUBSCRIBE, "text")
    ctx.linger = 0  # context default for sockets made later
    assert ctx.socket(zmq.PUSH).linger == 0


def test_bind_forms_and_unbind(ctx: zmq.Context, tmp_path: Path) -> None:
    s = ctx.socket(zmq.PULL)
    s.linger = 0
    port = s.bind_to_random_port("tcp://127.0.0.1")
    assert s.last_endpoint == f"tcp://127.0.0.1:{port}".encode()
    s.bind("tcp://*:*")
    assert s.last_endpoint.startswith(b"tcp://0.0.0.0:")
    s.bind("ipc://*")
    wild_ipc = s.last_endpoint.decode()
    assert wild_ipc.startswith("ipc://") and not wild_ipc.endswith("*")
    path = f"ipc://{tmp_path}/b.sock"
    with s.bind(path):
        assert Path(path[6:]).exists()
    assert not Path(path[6:]).exists()  # the context manager unbound it
    other = ctx.socket(zmq.PULL)
    other.linger = 0
    with pytest.raises(zmq.ZMQError) as info:
        other.bind(f"tcp://127.0.0.1:{port}")
    assert info.value.errno == zmq.EADDRINUSE
    with pytest.raises(zmq.ZMQError) as info:
        other.bind("bogus://x")
    assert info.value.errno == zmq.EPROTONOSUPPORT
    with pytest.raises(zmq.ZMQError) as info:
        other.unbind("tcp://127.0.0.1:1")
    assert info.value.errno == errno.ENOENT
    s.unbind(f"tcp://127.0.0.1:{port}")
    other.bind(f"tcp://127.0.0.1:{port}")  # free again


def test_inproc_connect_before_bind(ctx: zmq.Context) -> None:
    push = ctx.socket(zmq.PUSH)
    push.connect("inproc://later")
    push.send(b"early")
    pull = ctx.socket(zmq.PULL)
    pull.rcvtimeo = 2000
    pull.bind("inproc://later")
    assert pull.recv() == b"early"
    for s in (push, pull):
        s.close(linger=0)


def test_tcp_connect_before_bind_and_reconnect(ctx: zmq.Context) -> None:
    probe = stdlib_socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    endpoint = f"tcp://127.0.0.1:{port}"
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.reconnect_ivl = 20
    push.connect(endpoint)
    push.send(b"queued before bind")
    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    pull.rcvtimeo = 5000
    pull.bind(endpoint)
    assert pull.recv() == b"queued before bind"
    pull.close()
    pull = ctx.socket(zmq.PULL)  # the peer comes back on the same port
    pull.linger = 0
    pull.rcvtimeo = 200
    deadline = time.monotonic() + 10
    while True:
        try:
            pull.bind(endpoint)
            break
        except zmq.ZMQError:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    got = None
    while got is None and time.monotonic() < deadline:
        push.send(b"again", zmq.NOBLOCK)
        try:
            got = pull.recv()
        except zmq.Again:
            pass
    assert got == b"again"


def test_poll_and_events_and_fd(ctx: zmq.Context) -> None:
    a = ctx.socket(zmq.PAIR)
    b = ctx.socket(zmq.PAIR)
    for s in (a, b):
        s.linger = 0
    a.bind("tcp://127.0.0.1:*")
    b.connect(a.last_endpoint)
    assert b.poll(0) == 0
    fd = b.fd
    assert isinstance(fd, int) and b.getsockopt(zmq.FD) == fd
    b.getsockopt(zmq.EVENTS)  # drains the edge
    a.send(b"wake")
    deadline = time.monotonic() + 5
    while True:  # edge-triggered, as libzmq's ZMQ_FD: wait, then look at EVENTS
        readable, _, _ = select.select([fd], [], [], 5)
        assert readable == [fd]
        if b.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            break
        assert time.monotonic() < deadline
    assert b.poll(1000) == zmq.POLLIN
    assert b.poll(1000, zmq.POLLOUT) == zmq.POLLOUT
    assert b.recv() == b"wake"
    assert b.getsockopt(zmq.EVENTS) == zmq.POLLOUT


def test_term_blocks_until_closed_and_wakes_blocked_recv() -> None:
    ctx = zmq.Context()
    waiting = ctx.socket(zmq.PULL)
    waiting.bind("tcp://127.0.0.1:*")
    outcome: list[BaseException] = []
    entered = threading.Event()

    def blocked_recv() -> None:
        entered.set()
        try:
            waiting.recv()
        except zmq.ZMQError as exc:
            outcome.append(exc)
        waiting.close()

    other = ctx.socket(zmq.PUSH)
    thread = threading.Thread(target=blocked_recv)
    thread.start()
    entered.wait(5)
    time.sleep(0.05)  # let it block in recv (it raises ETERM however late it arrives)
    closer = threading.Timer(0.2, other.close)
    closer.start()
    start = time.monotonic()
    ctx.term()
    assert time.monotonic() - start >= 0.15  # waited for `other` to be closed
    thread.join(5)
    closer.join(5)
    assert len(outcome) == 1 and isinstance(outcome[0], zmq.ContextTerminated)
    assert outcome[0].errno == zmq.ETERM
    assert ctx.closed
    with pytest.raises(zmq.ZMQError):
        ctx.socket(zmq.PUSH)


def test_linger_delivers_queued_messages_on_close() -> None:
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.rcvtimeo = 5000
    pull.bind("tcp://127.0.0.1:*")
    push = ctx.socket(zmq.PUSH)
    push.connect(pull.last_endpoint)
    for i in range(200):
        push.send(b"%d" % i)
    push.close()  # linger -1: keeps sending in the background
    assert [pull.recv() for _ in range(200)] == [b"%d" % i for i in range(200)]
    pull.close()
    ctx.term()


def test_linger_zero_drops_and_term_returns() -> None:
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.connect("tcp://127.0.0.1:1")
    push.send(b"never delivered")
    push.close(linger=0)
    start = time.monotonic()
    ctx.term()
    assert time.monotonic() - start < 5


def test_context_manager_instance_and_destroy() -> None:
    with zmq.Context() as ctx:
        s = ctx.socket(zmq.PUB)
        s.bind("tcp://127.0.0.1:*")
    assert ctx.closed and s.closed
    first = zmq.Context.instance()
    assert zmq.Context.instance() is first
    first.term()
    assert zmq.Context.instance() is not first
    zmq.Context.instance().term()


def test_monitor_events(ctx: zmq.Context) -> None:
    rep = ctx.socket(zmq.REP)
    req = ctx.socket(zmq.REQ)
    for s in (rep, req):
        s.linger = 0
    mon = req.get_monitor_socket()
    mon.rcvtimeo = 5000
    rep.bind("tcp://127.0.0.1:*")
    endpoint = rep.last_endpoint.decode()
    req.connect(endpoint)
    seen: list[int] = []
    while zmq.EVENT_HANDSHAKE_SUCCEEDED not in seen:
        frames = mon.recv_multipart()
        event, _value = struct.unpack("<HI", frames[0])
        assert frames[1].decode() == endpoint
        seen.append(event)
    assert zmq.EVENT_CONNECTED in seen
    req.disable_monitor()
    event, _ = struct.unpack("<HI", mon.recv_multipart()[0])
    assert event == zmq.EVENT_MONITOR_STOPPED


def test_handshake_timeout_drops_silent_peer(ctx: zmq.Context) -> None:
    rep = ctx.socket(zmq.REP)
    rep.linger = 0
    rep.handshake_ivl = 100
    mon = rep.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_ACCEPTED)
    mon.rcvtimeo = 5000
    rep.bind("tcp://127.0.0.1:*")
    host, port = rep.last_endpoint.decode()[6:].rsplit(":", 1)
    silent = stdlib_socket.create_connection((host, int(port)))
    try:
        events = [struct.unpack("<HI", mon.recv_multipart()[0])[0] for _ in range(2)]
        assert events == [zmq.EVENT_ACCEPTED, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL]
        silent.settimeout(5)
        data = silent.recv(4096)  # our greeting; then the connection is closed
        while data:
            data = silent.recv(4096)
    finally:
        silent.close()


def test_heartbeat_closes_dead_peer(ctx: zmq.Context) -> None:
    """A peer that completes the handshake and then goes silent is dropped after the
    heartbeat timeout (DISCONNECTED on the monitor)."""
    dealer = ctx.socket(zmq.DEALER)
    dealer.linger = 0
    dealer.heartbeat_ivl = 50
    dealer.heartbeat_timeout = 200
    mon = dealer.get_monitor_socket(zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED)
    mon.rcvtimeo = 5000
    dealer.bind("tcp://127.0.0.1:*")
    host, port = dealer.last_endpoint.decode()[6:].rsplit(":", 1)
    raw = stdlib_socket.create_connection((host, int(port)))
    try:
        # a ZMTP 3.0 NULL greeting and READY(Socket-Type=DEALER), then nothing at all
        raw.sendall(b"\xff" + b"\x00" * 8 + b"\x7f\x03\x00NULL" + b"\x00" * 16 + b"\x00" * 32)
        ready = b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", 6) + b"DEALER"
        raw.sendall(bytes([0x04, len(ready)]) + ready)
        events = [struct.unpack("<HI", mon.recv_multipart()[0])[0] for _ in range(2)]
        assert events == [zmq.EVENT_HANDSHAKE_SUCCEEDED, zmq.EVENT_DISCONNECTED]
    finally:
        raw.close()


def test_fast_path_wakes_no_other_thread(ctx: zmq.Context) -> None:
    """A burst of sends with room costs at most one I/O-thread wake-up per burst, and a
    recv with a message waiting costs none."""
    pull = ctx.socket(zmq.PULL)
    push = ctx.socket(zmq.PUSH)
    for s in (pull, push):
        s.linger = 0
        s.hwm = 0
    pull.rcvtimeo = 5000
    pull.bind("tcp://127.0.0.1:*")
    push.connect(pull.last_endpoint)
    push.send(b"warm-up")
    assert pull.recv() == b"warm-up"
    loop = ctx._shared.driver.loop
    assert loop is not None
    calls = 0
    original = loop.call_soon_threadsafe

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(*args, **kwargs)

    loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
    try:
        count = 2000
        for i in range(count):
            push.send(b"%d" % i)
        sends_wakes = calls
        got = 0
        while got < count:
            pull.poll(5000)
            calls_before = calls
            while True:
                try:
                    pull.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                got += 1
            assert calls == calls_before  # receiving queued messages woke nobody
    finally:
        del loop.call_soon_threadsafe
    assert sends_wakes < count // 10, f"{sends_wakes} wake-ups for {count} sends"


def test_order_kept_across_direct_and_batched_writes(ctx: zmq.Context) -> None:
    """Sends alternate between the direct write (idle connection, after a pause or a
    recv) and the I/O thread's batched writes, with large frames that cannot be written
    in one go: the receiver must still see every message once, in order."""
    pull = ctx.socket(zmq.PULL)
    push = ctx.socket(zmq.PUSH)
    for s in (pull, push):
        s.linger = 0
    pull.rcvtimeo = 10000
    pull.bind("tcp://127.0.0.1:*")
    push.connect(pull.last_endpoint)
    big = b"B" * 300_000
    expected: list[bytes] = []
    for round_ in range(30):
        for i in range(round_ % 7 + 1):
            body = b"%d:%d" % (round_, i)
            message = body + big if i % 3 == 0 else body
            push.send(message)
            expected.append(message)
        time.sleep(0.0002 * (round_ % 3))  # a pause makes the next send a direct write
    got = [pull.recv() for _ in expected]
    assert [g[:8] for g in got] == [e[:8] for e in expected]
    assert got == expected


def test_track_reports_when_the_message_is_written(ctx: zmq.Context) -> None:
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.copy_threshold = 0
    probe = stdlib_socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    push.connect(f"tcp://127.0.0.1:{port}")
    small = push.send(b"small", copy=True, track=True)
    assert small is not None and small.done  # copied: done at once, as pyzmq
    tracker = push.send(b"x" * 100, copy=False, track=True)
    assert tracker is not None
    time.sleep(0.05)
    assert not tracker.done  # nobody listens yet: still queued
    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    pull.rcvtimeo = 5000
    pull.bind(f"tcp://127.0.0.1:{port}")
    assert pull.recv() == b"small"
    assert pull.recv() == b"x" * 100
    tracker.wait(5)
    assert tracker.done
    with pytest.raises(ValueError):
        push.send(zmq.Frame(b"untracked"), copy=False, track=True)


def test_no_fd_leak_over_connection_cycles() -> None:
    """Listeners, connections and the direct-write fd duplicates are all released."""
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.exists():
        pytest.skip("needs /proc")
    ctx = zmq.Context()
    warm = ctx.socket(zmq.PAIR)
    warm.bind("tcp://127.0.0.1:*")  # starts the I/O thread (its own fds stay)
    before = len(list(fd_dir.iterdir()))
    for _ in range(15):
        rep = ctx.socket(zmq.REP)
        req = ctx.socket(zmq.REQ)
        rep.rcvtimeo = req.rcvtimeo = 5000
        rep.bind("tcp://127.0.0.1:*")
        req.connect(rep.last_endpoint)
        req.send(b"ping")  # a direct write: the duplicate fd exists by now
        rep.send(rep.recv())
        assert req.recv() == b"ping"
        req.close(linger=0)
        rep.close(linger=0)
    deadline = time.monotonic() + 5
    while len(list(fd_dir.iterdir())) > before + 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(list(fd_dir.iterdir())) <= before + 2
    warm.close()
    ctx.term()


@pytest.mark.parametrize("side", ["bind", "connect"])
def test_socket_buffer_and_keepalive_options_applied(ctx: zmq.Context, side: str) -> None:
    """SNDBUF, RCVBUF and TCP_KEEPALIVE reach the connection's OS socket, accepted or
    connected, as libzmq applies them (they were accepted and then ignored)."""
    sock = ctx.socket(zmq.PAIR)
    sock.linger = 0
    sock.sndbuf = 32768
    sock.rcvbuf = 16384
    sock.tcp_keepalive = 1
    peer = ctx.socket(zmq.PAIR)
    peer.linger = 0
    peer.rcvtimeo = 5000
    if side == "bind":
        port = sock.bind_to_random_port("tcp://127.0.0.1")
        peer.connect(f"tcp://127.0.0.1:{port}")
    else:
        port = peer.bind_to_random_port("tcp://127.0.0.1")
        sock.connect(f"tcp://127.0.0.1:{port}")
    sock.send(b"x")
    assert peer.recv() == b"x"
    (engine,) = sock._core.engines
    assert engine.transport is not None
    os_sock = engine.transport.get_extra_info("socket")
    # Linux doubles what it is asked for (bookkeeping overhead).
    assert os_sock.getsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_SNDBUF) in (
        32768, 65536)
    assert os_sock.getsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_RCVBUF) in (
        16384, 32768)
    assert os_sock.getsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_KEEPALIVE) == 1


def test_options_without_behaviour_here_are_refused_not_ignored(ctx: zmq.Context) -> None:
    """An option zmtp.zmq cannot honour fails loudly when set to anything but libzmq's
    default; CURVE/GSSAPI fail as in a libzmq built without them."""
    xpub = ctx.socket(zmq.XPUB)
    router = ctx.socket(zmq.ROUTER)
    for sock, option, value in [(xpub, zmq.XPUB_MANUAL_LAST_VALUE, 1),
                                (router, zmq.SOCKS_PROXY, b"127.0.0.1:1080")]:
        default = sock.getsockopt(option)
        with pytest.raises(zmq.ZMQError, match="does not implement") as info:
            sock.setsockopt(option, value)
        assert info.value.errno == errno.EINVAL
        sock.setsockopt(option, default)  # the default is what happens anyway
        assert sock.getsockopt(option) == default
    assert not zmq.has("curve")
    for option, value in [(zmq.CURVE_SERVER, 1), (zmq.CURVE_SECRETKEY, b"x" * 32),
                          (zmq.GSSAPI_SERVER, 1)]:
        with pytest.raises(zmq.ZMQError, match="NULL and PLAIN only") as info:
            router.setsockopt(option, value)
        assert info.value.errno == errno.EINVAL
    with pytest.raises(zmq.ZMQError):
        router.getsockopt(zmq.CURVE_SERVER)
    router.setsockopt(zmq.IPV4ONLY, 0)  # the older spelling of IPV6=1
    assert router.getsockopt(zmq.IPV6) == 1 and router.getsockopt(zmq.IPV4ONLY) == 0
    router.setsockopt(zmq.AFFINITY, 3)  # machine tuning: remembered
    assert router.getsockopt(zmq.AFFINITY) == 3


@pytest.mark.skipif(not hasattr(stdlib_socket, "TCP_KEEPIDLE"), reason="Linux keepalive knobs")
def test_tcp_options_reach_the_connection(ctx: zmq.Context) -> None:
    pull = ctx.socket(zmq.PULL)
    push = ctx.socket(zmq.PUSH)
    for sock in (pull, push):
        sock.linger = 0
        sock.rcvtimeo = sock.sndtimeo = 5000
    push.setsockopt(zmq.TCP_KEEPALIVE, 1)
    push.setsockopt(zmq.TCP_KEEPALIVE_IDLE, 42)
    push.setsockopt(zmq.TCP_KEEPALIVE_INTVL, 6)
    push.setsockopt(zmq.TCP_KEEPALIVE_CNT, 3)
    push.setsockopt(zmq.TCP_MAXRT, 1500)
    push.setsockopt(zmq.SNDBUF, 100_000)
    assert push.getsockopt(zmq.TCP_MAXRT) == 1500
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    push.connect(f"tcp://127.0.0.1:{port}")
    push.send(b"x")
    assert pull.recv() == b"x"
    (engine,) = push._core.engines
    sock = engine.transport.get_extra_info("socket")
    tcp = stdlib_socket.IPPROTO_TCP
    assert sock.getsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_KEEPALIVE) == 1
    assert sock.getsockopt(tcp, stdlib_socket.TCP_KEEPIDLE) == 42
    assert sock.getsockopt(tcp, stdlib_socket.TCP_KEEPINTVL) == 6
    assert sock.getsockopt(tcp, stdlib_socket.TCP_KEEPCNT) == 3
    assert sock.getsockopt(tcp, stdlib_socket.TCP_USER_TIMEOUT) == 1500
    # Linux doubles SO_SNDBUF for its bookkeeping
    assert sock.getsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_SNDBUF) == 200_000


def test_probe_router_and_welcome_message_reach_pyzmq(ctx: zmq.Context) -> None:
    import zmq as pyzmq

    reference = pyzmq.Context()
    try:
        router = reference.socket(pyzmq.ROUTER)
        sub = reference.socket(pyzmq.SUB)
        for sock in (router, sub):
            sock.linger = 0
            sock.rcvtimeo = 5000
        sub.subscribe(b"")
        router_port = router.bind_to_random_port("tcp://127.0.0.1")
        sub_port = sub.bind_to_random_port("tcp://127.0.0.1")
        dealer = ctx.socket(zmq.DEALER)
        dealer.linger = 0
        dealer.routing_id = b"d"
        dealer.probe_router = 1
        dealer.connect(f"tcp://127.0.0.1:{router_port}")
        assert router.recv_multipart() == [b"d", b""]
        xpub = ctx.socket(zmq.XPUB)
        xpub.linger = 0
        xpub.setsockopt(zmq.XPUB_WELCOME_MSG, b"Welcome")
        assert xpub.getsockopt(zmq.XPUB_WELCOME_MSG) == b"Welcome"
        xpub.connect(f"tcp://127.0.0.1:{sub_port}")
        assert sub.recv_multipart() == [b"Welcome"]
        router.close()
        sub.close()
    finally:
        reference.term()


def test_large_frames_reach_the_transport_unjoined_and_connections_share_a_read_buffer(
    ctx: zmq.Context,
) -> None:
    """asyncio's writelines joins (copies) everything; large frames go to the transport
    as views of their own, small ones joined into one write. And the read buffer is one
    per I/O thread, not 256 KiB per connection (1,000 idle connections must stay small)."""
    from zmtp.zmq._core import engine as engine_module

    writes: list[object] = []

    class Recorder:
        def write(self, data: object) -> None:
            writes.append(data)

    big = b"\xa5" * (1 << 20)
    engine_module._write_buffers(Recorder(), [b"\x02\x08", b"head", b"\x06", big, b"\x00"])  # type: ignore[arg-type]
    assert [type(w).__name__ for w in writes] == ["bytes", "memoryview", "bytes"]
    assert writes[0] == b"\x02\x08head\x06" and writes[1] == big and writes[2] == b"\x00"

    pull = ctx.socket(zmq.PULL)
    pushes = [ctx.socket(zmq.PUSH) for _ in range(3)]
    for sock in (pull, *pushes):
        sock.linger = 0
        sock.rcvtimeo = sock.sndtimeo = 5000
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    for push in pushes:
        push.connect(f"tcp://127.0.0.1:{port}")
        push.send(b"x")
    assert [pull.recv() for _ in pushes] == [b"x"] * 3
    buffers = {id(engine._buf) for engine in pull._core.engines}
    buffers |= {id(engine._buf) for push in pushes for engine in push._core.engines}
    assert len(buffers) == 1
