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
