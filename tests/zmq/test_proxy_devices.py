"""zmq.proxy, zmq.proxy_steerable, zmq.device and zmq.devices, on pyzmq and zmtp.zmq.

Proxies run in a thread on their own Context; the test ends them the way pyzmq users do:
TERMINATE on a control socket, or terminating that Context (ETERM in the proxy thread).
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from zmq_face_util import MODULES, configure, sync_pubsub


@pytest.fixture(params=MODULES)
def zmq(request: pytest.FixtureRequest) -> ModuleType:
    module: ModuleType = request.param
    return module


@pytest.fixture
def ctx(zmq: ModuleType) -> Iterator[Any]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def _addr(sock: Any) -> str:
    value = sock.getsockopt(32)  # LAST_ENDPOINT, the same number in both modules
    return value.decode() if isinstance(value, bytes) else str(value)


class ProxyThread:
    """Runs ``target(*sockets)`` in a thread on a private Context; stop() ends it via ETERM."""

    def __init__(self, zmq: ModuleType, types: list[int]) -> None:
        self.zmq = zmq
        self.ctx = zmq.Context()
        self.sockets = [self.ctx.socket(t) for t in types]
        self.addrs: list[str] = []
        for s in self.sockets:
            s.linger = 0
            s.bind("tcp://127.0.0.1:*")
            self.addrs.append(_addr(s))
        self.error: BaseException | None = None
        self.result: Any = "not finished"
        self.thread: threading.Thread | None = None

    def start(self, target: Callable[..., Any], *args: Any) -> ProxyThread:
        def run() -> None:
            try:
                self.result = target(*args)
            except BaseException as exc:
                self.error = exc
            finally:
                for s in self.sockets:
                    s.close()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        assert self.thread is not None
        if self.thread.is_alive():
            self.ctx.term()  # the proxy sees ETERM, its thread closes the sockets
        self.thread.join(10)
        assert not self.thread.is_alive()
        if not self.ctx.closed:
            self.ctx.term()


def test_proxy_queue_with_capture(zmq: ModuleType, ctx: Any) -> None:
    p = ProxyThread(zmq, [zmq.ROUTER, zmq.DEALER, zmq.PUSH])
    front, back, capture = p.sockets
    p.start(zmq.proxy, front, back, capture)
    try:
        client = configure(ctx.socket(zmq.REQ))
        worker = configure(ctx.socket(zmq.REP))
        tap = configure(ctx.socket(zmq.PULL))
        client.connect(p.addrs[0])
        worker.connect(p.addrs[1])
        tap.connect(p.addrs[2])
        for i in range(3):
            client.send_multipart([b"req", b"%d" % i])
            assert worker.recv_multipart() == [b"req", b"%d" % i]
            worker.send(b"rep-%d" % i)
            assert client.recv() == b"rep-%d" % i
        # The capture socket saw every message, both directions, with the routing frames.
        seen = [tap.recv_multipart() for _ in range(6)]
        assert [m[-2:] for m in seen[0::2]] == [[b"req", b"%d" % i] for i in range(3)]
        assert [m[-1] for m in seen[1::2]] == [b"rep-%d" % i for i in range(3)]
        for s in (client, worker, tap):
            s.close()
    finally:
        p.stop()
    assert isinstance(p.error, zmq.ContextTerminated)


def test_proxy_forwarder_pubsub(zmq: ModuleType, ctx: Any) -> None:
    p = ProxyThread(zmq, [zmq.XSUB, zmq.XPUB])
    p.start(zmq.proxy, *p.sockets)
    try:
        pub = configure(ctx.socket(zmq.PUB))
        sub = configure(ctx.socket(zmq.SUB))
        pub.connect(p.addrs[0])
        sub.connect(p.addrs[1])
        sub.setsockopt(zmq.SUBSCRIBE, b"t")
        sync_pubsub(pub, sub, b"t")
        pub.send(b"x-filtered")
        pub.send_multipart([b"t-1", b"body"])
        assert sub.recv_multipart() == [b"t-1", b"body"]
        pub.close()
        sub.close()
    finally:
        p.stop()


def test_proxy_steerable_terminate_and_statistics(zmq: ModuleType, ctx: Any) -> None:
    p = ProxyThread(zmq, [zmq.PULL, zmq.PUSH, zmq.PAIR])
    front, back, control = p.sockets
    p.start(zmq.proxy_steerable, front, back, None, control)
    try:
        src = configure(ctx.socket(zmq.PUSH))
        dst = configure(ctx.socket(zmq.PULL))
        ctl = configure(ctx.socket(zmq.PAIR))
        src.connect(p.addrs[0])
        dst.connect(p.addrs[1])
        ctl.connect(p.addrs[2])
        src.send_multipart([b"ab", b"cde"])
        assert dst.recv_multipart() == [b"ab", b"cde"]
        ctl.send(b"STATISTICS")
        stats = [struct.unpack("=Q", f)[0] for f in ctl.recv_multipart()]
        # frontend: 2 parts / 5 bytes in; backend: 2 parts / 5 bytes out.
        assert stats == [2, 5, 0, 0, 0, 0, 2, 5]
        ctl.send(b"TERMINATE")
        assert ctl.recv() == b""  # libzmq 4.3.5 acknowledges every command
        assert p.thread is not None
        p.thread.join(10)
        assert not p.thread.is_alive()
        assert p.error is None
        for s in (src, dst, ctl):
            s.close()
    finally:
        p.stop()


def test_proxy_steerable_pause_resume(ctx: Any, zmq: ModuleType) -> None:
    if not zmq.__name__.startswith("zmtp"):
        pytest.skip("libzmq 4.3.5 keeps forwarding while paused (pyzmq skips its tests too)")
    p = ProxyThread(zmq, [zmq.PULL, zmq.PUSH, zmq.REP])
    front, back, control = p.sockets
    p.start(zmq.proxy_steerable, front, back, None, control)
    try:
        src = configure(ctx.socket(zmq.PUSH))
        dst = configure(ctx.socket(zmq.PULL))
        ctl = configure(ctx.socket(zmq.REQ))
        for s, a in ((src, p.addrs[0]), (dst, p.addrs[1]), (ctl, p.addrs[2])):
            s.connect(a)
        src.send(b"before")
        assert dst.recv() == b"before"
        ctl.send(b"PAUSE")
        assert ctl.recv() == b""
        src.send(b"during")
        assert dst.poll(300) == 0
        ctl.send(b"RESUME")
        assert ctl.recv() == b""
        assert dst.recv() == b"during"
        ctl.send(b"TERMINATE")
        assert ctl.recv() == b""
        for s in (src, dst, ctl):
            s.close()
    finally:
        p.stop()


@pytest.mark.parametrize("kind", ["QUEUE", "FORWARDER", "STREAMER"])
def test_device_function(zmq: ModuleType, ctx: Any, kind: str) -> None:
    types = {
        "QUEUE": [zmq.ROUTER, zmq.DEALER],
        "FORWARDER": [zmq.SUB, zmq.PUB],
        "STREAMER": [zmq.PULL, zmq.PUSH],
    }[kind]
    p = ProxyThread(zmq, types)
    if kind == "FORWARDER":
        p.sockets[0].setsockopt(zmq.SUBSCRIBE, b"")
    p.start(zmq.device, getattr(zmq, kind), *p.sockets)
    try:
        if kind == "QUEUE":
            a, b = configure(ctx.socket(zmq.REQ)), configure(ctx.socket(zmq.REP))
        elif kind == "FORWARDER":
            a, b = configure(ctx.socket(zmq.PUB)), configure(ctx.socket(zmq.SUB))
            b.setsockopt(zmq.SUBSCRIBE, b"")
        else:
            a, b = configure(ctx.socket(zmq.PUSH)), configure(ctx.socket(zmq.PULL))
        a.connect(p.addrs[0])
        b.connect(p.addrs[1])
        if kind == "FORWARDER":
            sync_pubsub(a, b)
        a.send(b"through")
        assert b.recv() == b"through"
        if kind == "QUEUE":
            b.send(b"back")
            assert a.recv() == b"back"
        a.close()
        b.close()
    finally:
        p.stop()


def _context_factory(zmq: ModuleType, holder: list[Any]) -> Callable[[], Any]:
    def make() -> Any:
        holder.append(zmq.Context())
        return holder[-1]

    return make


def test_thread_device_queue(zmq: ModuleType, ctx: Any) -> None:
    from importlib import import_module

    devices = import_module(zmq.__name__ + ".devices")
    made: list[Any] = []
    dev = devices.ThreadDevice(zmq.QUEUE, zmq.ROUTER, zmq.DEALER)
    dev.context_factory = _context_factory(zmq, made)
    port_in = dev.bind_in_to_random_port("tcp://127.0.0.1")
    port_out = dev.bind_out_to_random_port("tcp://127.0.0.1")
    dev.setsockopt_in(zmq.LINGER, 0)
    dev.setsockopt_out(zmq.LINGER, 0)
    dev.start()
    client = configure(ctx.socket(zmq.REQ))
    worker = configure(ctx.socket(zmq.REP))
    client.connect(f"tcp://127.0.0.1:{port_in}")
    worker.connect(f"tcp://127.0.0.1:{port_out}")
    client.send(b"job")
    assert worker.recv() == b"job"
    worker.send(b"done")
    assert client.recv() == b"done"
    assert len(made) == 1
    made[0].term()
    dev.join(10)
    assert dev.done and not dev.launcher.is_alive()


def test_thread_proxy_steerable_device(zmq: ModuleType, ctx: Any) -> None:
    from importlib import import_module

    devices = import_module(zmq.__name__ + ".devices")
    made: list[Any] = []
    dev = devices.ThreadProxySteerable(zmq.PULL, zmq.PUSH, zmq.PUSH, zmq.PAIR)
    dev.context_factory = _context_factory(zmq, made)
    ports = [
        dev.bind_in_to_random_port("tcp://127.0.0.1"),
        dev.bind_out_to_random_port("tcp://127.0.0.1"),
        dev.bind_mon_to_random_port("tcp://127.0.0.1"),
        dev.bind_ctrl_to_random_port("tcp://127.0.0.1"),
    ]
    assert len(set(ports)) == 4
    dev.start()
    push, pull, mon, ctrl = (
        configure(ctx.socket(t)) for t in (zmq.PUSH, zmq.PULL, zmq.PULL, zmq.PAIR)
    )
    for s, port in zip((push, pull, mon, ctrl), ports, strict=True):
        s.connect(f"tcp://127.0.0.1:{port}")
    push.send(b"hello")
    assert pull.recv() == b"hello"
    assert mon.recv() == b"hello"
    ctrl.send(b"STATISTICS")
    stats = [struct.unpack("=Q", f)[0] for f in ctrl.recv_multipart()]
    assert stats[0:2] == [1, 5] and stats[6:8] == [1, 5]
    ctrl.send(b"TERMINATE")
    dev.join(10)
    assert not dev.launcher.is_alive()
    for c in made:
        c.term()


def test_thread_monitored_queue(zmq: ModuleType, ctx: Any) -> None:
    from importlib import import_module

    devices = import_module(zmq.__name__ + ".devices")
    made: list[Any] = []
    dev = devices.ThreadMonitoredQueue(zmq.ROUTER, zmq.DEALER, zmq.PUB, b"IN", b"OUT")
    dev.context_factory = _context_factory(zmq, made)
    port_in = dev.bind_in_to_random_port("tcp://127.0.0.1")
    port_out = dev.bind_out_to_random_port("tcp://127.0.0.1")
    port_mon = dev.bind_mon_to_random_port("tcp://127.0.0.1")
    for opt in (dev.setsockopt_in, dev.setsockopt_out, dev.setsockopt_mon):
        opt(zmq.LINGER, 0)
    dev.start()
    client = configure(ctx.socket(zmq.REQ))
    worker = configure(ctx.socket(zmq.REP))
    mon = configure(ctx.socket(zmq.SUB))
    mon.setsockopt(zmq.SUBSCRIBE, b"")
    client.connect(f"tcp://127.0.0.1:{port_in}")
    worker.connect(f"tcp://127.0.0.1:{port_out}")
    mon.connect(f"tcp://127.0.0.1:{port_mon}")
    # Keep a request/reply cycle going until the monitor has seen one full round trip.
    seen: list[list[bytes]] = []
    for i in range(200):
        client.send(b"q%d" % i)
        assert worker.recv() == b"q%d" % i
        worker.send(b"a%d" % i)
        assert client.recv() == b"a%d" % i
        while mon.poll(20):
            seen.append(mon.recv_multipart())
        if any(m[0] == b"OUT" for m in seen) and any(m[0] == b"IN" for m in seen):
            break
    ins = [m for m in seen if m[0] == b"IN"]
    outs = [m for m in seen if m[0] == b"OUT"]
    assert ins and ins[-1][-1].startswith(b"q") and ins[-1][-2] == b""
    assert outs and outs[-1][-1].startswith(b"a")
    for c in made:
        c.term()
    dev.join(10)


def test_process_device_streamer(zmq: ModuleType, ctx: Any) -> None:
    from importlib import import_module

    devices = import_module(zmq.__name__ + ".devices")
    dev = devices.ProcessDevice(zmq.STREAMER, zmq.PULL, zmq.PUSH)
    port_in = dev.bind_in_to_random_port("tcp://127.0.0.1")
    port_out = dev.bind_out_to_random_port("tcp://127.0.0.1")
    dev.start()
    try:
        src = configure(ctx.socket(zmq.PUSH), 20_000)
        dst = configure(ctx.socket(zmq.PULL), 20_000)
        src.connect(f"tcp://127.0.0.1:{port_in}")
        dst.connect(f"tcp://127.0.0.1:{port_out}")
        src.send(b"across processes")
        assert dst.recv() == b"across processes"
    finally:
        dev.launcher.terminate()
        dev.join(10)
    assert not dev.launcher.is_alive()


def test_device_requires_types(zmq: ModuleType) -> None:
    from importlib import import_module

    devices = import_module(zmq.__name__ + ".devices")
    with pytest.raises(TypeError):
        devices.Device(zmq.QUEUE, None, zmq.DEALER)
    with pytest.raises(TypeError):
        devices.Device(zmq.QUEUE, zmq.ROUTER, None)


def test_steerable_proxy_stays_responsive_when_backend_is_full(zmq: ModuleType, ctx: Any) -> None:
    """A message whose destination has no room (PUSH without peers) stays queued; the proxy
    keeps answering its control socket instead of blocking in a send (libzmq's behaviour)."""
    p = ProxyThread(zmq, [zmq.PULL, zmq.PUSH, zmq.PAIR])
    front, back, control = p.sockets
    p.start(zmq.proxy_steerable, front, back, None, control)
    try:
        src = configure(ctx.socket(zmq.PUSH))
        ctl = configure(ctx.socket(zmq.PAIR))
        src.connect(p.addrs[0])
        ctl.connect(p.addrs[2])
        src.send(b"waits for a consumer")
        time.sleep(0.2)  # give the proxy the chance to (wrongly) take it
        ctl.send(b"STATISTICS")
        stats = [struct.unpack("=Q", f)[0] for f in ctl.recv_multipart()]
        assert stats[2:4] == [0, 0] and stats[6:8] == [0, 0]  # nothing sent anywhere
        dst = configure(ctx.socket(zmq.PULL))
        dst.connect(p.addrs[1])
        assert dst.recv() == b"waits for a consumer"  # forwarded once there is room
        ctl.send(b"TERMINATE")
        assert ctl.recv() == b""
        assert p.thread is not None
        p.thread.join(10)
        assert not p.thread.is_alive()
        for s in (src, ctl, dst):
            s.close()
    finally:
        p.stop()


def test_single_socket_device_echoes(zmq: ModuleType, ctx: Any) -> None:
    """out_type -1: one REP socket is both sides, so every request comes straight back."""
    from importlib import import_module

    devices = import_module(zmq.__name__ + ".devices")
    made: list[Any] = []
    dev = devices.ThreadDevice(zmq.QUEUE, zmq.REP, -1)
    dev.context_factory = _context_factory(zmq, made)
    dev.setsockopt_in(zmq.LINGER, 0)
    port = dev.bind_in_to_random_port("tcp://127.0.0.1")
    dev.start()
    req = configure(ctx.socket(zmq.REQ))
    req.connect(f"tcp://127.0.0.1:{port}")
    for i in range(3):
        req.send(b"echo %d" % i)
        assert req.recv() == b"echo %d" % i
    for c in made:
        c.term()
    dev.join(10)
    assert not dev.launcher.is_alive()
