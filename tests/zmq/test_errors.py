"""The errors a pyzmq program sees — class, errno and text — on pyzmq and zmtp.zmq alike."""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from zmq_face_util import MODULES, bind_connect, configure


@pytest.fixture(params=MODULES)
def zmq(request: pytest.FixtureRequest) -> ModuleType:
    module: ModuleType = request.param
    return module


@pytest.fixture
def ctx(zmq: ModuleType) -> Iterator[Any]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def _errno_of(zmq: ModuleType, fn: Any, *args: Any, **kwargs: Any) -> tuple[int, str, type]:
    with pytest.raises(zmq.ZMQError) as info:
        fn(*args, **kwargs)
    return info.value.errno, str(info.value), type(info.value)  # type: ignore[return-value]


def test_again_on_nonblocking_recv_and_send(zmq: ModuleType, ctx: Any) -> None:
    pull = configure(ctx.socket(zmq.PULL))
    pull.bind("tcp://127.0.0.1:*")
    errno, text, cls = _errno_of(zmq, pull.recv, zmq.NOBLOCK)
    assert (errno, text, cls) == (zmq.EAGAIN, "Resource temporarily unavailable", zmq.Again)
    push = configure(ctx.socket(zmq.PUSH))  # no peer: nowhere to queue
    errno, _, cls = _errno_of(zmq, push.send, b"x", zmq.DONTWAIT)
    assert (errno, cls) == (zmq.EAGAIN, zmq.Again)


def test_rcvtimeo_and_sndtimeo_raise_again(zmq: ModuleType, ctx: Any) -> None:
    pull = configure(ctx.socket(zmq.PULL))
    pull.rcvtimeo = 50
    started = time.monotonic()
    with pytest.raises(zmq.Again):
        pull.recv()
    assert time.monotonic() - started >= 0.04
    push = configure(ctx.socket(zmq.PUSH))
    push.sndtimeo = 50
    with pytest.raises(zmq.Again):
        push.send(b"x")


def test_req_state_machine_is_efsm(zmq: ModuleType, ctx: Any, tmp_path: Path) -> None:
    req = configure(ctx.socket(zmq.REQ))
    rep = configure(ctx.socket(zmq.REP))
    bind_connect(rep, req, "tcp", tmp_path)
    errno, text, _ = _errno_of(zmq, req.recv)
    assert errno == zmq.EFSM
    assert text == "Operation cannot be accomplished in current state"
    req.send(b"one")
    assert _errno_of(zmq, req.send, b"two")[0] == zmq.EFSM
    assert _errno_of(zmq, rep.send, b"early")[0] == zmq.EFSM


def test_closed_socket_is_enotsock(zmq: ModuleType, ctx: Any) -> None:
    s = ctx.socket(zmq.DEALER)
    s.close()
    assert s.closed
    for call, args in ((s.send, (b"x",)), (s.recv, ()), (s.connect, ("tcp://127.0.0.1:1",)),
                       (s.getsockopt, (zmq.LINGER,)), (s.setsockopt, (zmq.LINGER, 0))):
        errno, text, _ = _errno_of(zmq, call, *args)
        assert errno == zmq.ENOTSOCK, call
        assert text.startswith("Socket operation on non-socket")
    s.close()  # closing twice is fine


def test_unsupported_transport_and_bad_endpoint(zmq: ModuleType, ctx: Any) -> None:
    s = configure(ctx.socket(zmq.PUSH))
    assert _errno_of(zmq, s.bind, "bogus://x")[0] == zmq.EPROTONOSUPPORT
    assert _errno_of(zmq, s.connect, "bogus://x")[0] == zmq.EPROTONOSUPPORT
    assert _errno_of(zmq, s.bind, "tcp://127.0.0.1")[0] == zmq.EINVAL  # no port
    assert _errno_of(zmq, s.connect, "tcp://")[0] == zmq.EINVAL


def test_address_in_use(zmq: ModuleType, ctx: Any) -> None:
    a = configure(ctx.socket(zmq.PULL))
    b = configure(ctx.socket(zmq.PULL))
    port = a.bind_to_random_port("tcp://127.0.0.1")
    errno, text, _ = _errno_of(zmq, b.bind, f"tcp://127.0.0.1:{port}")
    assert errno == zmq.EADDRINUSE
    assert text.startswith("Address already in use")
    a.bind("inproc://taken")
    assert _errno_of(zmq, b.bind, "inproc://taken")[0] == zmq.EADDRINUSE


def test_unbind_and_disconnect_unknown_endpoint(zmq: ModuleType, ctx: Any) -> None:
    s = configure(ctx.socket(zmq.PUSH))
    assert _errno_of(zmq, s.unbind, "tcp://127.0.0.1:5")[0] == errno.ENOENT
    assert _errno_of(zmq, s.disconnect, "tcp://127.0.0.1:5")[0] == errno.ENOENT


