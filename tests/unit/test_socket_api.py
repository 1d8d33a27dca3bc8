"""The public API exactly as DESIGN.md ("Public API") writes it: tests outside this
repository use it that way, so every name, keyword, attribute and error type it lists
is checked here, together with what send() promises about the caller's buffer."""

from __future__ import annotations

import array
import re
import socket as stdlib_socket
import subprocess
import sys
from pathlib import Path

import pytest
import trio

import zmtp
from zmtp.options import OPTIONS
from zmtp.socket import _frame

SOCKET_TYPES = ["PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH",
                "XPUB", "XSUB"]

# Every option DESIGN.md names, with a value to set (times are float seconds).
DESIGN_OPTIONS: dict[str, object] = {
    "sndhwm": 7,
    "rcvhwm": 9,
    "linger": 0.5,
    "routing_id": b"me",
    "router_mandatory": True,
    "reconnect_ivl": 0.25,
    "reconnect_ivl_max": 2.0,
    "heartbeat_ivl": 1.5,
    "heartbeat_ttl": 3.0,
    "heartbeat_timeout": 2.5,
    "handshake_ivl": 4.0,
    "maxmsgsize": 1 << 20,
    "rcvtimeo": 0.125,
    "sndtimeo": 0.375,
    "immediate": True,
    "conflate": True,
    "xpub_verbose": True,
    "req_relaxed": True,
    "req_correlate": True,
    "plain_username": "user",
}


def test_module_names() -> None:
    for name in SOCKET_TYPES:
        assert getattr(zmtp, name) is zmtp.SocketType[name]
        assert name in zmtp.__all__
    for name in ["Socket", "SocketType", "ZMTPError", "ProtocolError", "Again",
                 "HostUnreachable", "SocketClosed", "EndpointError", "__version__"]:
        assert hasattr(zmtp, name), name


def test_error_hierarchy() -> None:
    assert issubclass(zmtp.ZMTPError, Exception)
    for name in ["ProtocolError", "Again", "HostUnreachable", "SocketClosed", "EndpointError"]:
        error = getattr(zmtp, name)
        assert issubclass(error, zmtp.ZMTPError) and error is not zmtp.ZMTPError, name
    from zmtp.protocol import ProtocolError

    assert ProtocolError is zmtp.ProtocolError  # the sans-IO core raises the same type


@pytest.mark.parametrize(("name", "value"), list(DESIGN_OPTIONS.items()))
def test_option_as_keyword_and_attribute(name: str, value: object) -> None:
    assert OPTIONS[name].doc.strip(), f"option {name} is not documented"
    sock = zmtp.Socket(zmtp.DEALER, **{name: value})
    assert getattr(sock, name) == value
    default = OPTIONS[name].default
    setattr(sock, name, default)
    assert getattr(sock, name) == default
    setattr(sock, name, value)
    assert getattr(sock, name) == value


def test_every_option_is_an_attribute_with_its_default() -> None:
    sock = zmtp.Socket(zmtp.SUB)
    for name, spec in OPTIONS.items():
        assert spec.doc.strip(), f"option {name} is not documented"
        assert getattr(sock, name) == spec.default, name


def test_options_are_properties_not_attribute_hooks() -> None:
    # A __getattr__/__setattr__ on the class would stop CPython from specialising every
    # attribute access on sockets (about 80 ns per send or recv).
    assert "__getattr__" not in vars(zmtp.Socket) and "__setattr__" not in vars(zmtp.Socket)
    for name, spec in OPTIONS.items():
        prop = vars(zmtp.Socket)[name]
        assert isinstance(prop, property) and prop.fset is not None and prop.__doc__ == spec.doc
    sock = zmtp.Socket(zmtp.SUB)
    sock.subscribe(b"")  # everything: recv reads the fair queue straight
    assert sock._pattern_recv == sock._pattern.fq.recv_message  # type: ignore[attr-defined]
    sock.invert_matching = True  # the setter asks the pattern again: now it filters
    assert sock._pattern_recv == sock._pattern.recv  # type: ignore[attr-defined]
    assert sock._fq_active is None  # type: ignore[attr-defined]


