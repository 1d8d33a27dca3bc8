"""The example topologies with devices replaced by pyzmq (libzmq) sockets configured
exactly as FairMQ's zeromq transport configures its own: identity, HWMs, linger,
subscribe-all, 100 ms timeouts (our stand-in for C++ FairMQ), checked frame by frame."""

from __future__ import annotations

import struct
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .procs import DeviceProcess, fairmq_socket, recv_multipart, send_multipart

zmq = pytest.importorskip("zmq")

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def ctx() -> Iterator[object]:
    c = zmq.Context()
    yield c
    c.destroy(linger=0)


@pytest.fixture
def ipc(tmp_path: Path) -> Iterator[object]:
    def make(name: str) -> str:
        return f"ipc://{tmp_path}/{name}-{uuid.uuid4().hex[:8]}"

    yield make


def chan(name: str, kind: str, method: str, address: str, **extra: object) -> str:
    more = "".join(f",{k}={v}" for k, v in extra.items())
    return f"name={name},type={kind},method={method},address={address},rateLogging=0{more}"


def test_libzmq_sampler_to_our_sink(ctx: object, ipc: object) -> None:
    addr = ipc("data")  # type: ignore[operator]
    push = fairmq_socket(ctx, "push", "sampler1", "data")
    push.bind(addr)
    with DeviceProcess.device("ex-1-1-sink", "--id", "sink1", "--max-iterations", "3",
                              "--channel-config", chan("data", "pull", "connect", addr)) as sink:
        for text in (b"Hello", b"", b"World"):  # an empty message is a message
            send_multipart(push, [text])
        assert sink.wait() == 0, sink.output
    push.close()
    msgs = sink.messages()
    assert [m for m in msgs if m.startswith("Received: ")] == [
        'Received: "Hello"', 'Received: ""', 'Received: "World"']


def test_our_sampler_to_libzmq_sink(ctx: object, ipc: object) -> None:
    addr = ipc("data")  # type: ignore[operator]
    pull = fairmq_socket(ctx, "pull", "sink1", "data")
    pull.connect(addr)
    with DeviceProcess.device("ex-1-1-sampler", "--id", "sampler1", "--max-iterations", "3",
                              "--rate", "20", "--text", "Hi there",
                              "--channel-config", chan("data", "push", "bind", addr)) as sampler:
        frames = [recv_multipart(pull) for _ in range(3)]
        assert sampler.wait() == 0, sampler.output
    pull.close()
    assert frames == [[b"Hi there"]] * 3