def test_router_mandatory_unroutable(zmq: ModuleType, ctx: Any) -> None:
    router = configure(ctx.socket(zmq.ROUTER))
    router.setsockopt(zmq.ROUTER_MANDATORY, 1)
    errno, text, _ = _errno_of(zmq, router.send_multipart, [b"nobody", b"x"])
    assert errno == zmq.EHOSTUNREACH
    assert text == "Host unreachable"


def test_send_or_recv_on_one_way_socket(zmq: ModuleType, ctx: Any) -> None:
    s = configure(ctx.socket(zmq.PUSH))
    assert _errno_of(zmq, s.recv)[0] == zmq.ENOTSUP
    pull = configure(ctx.socket(zmq.PULL))
    assert _errno_of(zmq, pull.send, b"x")[0] == zmq.ENOTSUP
    sub = configure(ctx.socket(zmq.SUB))
    assert _errno_of(zmq, sub.send, b"x")[0] == zmq.ENOTSUP


def test_bad_options_and_arguments(zmq: ModuleType, ctx: Any) -> None:
    s = configure(ctx.socket(zmq.PUSH))
    assert _errno_of(zmq, s.getsockopt, 9999)[0] == zmq.EINVAL
    with pytest.raises(zmq.ZMQError):
        s.setsockopt(zmq.SUBSCRIBE, b"only on SUB")
    with pytest.raises(TypeError):
        s.send("text is not bytes")
    with pytest.raises(zmq.ZMQError):
        ctx.socket(9999)


def test_term_interrupts_blocked_recv(zmq: ModuleType) -> None:
    ctx = zmq.Context()
    s = ctx.socket(zmq.PULL)
    s.bind("tcp://127.0.0.1:*")
    caught: list[BaseException] = []
    ready = threading.Event()

    def blocked() -> None:
        ready.set()
        try:
            s.recv()
        except BaseException as exc:
            caught.append(exc)
        finally:
            s.close()

    worker = threading.Thread(target=blocked, daemon=True)
    worker.start()
    ready.wait(5)
    time.sleep(0.1)  # let recv block
    ctx.term()  # returns once the worker has closed its socket
    worker.join(5)
    assert len(caught) == 1 and isinstance(caught[0], zmq.ContextTerminated)
    assert caught[0].errno == zmq.ETERM and str(caught[0]) == "Context was terminated"
    with pytest.raises(zmq.ZMQError):
        ctx.socket(zmq.PUSH)


def test_bind_to_random_port_exhausted(zmq: ModuleType, ctx: Any) -> None:
    a = configure(ctx.socket(zmq.PULL))
    b = configure(ctx.socket(zmq.PULL))
    port = a.bind_to_random_port("tcp://127.0.0.1")
    with pytest.raises(zmq.ZMQBindError):
        b.bind_to_random_port("tcp://127.0.0.1", min_port=port, max_port=port + 1, max_tries=3)


def test_send_multipart_with_sndmore_leaves_the_message_open(
    zmq: ModuleType, ctx: Any, tmp_path: Path
) -> None:
    """Not an error: pyzmq sends every part with the caller's flags, so SNDMORE on
    send_multipart continues the message in the next send."""
    a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
    configure(a)
    configure(b)
    bind_connect(a, b, "tcp", tmp_path)
    a.send_multipart([b"1", b"2"], zmq.SNDMORE)
    a.send_multipart([b"3"], zmq.SNDMORE)
    a.send(b"4")
    assert b.recv_multipart() == [b"1", b"2", b"3", b"4"]


def test_connect_routing_id_and_connect_timeout(zmq: ModuleType, ctx: Any) -> None:
    """Not errors, but options whose effect shows: the peer of the next connect is
    filed under CONNECT_ROUTING_ID (then the option is cleared), and CONNECT_TIMEOUT
    gives up a connect that hangs (a listener with a full accept queue) and retries."""
    import socket

    dealer = ctx.socket(zmq.DEALER)
    router = ctx.socket(zmq.ROUTER)
    for sock in (dealer, router):
        configure(sock)
    port = dealer.bind_to_random_port("tcp://127.0.0.1")
    router.setsockopt(zmq.CONNECT_ROUTING_ID, b"chosen")
    router.connect(f"tcp://127.0.0.1:{port}")
    dealer.send(b"ping")
    assert router.recv_multipart() == [b"chosen", b"ping"]

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname())
    try:
        stalled = ctx.socket(zmq.DEALER)
        configure(stalled)
        stalled.setsockopt(zmq.CONNECT_TIMEOUT, 100)
        assert stalled.getsockopt(zmq.CONNECT_TIMEOUT) == 100
        monitor = stalled.get_monitor_socket(zmq.EVENT_CONNECT_RETRIED)
        stalled.connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
        assert monitor.poll(5000), "no retry after the connect timed out"
    finally:
        filler.close()
        listener.close()