def test_times_are_seconds_and_bad_options_fail() -> None:
    sock = zmtp.Socket(zmtp.SUB, rcvtimeo=1, linger=-1)
    assert sock.rcvtimeo == 1.0 and isinstance(sock.rcvtimeo, float) and sock.linger == -1
    with pytest.raises(TypeError, match="unknown socket option"):
        zmtp.Socket(zmtp.SUB, no_such_option=1)
    with pytest.raises(ValueError, match="rcvtimeo"):
        sock.rcvtimeo = -5
    with pytest.raises(AttributeError):
        sock.no_such_option  # noqa: B018


async def test_the_design_example(tmp_path: Path) -> None:
    """The snippet from DESIGN.md, run as written (ipc path in a tmp dir)."""
    ipc = f"ipc://{tmp_path}/x.sock"
    messages: list[list[bytes]] = []
    all_in = trio.Event()

    async def collect(sock: zmtp.Socket) -> None:
        while True:
            messages.append(await sock.recv_multipart())
            if len(messages) == 4:
                all_in.set()

    async with zmtp.Socket(zmtp.PULL) as tcp_peer, zmtp.Socket(zmtp.PULL) as ipc_peer, \
            zmtp.Socket(zmtp.PUSH, sndhwm=1000) as s:
        assert s.sndhwm == 1000
        ep = await s.bind("tcp://127.0.0.1:*")
        assert re.fullmatch(r"tcp://127\.0\.0\.1:\d+", ep) and not ep.endswith(":0")
        await s.connect(ipc)  # before the peer exists: it keeps trying
        await tcp_peer.connect(ep)
        await ipc_peer.bind(ipc)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(collect, tcp_peer)
            nursery.start_soon(collect, ipc_peer)
            with trio.fail_after(10):
                await s.send(b"x")  # any bytes-like
                await s.send_multipart([b"a", b"", b"b"])
                await s.send(bytearray(b"any bytes-like"))
                await s.send(memoryview(b"a view"))
                await all_in.wait()
            nursery.cancel_scope.cancel()
    assert sorted(messages) == sorted(
        [[b"x"], [b"a", b"", b"b"], [b"any bytes-like"], [b"a view"]]
    )
    assert all(type(m) is list for m in messages)
    assert all(type(f) is bytes for m in messages for f in m)


async def test_enum_type_and_recv_single_frame() -> None:
    async with zmtp.Socket(zmtp.SocketType.PULL) as pull, zmtp.Socket(zmtp.SocketType.PUSH) as push:
        assert pull.socket_type is zmtp.PULL
        ep = await pull.bind("tcp://127.0.0.1:0")
        assert re.fullmatch(r"tcp://127\.0\.0\.1:\d+", ep) and not ep.endswith(":0")
        await push.connect(ep)
        with trio.fail_after(10):
            await push.send(b"single")
            data = await pull.recv()
        assert data == b"single" and type(data) is bytes


@pytest.mark.parametrize("endpoint", ["tcp://*:*", "tcp://*:0", "tcp://0.0.0.0:*"])
async def test_bind_resolves_wildcards(endpoint: str) -> None:
    async with zmtp.Socket(zmtp.PULL) as pull, zmtp.Socket(zmtp.PUSH) as push:
        resolved = await pull.bind(endpoint)
        match = re.fullmatch(r"tcp://0\.0\.0\.0:(\d+)", resolved)
        assert match and int(match.group(1)) > 0
        assert pull.last_endpoint == resolved
        await push.connect(f"tcp://127.0.0.1:{match.group(1)}")
        with trio.fail_after(10):
            await push.send(b"through the wildcard")
            assert await pull.recv() == b"through the wildcard"
        await pull.unbind(resolved)  # the resolved name unbinds
        with pytest.raises(zmtp.EndpointError):
            await pull.unbind(resolved)