def test_1_n_1_with_libzmq_sampler_and_sink(ctx: object, ipc: object) -> None:
    a1, a2 = ipc("data1"), ipc("data2")  # type: ignore[operator]
    sampler = fairmq_socket(ctx, "push", "sampler1", "data1")
    sampler.bind(a1)
    sink = fairmq_socket(ctx, "pull", "sink1", "data2")
    sink.bind(a2)
    procs = [DeviceProcess.device(
        "ex-1-n-1-processor", "--id", f"processor{i}", "--channel-config",
        chan("data1", "pull", "connect", a1), chan("data2", "push", "connect", a2))
        for i in (1, 2)]
    try:
        for p in procs:
            p.wait_line("fair::mq::Device running...")
        for _ in range(6):
            send_multipart(sampler, [b"Hello"])
        got = sorted(recv_multipart(sink)[0] for _ in range(6))
        for p in procs:
            p.signal()
        codes = [p.wait() for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert codes == [0, 0]
    assert set(got) <= {b"Hello (modified by processor1)", b"Hello (modified by processor2)"}
    assert len(got) == 6


def _multipart(stop_flag: int, sizes: tuple[int, ...] = (1000, 500, 600, 700, 0, 100)
               ) -> list[bytes]:
    return [struct.pack("<i", stop_flag), *(b"x" * n for n in sizes)]


def test_our_multipart_sampler_to_libzmq_pair(ctx: object, ipc: object) -> None:
    addr = ipc("data")  # type: ignore[operator]
    pair = fairmq_socket(ctx, "pair", "sink1", "data")
    pair.bind(addr)
    with DeviceProcess.device("ex-multipart-sampler", "--id", "sampler1", "--max-iterations",
                              "3", "--channel-config",
                              chan("data", "pair", "connect", addr, linger=1000)) as sampler:
        messages = [recv_multipart(pair) for _ in range(3)]
        assert sampler.wait() == 0, sampler.output
    pair.close()
    for i, frames in enumerate(messages):
        assert [len(f) for f in frames] == [4, 1000, 500, 600, 700, 0, 100]
        assert struct.unpack("<i", frames[0]) == ((1 if i == 2 else 0),)


def test_libzmq_multipart_sampler_to_our_sink(ctx: object, ipc: object) -> None:
    addr = ipc("data")  # type: ignore[operator]
    pair = fairmq_socket(ctx, "pair", "sampler1", "data", linger=1000)
    pair.connect(addr)
    with DeviceProcess.device("ex-multipart-sink", "--id", "sink1", "--channel-config",
                              chan("data", "pair", "bind", addr)) as sink:
        send_multipart(pair, _multipart(0))
        send_multipart(pair, _multipart(1))
        assert sink.wait() == 0, sink.output
    pair.close()
    msgs = sink.messages()
    assert msgs.count("Received message with 7 parts") == 2
    assert "Received part 2 of size: 1000" in msgs and "stopFlag is 1, going IDLE" in msgs


def test_wrong_number_of_parts_is_error_and_exit_1(ctx: object, ipc: object) -> None:
    addr = ipc("data")  # type: ignore[operator]
    pair = fairmq_socket(ctx, "pair", "sampler1", "data")
    pair.connect(addr)
    with DeviceProcess.device("ex-multipart-sink", "--id", "sink1", "--channel-config",
                              chan("data", "pair", "bind", addr)) as sink:
        send_multipart(pair, _multipart(0, (1, 2, 3)))  # 4 parts
        assert sink.wait() == 1, sink.output
    pair.close()
    assert "RUNNING ---> ERROR" in sink.state_lines()
    assert any("number of received parts (4) != 7" in m for m in sink.messages())


def test_libzmq_client_to_our_server(ctx: object, ipc: object) -> None:
    addr = ipc("data")  # type: ignore[operator]
    req = fairmq_socket(ctx, "req", "client", "data")
    req.connect(addr)
    with DeviceProcess.device("ex-req-rep-server", "--id", "server", "--max-iterations", "2",
                              "--channel-config", chan("data", "rep", "bind", addr)) as server:
        replies = []
        for text in (b"Hello", b"again"):
            send_multipart(req, [text])
            replies.append(recv_multipart(req))
        assert server.wait() == 0, server.output
    req.close()
    assert replies == [[b'Thank you for the "Hello"!'], [b'Thank you for the "again"!']]


def test_our_client_identity_and_envelope_seen_by_libzmq(ctx: object, ipc: object) -> None:
    addr = ipc("data")  # type: ignore[operator]
    router = fairmq_socket(ctx, "router", "server", "data")  # a REP that shows the envelope
    router.bind(addr)
    with DeviceProcess.device("ex-req-rep-client", "--id", "client", "--max-iterations", "1",
                              "--channel-config", chan("data", "req", "connect", addr)) as client:
        request = recv_multipart(router)
        send_multipart(router, [*request[:2], b"thanks"])
        assert client.wait() == 0, client.output
    router.close()
    assert request == [b"client.data[0].req", b"", b"Hello"]
    assert 'Received reply from server: "thanks"' in client.messages()


def test_our_broadcaster_to_libzmq_sub(ctx: object, ipc: object) -> None:
    addr = ipc("broadcast")  # type: ignore[operator]
    sub = fairmq_socket(ctx, "sub", "sink1", "broadcast")
    sub.connect(addr)
    with DeviceProcess.device("ex-multiple-channels-broadcaster", "--id", "broadcaster1",
                              "--channel-config",
                              chan("broadcast", "pub", "bind", addr)) as broadcaster:
        assert recv_multipart(sub) == [b"OK"]
        broadcaster.signal()
        assert broadcaster.wait() == 0, broadcaster.output
    sub.close()


def test_libzmq_pub_reaches_our_sub_subscribed_to_everything(ctx: object, ipc: object) -> None:
    addr = ipc("broadcast")  # type: ignore[operator]
    pub = fairmq_socket(ctx, "pub", "broadcaster1", "broadcast")
    pub.bind(addr)
    with DeviceProcess.device("sink", "--id", "sink1", "--max-iterations", "2",
                              "--multipart", "true", "--channel-config",
                              chan("data", "sub", "connect", addr)) as sink:
        sink.wait_line("fair::mq::Device running...")
        # the subscription travels after the handshake: publish until the sink has two
        for _ in range(200):
            pub.send_multipart([b"any topic", b"OK"])
            if sink.proc.poll() is not None:
                break
            time.sleep(0.05)
        assert sink.wait() == 0, sink.output
    pub.close()
    assert any("Received 2 messages" in m for m in sink.messages())


def test_our_copypush_sampler_to_two_libzmq_sinks(ctx: object, ipc: object) -> None:
    a0, a1 = ipc("data0"), ipc("data1")  # type: ignore[operator]
    sinks = [fairmq_socket(ctx, "pull", f"sink{i + 1}", "data") for i in range(2)]
    sinks[0].connect(a0)
    sinks[1].connect(a1)
    with DeviceProcess.device("ex-copypush-sampler", "--id", "sampler1", "--max-iterations",
                              "4", "--channel-config",
                              f"name=data,type=push,method=bind,rateLogging=0,address={a0},"
                              f"address={a1}") as sampler:
        got = [[recv_multipart(s) for _ in range(4)] for s in sinks]
        assert sampler.wait() == 0, sampler.output
    for s in sinks:
        s.close()
    expected = [[struct.pack("<Q", n)] for n in range(4)]
    assert got == [expected, expected]


def test_our_splitter_between_libzmq_sockets_keeps_parts(ctx: object, ipc: object) -> None:
    src, o0, o1 = ipc("in"), ipc("out0"), ipc("out1")  # type: ignore[operator]
    push = fairmq_socket(ctx, "push", "bsampler1", "data", hwm=50)
    push.bind(src)
    outs = [fairmq_socket(ctx, "pull", f"proxy{i + 1}", "data-in", hwm=50) for i in range(2)]
    outs[0].bind(o0)
    outs[1].bind(o1)
    with DeviceProcess.device(
            "splitter", "--id", "splitter1", "--channel-config",
            f"name=data-in,type=pull,method=connect,address={src},rateLogging=0,"
            "sndBufSize=50,rcvBufSize=50",
            f"name=data-out,type=push,method=connect,address={o0},address={o1},"
            "rateLogging=0,sndBufSize=50,rcvBufSize=50") as splitter:
        splitter.wait_line("fair::mq::Device running...")
        for i in range(6):
            send_multipart(push, [b"part-a%d" % i, b"", b"part-c"])
        got = [[recv_multipart(o) for _ in range(3)] for o in outs]
        splitter.signal()
        assert splitter.wait() == 0, splitter.output
    push.close()
    for o in outs:
        o.close()
    # round robin over data-out[0] and data-out[1], each message whole
    assert got[0] == [[b"part-a%d" % i, b"", b"part-c"] for i in (0, 2, 4)]
    assert got[1] == [[b"part-a%d" % i, b"", b"part-c"] for i in (1, 3, 5)]
