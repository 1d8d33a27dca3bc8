"""zmtp.zmq.asyncio: sockets on the running loop, against themselves and against pyzmq.

The suite runs under pytest-trio's trio mode, so each test drives its own asyncio loop
with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import zmtp.zmq as zmq
import zmtp.zmq.asyncio as zasyncio


def run(body: Callable[[zasyncio.Context], Awaitable[None]], timeout: float = 20) -> None:
    async def main() -> None:
        ctx = zasyncio.Context()
        try:
            await asyncio.wait_for(body(ctx), timeout)
        finally:
            ctx.destroy(linger=0)

    asyncio.run(main())


def _pair(ctx: zasyncio.Context, a: int, b: int, endpoint: str = "tcp://127.0.0.1:*"
          ) -> tuple[Any, Any]:
    sa, sb = ctx.socket(a), ctx.socket(b)
    sa.linger = sb.linger = 0
    sb.bind(endpoint)
    sa.connect(sb.last_endpoint.decode())
    return sa, sb


@pytest.mark.parametrize("endpoint", ["tcp://127.0.0.1:*", "ipc://*", "inproc://pair"])
def test_send_recv_multipart_and_sugar(endpoint: str) -> None:
    async def body(ctx: zasyncio.Context) -> None:
        a, b = _pair(ctx, zmq.DEALER, zmq.ROUTER, endpoint)
        await a.send_multipart([b"x", b"y"])
        rid, *rest = await b.recv_multipart()
        assert rest == [b"x", b"y"]
        await b.send_multipart([rid, b"back"])
        assert await a.recv() == b"back"
        await a.send_string("str")
        assert (await b.recv_multipart())[1] == b"str"
        await b.send_multipart([rid, b'{"k": 1}'])
        assert await a.recv_json() == {"k": 1}
        await a.send(b"p1", zmq.SNDMORE)
        await a.send(b"p2")
        assert await b.recv() == rid
        frame = await b.recv(copy=False)
        assert frame.bytes == b"p1" and frame.more
        assert await b.recv() == b"p2"

    run(body)


def test_recv_waits_and_cancel_leaves_message_queued() -> None:
    async def body(ctx: zasyncio.Context) -> None:
        push, pull = _pair(ctx, zmq.PUSH, zmq.PULL)
        waiting = pull.recv()
        await asyncio.sleep(0.01)
        assert not waiting.done()
        waiting.cancel()
        await push.send(b"kept")
        await asyncio.sleep(0.05)
        assert await pull.recv() == b"kept"
        # a task blocked in recv is resumed by the arrival
        task = asyncio.ensure_future(pull.recv())
        await asyncio.sleep(0.01)
        await push.send(b"later")
        assert await task == b"later"

    run(body)


def test_noblock_timeouts_and_poll() -> None:
    async def body(ctx: zasyncio.Context) -> None:
        push, pull = _pair(ctx, zmq.PUSH, zmq.PULL)
        with pytest.raises(zmq.Again):
            await pull.recv(zmq.NOBLOCK)
        pull.rcvtimeo = 30
        with pytest.raises(zmq.Again):
            await pull.recv()
        assert await pull.poll(20) == 0
        await push.send(b"x")
        assert await pull.poll(2000) == zmq.POLLIN
        poller = zasyncio.Poller()
        poller.register(pull, zmq.POLLIN)
        assert await poller.poll(1000) == [(pull, zmq.POLLIN)]
        assert await pull.recv() == b"x"
        assert await poller.poll(20) == []
        lonely = ctx.socket(zmq.PUSH)
        lonely.linger = 0
        with pytest.raises(zmq.Again):
            await lonely.send(b"x", zmq.NOBLOCK)
        lonely.sndtimeo = 20
        with pytest.raises(zmq.Again):
            await lonely.send(b"x")

    run(body)


def test_req_rep_round_trips_and_close_cancels() -> None:
    async def body(ctx: zasyncio.Context) -> None:
        req, rep = _pair(ctx, zmq.REQ, zmq.REP)

        async def serve() -> None:
            for _ in range(100):
                await rep.send(await rep.recv())

        server = asyncio.ensure_future(serve())
        for i in range(100):
            await req.send(b"%d" % i)
            assert await req.recv() == b"%d" % i
        await server
        with pytest.raises(zmq.ZMQError):
            await req.recv()  # REQ state: nothing asked
        pending = rep.recv()
        rep.close()
        await asyncio.sleep(0)
        assert pending.cancelled()

    run(body)


def test_sockets_made_before_the_loop_runs() -> None:
    ctx = zasyncio.Context()
    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    pull.bind("tcp://127.0.0.1:*")
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.connect(pull.last_endpoint.decode())

    async def main() -> None:
        await push.send(b"late start")
        assert await asyncio.wait_for(pull.recv(), 10) == b"late start"

    try:
        asyncio.run(main())
    finally:
        ctx.destroy(linger=0)


def test_against_pyzmq_asyncio() -> None:
    pyzmq_asyncio = pytest.importorskip("zmq.asyncio")
    import zmq as pyzmq

    async def body(ctx: zasyncio.Context) -> None:
        theirs = pyzmq_asyncio.Context()
        try:
            rep = theirs.socket(pyzmq.REP)
            rep.linger = 0
            rep.bind("tcp://127.0.0.1:*")
            req = ctx.socket(zmq.REQ)
            req.linger = 0
            req.connect(rep.last_endpoint.decode())

            async def serve() -> None:
                for _ in range(20):
                    msg = await rep.recv_multipart()
                    await rep.send_multipart([*msg, b"!"])

            server = asyncio.ensure_future(serve())
            for i in range(20):
                await req.send_multipart([b"q", b"%d" % i])
                assert await req.recv_multipart() == [b"q", b"%d" % i, b"!"]
            await server
            big = b"b" * (1 << 20)
            pull = ctx.socket(zmq.PULL)
            pull.linger = 0
            pull.bind("ipc://*")
            push = theirs.socket(pyzmq.PUSH)
            push.linger = 0
            push.connect(pull.last_endpoint.decode())
            await push.send(big)
            assert await pull.recv() == big
        finally:
            theirs.destroy(linger=0)

    run(body)


def test_sockets_outlive_their_event_loop() -> None:
    """As with pyzmq, the same sockets keep working under successive asyncio.run calls:
    listeners and connections move to the new loop (connections are re-made)."""
    ctx = zasyncio.Context()
    try:
        rep = ctx.socket(zmq.REP)
        req = ctx.socket(zmq.REQ)
        for s in (rep, req):
            s.linger = 0
        rep.bind("tcp://127.0.0.1:*")
        req.reconnect_ivl = 20
        req.connect(rep.last_endpoint.decode())

        async def round_trip(i: int) -> None:
            await req.send(b"%d" % i)
            assert await rep.recv() == b"%d" % i
            await rep.send(b"ok")
            assert await req.recv() == b"ok"

        for i in range(3):
            asyncio.run(asyncio.wait_for(round_trip(i), 10))
    finally:
        ctx.destroy(linger=0)


@pytest.mark.parametrize("ends_with", ["term", "return"])
@pytest.mark.parametrize("module", ["pyzmq", "zmtp"])
def test_messages_queued_before_close_go_out_when_asyncio_run_ends(
    module: str, ends_with: str
) -> None:
    """send, close, (term,) return from main: asyncio.run cancels what is left and closes
    its loop, yet every message gets out, as pyzmq's blocking term makes sure."""
    import zmq as pyzmq
    import zmq.asyncio as pyzmq_asyncio

    api: Any = pyzmq if module == "pyzmq" else zmq
    aio: Any = pyzmq_asyncio if module == "pyzmq" else zasyncio
    reference = pyzmq.Context()
    pull = reference.socket(pyzmq.PULL)
    pull.rcvtimeo = 5000
    pull.linger = 0
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    try:
        async def main() -> None:
            ctx = aio.Context()
            push = ctx.socket(api.PUSH)
            push.linger = 5000
            push.connect(f"tcp://127.0.0.1:{port}")  # not connected yet when closed
            for index in range(3):
                await push.send(b"%d" % index)
            push.close()
            if ends_with == "term":
                ctx.term()

        asyncio.run(main())
        assert [pull.recv() for _ in range(3)] == [b"0", b"1", b"2"]
    finally:
        pull.close()
        reference.term()