async def test_subscribe_unsubscribe_connect_disconnect() -> None:
    async with zmtp.Socket(zmtp.PUB) as pub, zmtp.Socket(zmtp.SUB) as sub, \
            zmtp.Socket(zmtp.XSUB) as xsub:
        ep = await pub.bind("tcp://127.0.0.1:*")
        for s in (sub, xsub):
            s.subscribe(b"topic")
            s.subscribe("text topic")  # str is encoded
            s.unsubscribe(b"topic")
            await s.connect(ep)
        with trio.fail_after(10):
            while True:
                await pub.send_multipart([b"text topic!", b"body"])
                with trio.move_on_after(0.05):
                    assert await sub.recv_multipart() == [b"text topic!", b"body"]
                    break
        await sub.disconnect(ep)
        with pytest.raises(zmtp.EndpointError):
            await sub.disconnect(ep)


async def test_timeouts_nowait_and_closed_errors() -> None:
    async with zmtp.Socket(zmtp.PULL, rcvtimeo=0.05) as pull, \
            zmtp.Socket(zmtp.PUSH, sndtimeo=0.05) as push:
        with trio.fail_after(10):
            with pytest.raises(zmtp.Again):
                await pull.recv()
            with pytest.raises(zmtp.Again):
                await pull.recv_multipart()
            with pytest.raises(zmtp.Again):
                await push.send(b"nobody to take it")
        with pytest.raises(zmtp.Again):
            pull.recv_nowait()
        with pytest.raises(zmtp.Again):
            push.send_nowait(b"x")
        ep = await pull.bind("tcp://127.0.0.1:*")
        await push.connect(ep)
        with trio.fail_after(10):
            while True:
                try:
                    push.send_nowait(b"now")
                    break
                except zmtp.Again:
                    await trio.sleep(0.005)
            while True:
                try:
                    assert pull.recv_nowait() == b"now"
                    break
                except zmtp.Again:
                    await trio.sleep(0.005)
    for call in (pull.recv(), push.send(b"x")):
        with pytest.raises(zmtp.SocketClosed):
            await call
    with pytest.raises(zmtp.SocketClosed):
        pull.recv_nowait()


async def test_router_mandatory_raises_host_unreachable() -> None:
    async with zmtp.Socket(zmtp.ROUTER, router_mandatory=True) as router:
        with pytest.raises(zmtp.HostUnreachable):
            await router.send_multipart([b"nobody", b"x"])


async def test_endpoint_errors() -> None:
    async with zmtp.Socket(zmtp.PULL) as pull:
        taken = await pull.bind("tcp://127.0.0.1:*")
        with pytest.raises(zmtp.EndpointError, match="in use"):
            await pull.bind(taken)
        with pytest.raises(zmtp.EndpointError):
            await pull.connect("bogus")


def test_python_m_zmtp_version() -> None:
    out = subprocess.run([sys.executable, "-m", "zmtp", "--version"], capture_output=True,
                         text=True, timeout=30, check=True).stdout.strip()
    assert zmtp.__version__ in out
    for version in ("3.1", "3.0", "2.0"):
        assert version in out
    assert out == f"zmtp {zmtp.__version__} (ZMTP 3.1, 3.0, 2.0)"


# -- what send() does with the caller's buffer -------------------------------------------------


def test_immutable_large_frames_are_not_copied() -> None:
    data = bytes(100_000)
    assert _frame(data) is data
    view = memoryview(data)[10:]
    sent = _frame(view)
    assert isinstance(sent, memoryview) and sent.obj is data  # zero-copy
    assert _frame(memoryview(b"small")) == b"small"


@pytest.mark.parametrize("kind", ["bytearray", "memoryview", "array", "readonly-view"])
def test_writable_buffers_are_copied_at_send_time(kind: str) -> None:
    backing = bytearray(b"A" * 100_000)
    buffer: object = {
        "bytearray": backing,
        "memoryview": memoryview(backing),
        "array": array.array("B", backing),
        # read-only view of a mutable object: the owner can still change it
        "readonly-view": memoryview(backing).toreadonly(),
    }[kind]
    sent = _frame(buffer)
    assert type(sent) is bytes
    backing[:] = b"B" * 100_000
    if isinstance(buffer, array.array):
        buffer[0] = ord("B")
    assert sent == b"A" * 100_000


def _free_tcp_port() -> int:
    with stdlib_socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
