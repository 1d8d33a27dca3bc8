"""Device runtime on zmtp.Socket: static lifecycle, OnData, ConditionalRun, timeouts.

Needs the trio socket layer (``zmtp.Socket``); skipped until it exists.
"""

from __future__ import annotations

import logging
import uuid

import pytest
import trio

import zmtp
from zmtp.device.device import INTERRUPTED, TIMEOUT, Device, run_static
from zmtp.device.options import OptionGroup, parse_args
from zmtp.device.states import State, Transition

pytestmark = pytest.mark.skipif(not hasattr(zmtp, "Socket"), reason="needs zmtp.Socket")


class Sampler(Device):
    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        group.add("max-iterations", "unsigned long", "iterations (0 - infinite)", 0)
        group.add("text", "string", "text to send", "Hello")

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    async def conditional_run(self) -> bool:
        assert self.options is not None
        text = self.options.get_str("text").encode()
        assert await self.send(text, "data") == len(text)
        self.sent += 1
        return self.sent < self.options.get_int("max-iterations")


class Sink(Device):
    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        group.add("max-iterations", "unsigned long", "iterations (0 - infinite)", 0)

    def __init__(self) -> None:
        super().__init__()
        self.received: list[bytes] = []

    async def init_task(self) -> None:
        self.on_data("data", self.handle)

    async def handle(self, msg: bytes, index: int) -> bool:
        self.received.append(msg)
        assert self.options is not None
        return len(self.received) < self.options.get_int("max-iterations")


def make(cls: type[Device], *argv: str) -> Device:
    dev = cls()
    dev.options = parse_args(list(argv), cls.add_custom_options)
    return dev


async def test_sampler_sink_over_inproc(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    addr = f"inproc://dev-{uuid.uuid4().hex}"
    sampler = make(Sampler, "--id", "sampler1", "--control", "static", "--rate", "100",
                   "--max-iterations", "3", "--channel-config",
                   f"name=data,type=push,method=bind,address={addr},rateLogging=0")
    sink = make(Sink, "--id", "sink1", "--max-iterations", "3", "--channel-config",
                f"name=data,type=pull,method=connect,address={addr},rateLogging=0")
    codes: dict[str, int] = {}

    async def go(name: str, dev: Device) -> None:
        codes[name] = await run_static(dev)

    with trio.fail_after(10):
        async with trio.open_nursery() as n:
            n.start_soon(go, "sampler", sampler)
            n.start_soon(go, "sink", sink)
    assert codes == {"sampler": 0, "sink": 0}
    assert isinstance(sink, Sink) and sink.received == [b"Hello"] * 3
    assert sampler.state is State.EXITING
    messages = [r.getMessage() for r in caplog.records if r.name == "zmtp.device.states"]
    assert "READY ---> RUNNING" in messages and "IDLE ---> EXITING" in messages


async def test_tcp_bind_write_back_and_resolution() -> None:
    sampler = make(Sampler, "--id", "s", "--max-iterations", "2", "--channel-config",
                   "name=data,type=push,method=bind,address=tcp://127.0.0.1:*,rateLogging=0")
    sink_box: list[Device] = []
    codes: list[int] = []

    async def start_sink() -> None:
        # wait until the sampler is bound, then connect to what it wrote back
        while State.BOUND not in sampler.history:
            await trio.sleep(0.01)
        address = str(sampler.config["chans.data.0.address"])
        assert address.startswith("tcp://127.0.0.1:") and not address.endswith("*")
        port = address.rsplit(":", 1)[1]
        sink = make(Sink, "--id", "k", "--max-iterations", "2", "--channel-config",
                    f"name=data,type=pull,method=connect,address=tcp://localhost:{port}")
        sink_box.append(sink)
        codes.append(await run_static(sink))
        # localhost was resolved to IPv4 and written back
        assert sink.config["chans.data.0.address"] == f"tcp://127.0.0.1:{port}"

    async def start_sampler() -> None:
        codes.append(await run_static(sampler))

    with trio.fail_after(10):
        async with trio.open_nursery() as n:
            n.start_soon(start_sampler)
            n.start_soon(start_sink)
    assert codes == [0, 0]
    sink = sink_box[0]
    assert isinstance(sink, Sink) and sink.received == [b"Hello", b"Hello"]


class Failing(Device):
    async def init_task(self) -> None:
        raise RuntimeError("user hook failed")


async def test_exception_in_hook_ends_in_error_with_exit_code_1() -> None:
    dev = make(Failing, "--id", "f", "--channel-config",
               f"name=data,type=push,method=bind,address=inproc://f-{uuid.uuid4().hex}")
    with trio.fail_after(5):
        assert await run_static(dev) == 1
    assert dev.state is State.ERROR


class Waiter(Device):
    def __init__(self) -> None:
        super().__init__()
        self.codes: list[int | list[bytes]] = []

    async def run(self) -> None:
        self.codes.append(await self.receive("data", 0, 0))
        self.codes.append(await self.receive("data", 0, 150))
        self.codes.append(await self.receive("data", 0, -1))  # interrupted by the test


async def test_fairmq_timeout_semantics() -> None:
    dev = make(Waiter, "--id", "w", "--channel-config",
               f"name=data,type=pull,method=bind,address=inproc://w-{uuid.uuid4().hex}")
    assert isinstance(dev, Waiter)

    async def interrupt() -> None:
        while len(dev.codes) < 2:
            await trio.sleep(0.01)
        await trio.sleep(0.05)
        dev.change_state(Transition.STOP)

    with trio.fail_after(5):
        async with trio.open_nursery() as n:
            n.start_soon(interrupt)
            assert await run_static(dev) == 0
    assert dev.codes == [TIMEOUT, TIMEOUT, INTERRUPTED]


async def test_empty_parts_are_refused() -> None:
    class Empty(Device):
        result = 0

        async def run(self) -> None:
            Empty.result = await self.send([], "data")

    dev = make(Empty, "--id", "e", "--channel-config",
               f"name=data,type=push,method=bind,address=inproc://e-{uuid.uuid4().hex}")
    with trio.fail_after(5):
        assert await run_static(dev) == 0
    assert Empty.result == -1


async def test_identity_seen_by_a_libzmq_router() -> None:
    zmq = pytest.importorskip("zmq")
    ctx = zmq.Context.instance()
    router = ctx.socket(zmq.ROUTER)
    router.linger = 0
    router.rcvtimeo = 5000
    port = router.bind_to_random_port("tcp://127.0.0.1")

    class Dealer(Device):
        async def run(self) -> None:
            assert await self.send([b"a", b"bc"], "data") == 3

    dev = make(Dealer, "--id", "dev1", "--channel-config",
               f"name=data,type=dealer,method=connect,address=tcp://127.0.0.1:{port}")
    try:
        with trio.fail_after(10):
            async with trio.open_nursery() as n:
                result: list[list[bytes]] = []

                async def receive() -> None:
                    result.append(await trio.to_thread.run_sync(router.recv_multipart))

                n.start_soon(receive)
                assert await run_static(dev) == 0
            frames = result[0]
    finally:
        router.close()
    assert frames == [b"dev1.data[0].dealer", b"a", b"bc"]