def test_xpub_nodrop_raises_again_and_invert_matching(zmq: ModuleType, ctx: Any) -> None:
    """XPUB_NODROP: a subscriber at its HWM makes a NOBLOCK send fail with EAGAIN instead
    of the message being dropped for it. INVERT_MATCHING: SUB "A" gets all but A."""
    xpub = ctx.socket(zmq.XPUB)
    sub = ctx.socket(zmq.SUB)
    for sock in (xpub, sub):
        configure(sock)
    xpub.setsockopt(zmq.XPUB_NODROP, 1)
    xpub.sndhwm = 2
    xpub.sndbuf = sub.rcvbuf = 65536
    sub.rcvhwm = 1
    sub.subscribe(b"")
    port = xpub.bind_to_random_port("tcp://127.0.0.1")
    sub.connect(f"tcp://127.0.0.1:{port}")
    assert xpub.recv() == b"\x01"
    big = b"\xa5" * (256 * 1024)
    for _ in range(1000):
        try:
            xpub.send(big, zmq.NOBLOCK)
        except zmq.Again:
            break
    else:
        raise AssertionError("XPUB_NODROP never pushed back")

    pub = ctx.socket(zmq.PUB)
    inverted = ctx.socket(zmq.SUB)
    for sock in (pub, inverted):
        configure(sock)
        sock.setsockopt(zmq.INVERT_MATCHING, 1)
    inverted.subscribe(b"A")
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    inverted.connect(f"tcp://127.0.0.1:{port}")
    inverted.rcvtimeo = 50
    for _ in range(200):  # until the subscription has arrived
        pub.send(b"A-hidden")
        pub.send(b"B-shown")
        try:
            assert inverted.recv() == b"B-shown"
            break
        except zmq.Again:
            continue
    else:
        raise AssertionError("nothing got through an inverted subscription")


def test_xpub_manual(zmq: ModuleType, ctx: Any) -> None:
    """XPUB_MANUAL as libzmq 4.3.5 behaves (the same script on pyzmq and zmtp.zmq): every
    subscription is reported and none applied until the application subscribes, on the
    peer whose subscription it read last; a peer that leaves is reported as
    unsubscriptions of everything it had asked for."""
    xpub = ctx.socket(zmq.XPUB)
    configure(xpub, 2000)
    xpub.setsockopt(zmq.XPUB_MANUAL, 1)
    port = xpub.bind_to_random_port("tcp://127.0.0.1")
    s1, s2 = ctx.socket(zmq.SUB), ctx.socket(zmq.SUB)
    for sub in (s1, s2):
        configure(sub, 300)
        sub.connect(f"tcp://127.0.0.1:{port}")

    def recv_or_none(sock: Any) -> bytes | None:
        try:
            return bytes(sock.recv())
        except zmq.Again:
            return None

    s1.subscribe(b"A")
    s1.getsockopt(zmq.EVENTS)  # libzmq takes its new connection when poked
    assert xpub.recv() == b"\x01A"
    xpub.send(b"A1")
    assert recv_or_none(s1) is None  # reported, not applied
    xpub.setsockopt(zmq.SUBSCRIBE, b"A")
    xpub.send(b"A2")
    assert recv_or_none(s1) == b"A2"
    s2.subscribe(b"A")
    s2.getsockopt(zmq.EVENTS)
    assert xpub.recv() == b"\x01A"  # a second subscriber to A is reported too
    xpub.send(b"A3")
    assert recv_or_none(s1) == b"A3"
    assert recv_or_none(s2) is None
    xpub.setsockopt(zmq.SUBSCRIBE, b"A")  # applies to s2, whose message came last
    s2.subscribe(b"B")
    s2.getsockopt(zmq.EVENTS)
    assert xpub.recv() == b"\x01B"
    xpub.setsockopt(zmq.SUBSCRIBE, b"B")
    xpub.send(b"B1")
    assert recv_or_none(s2) == b"B1"
    s1.unsubscribe(b"A")
    s1.getsockopt(zmq.EVENTS)
    assert xpub.recv() == b"\x00A"
    s2.close(linger=0)
    assert sorted([xpub.recv(), xpub.recv()]) == [b"\x00A", b"\x00B"]
    xpub.rcvtimeo = 200
    assert recv_or_none(xpub) is None