async def test_mutating_after_send_does_not_change_the_wire(transport: str,
                                                            tmp_path: Path) -> None:
    """libzmq copies in zmq_send; so do we for writable buffers.  The message waits in
    the queue (no peer yet) while the caller overwrites its buffer."""
    endpoint = {
        "tcp": f"tcp://127.0.0.1:{_free_tcp_port()}",
        "ipc": f"ipc://{tmp_path}/m.sock",
        "inproc": f"inproc://{tmp_path.name}-mutate",
    }[transport]
    buffer = bytearray(b"A" * 200_000)
    numbers = array.array("d", [1.0] * 20_000)
    async with zmtp.Socket(zmtp.PUSH) as push, zmtp.Socket(zmtp.PULL) as pull:
        await push.connect(endpoint)
        await push.send_multipart([buffer, numbers])
        await push.send(memoryview(buffer)[:70_000])
        buffer[:] = b"B" * 200_000
        numbers[0] = 2.0
        await pull.bind(endpoint)
        with trio.fail_after(10):
            first = await pull.recv_multipart()
            second = await pull.recv()
    assert first == [b"A" * 200_000, array.array("d", [1.0] * 20_000).tobytes()]
    assert second == b"A" * 70_000


def _tcp_pair() -> tuple[stdlib_socket.socket, stdlib_socket.socket]:
    with stdlib_socket.create_server(("127.0.0.1", 0)) as listener:
        client = stdlib_socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
    return client, accepted


@pytest.mark.skipif(not hasattr(stdlib_socket, "TCP_KEEPIDLE"), reason="Linux keepalive knobs")
def test_tcp_tuning_options_reach_the_connection_socket() -> None:
    """tcp_keepalive (and its tunables, only where it is on, as libzmq), tcp_maxrt
    (TCP_USER_TIMEOUT) and tos land on each connection's socket."""
    from zmtp.options import Options
    from zmtp.transport import configure_stream_socket

    client, accepted = _tcp_pair()
    try:
        options = Options(tcp_keepalive=1, tcp_keepalive_idle=31, tcp_keepalive_cnt=4,
                          tcp_keepalive_intvl=7, tcp_maxrt=2.5, tos=0x20)
        configure_stream_socket(client, options)
        tcp = stdlib_socket.IPPROTO_TCP
        assert client.getsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_KEEPALIVE) == 1
        assert client.getsockopt(tcp, stdlib_socket.TCP_KEEPIDLE) == 31
        assert client.getsockopt(tcp, stdlib_socket.TCP_KEEPCNT) == 4
        assert client.getsockopt(tcp, stdlib_socket.TCP_KEEPINTVL) == 7
        assert client.getsockopt(tcp, stdlib_socket.TCP_USER_TIMEOUT) == 2500
        assert client.getsockopt(stdlib_socket.IPPROTO_IP, stdlib_socket.IP_TOS) == 0x20
        idle_before = accepted.getsockopt(tcp, stdlib_socket.TCP_KEEPIDLE)
        configure_stream_socket(accepted, Options(tcp_keepalive_idle=31))  # keepalive unset
        assert accepted.getsockopt(tcp, stdlib_socket.TCP_KEEPIDLE) == idle_before
    finally:
        client.close()
        accepted.close()
    with pytest.raises(ValueError, match="tcp_keepalive_idle"):
        Options(tcp_keepalive_idle=-2)


async def test_probe_and_welcome_over_inproc() -> None:
    async with zmtp.Socket(zmtp.ROUTER, linger=0) as router, \
            zmtp.Socket(zmtp.DEALER, linger=0, probe_router=True, routing_id=b"d") as dealer, \
            zmtp.Socket(zmtp.XPUB, linger=0, xpub_welcome_msg=b"hello") as xpub, \
            zmtp.Socket(zmtp.SUB, linger=0) as sub:
        await dealer.connect("inproc://probe")  # before the bind: queued with the pipe
        await router.bind("inproc://probe")
        with trio.fail_after(5):
            assert await router.recv_multipart() == [b"d", b""]
        sub.subscribe(b"hel")
        await xpub.bind("inproc://welcome")
        await sub.connect("inproc://welcome")
        with trio.fail_after(5):
            assert await sub.recv_multipart() == [b"hello"]
            assert await xpub.recv_multipart() == [b"\x01hel"]
