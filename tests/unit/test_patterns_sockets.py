"""Pattern behaviour between zmtp sockets, over tcp and inproc: load balancing, routing ids,
the REQ/REP envelope and state machine, ROUTER options, PAIR exclusivity, XPUB."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
import trio

import zmtp
from zmtp.monitor import EventKind, SocketEvent
from zmtp.patterns import StateError

TRANSPORTS = ["tcp", "inproc"]


def bind_address(transport: str) -> str:
    return "tcp://127.0.0.1:*" if transport == "tcp" else f"inproc://{uuid.uuid4().hex}"


async def wait_handshakes(events: trio.MemoryReceiveChannel[SocketEvent], count: int) -> None:
    with trio.fail_after(10):
        seen = 0
        async for event in events:
            if event.kind is EventKind.HANDSHAKE_SUCCEEDED:
                seen += 1
                if seen == count:
                    return


@asynccontextmanager
async def star(center_type: zmtp.SocketType, leaf_type: zmtp.SocketType, count: int,
               transport: str, **leaf_options: object) -> AsyncIterator[
                   tuple[zmtp.Socket, list[zmtp.Socket]]]:
    """``center`` bound, ``count`` leaves connected to it, every handshake done."""
    async with AsyncExitStack() as stack:
        center = await stack.enter_async_context(zmtp.Socket(center_type, linger=0))
        events = center.events()
        endpoint = await center.bind(bind_address(transport))
        leaves = []
        for _ in range(count):
            leaf = await stack.enter_async_context(zmtp.Socket(leaf_type, linger=0,
                                                               **leaf_options))
            await leaf.connect(endpoint)
            leaves.append(leaf)
        await wait_handshakes(events, count)
        yield center, leaves


async def _count_received(sock: zmtp.Socket, counts: list[int], index: int,
                          done: trio.Event, total: int) -> None:
    while True:
        await sock.recv_multipart()
        counts[index] += 1
        if sum(counts) == total:
            done.set()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("kind", ["PUSH", "DEALER"])
async def test_load_balanced_exactly_when_all_keep_up(transport: str, kind: str) -> None:
    leaf_type = zmtp.PULL if kind == "PUSH" else zmtp.DEALER
    async with star(getattr(zmtp, kind), leaf_type, 3, transport) as (center, leaves):
        counts = [0, 0, 0]
        done = trio.Event()
        async with trio.open_nursery() as nursery:
            for index, leaf in enumerate(leaves):
                nursery.start_soon(_count_received, leaf, counts, index, done, 3000)
            with trio.fail_after(30):
                for index in range(3000):
                    await center.send_multipart([b"%d" % index, b""])
                await done.wait()
            nursery.cancel_scope.cancel()
        assert counts == [1000, 1000, 1000]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_dealer_fair_queues_from_many(transport: str) -> None:
    async with star(zmtp.DEALER, zmtp.DEALER, 3, transport) as (center, leaves):
        for index, leaf in enumerate(leaves):
            for n in range(5):
                await leaf.send_multipart([b"%d" % index, b"%d" % n])
        with trio.fail_after(10):
            got = [await center.recv_multipart() for _ in range(15)]
        for index in range(3):
            assert [m[1] for m in got if m[0] == b"%d" % index] == [b"%d" % n for n in range(5)]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_router_gets_five_byte_ids_and_set_ids(transport: str) -> None:
    async with AsyncExitStack() as stack:
        router = await stack.enter_async_context(zmtp.Socket(zmtp.ROUTER, linger=0))
        endpoint = await router.bind(bind_address(transport))
        anon1 = await stack.enter_async_context(zmtp.Socket(zmtp.DEALER, linger=0))
        anon2 = await stack.enter_async_context(zmtp.Socket(zmtp.REQ, linger=0))
        named = await stack.enter_async_context(
            zmtp.Socket(zmtp.DEALER, linger=0, routing_id=b"named"))
        for sock in (anon1, anon2, named):
            await sock.connect(endpoint)
        await anon1.send(b"1")
        await anon2.send(b"2")
        await named.send(b"3")
        with trio.fail_after(10):
            got = {m[-1]: m for m in [await router.recv_multipart() for _ in range(3)]}
        id1, id2 = got[b"1"][0], got[b"2"][0]
        for auto in (id1, id2):
            assert len(auto) == 5 and auto[0] == 0
        assert id1 != id2
        assert got[b"2"][1] == b""  # REQ's delimiter
        assert got[b"3"][0] == b"named"
        await router.send_multipart([id2, b"", b"reply"])
        await router.send_multipart([id1, b"to 1"])
        await router.send_multipart([b"named", b"to named"])
        with trio.fail_after(10):
            assert await anon2.recv_multipart() == [b"reply"]
            assert await anon1.recv_multipart() == [b"to 1"]
            assert await named.recv_multipart() == [b"to named"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_req_strict_alternation_and_rep_envelope(transport: str) -> None:
    async with zmtp.Socket(zmtp.REP, linger=0) as rep, zmtp.Socket(zmtp.REQ, linger=0) as req:
        await req.connect(await rep.bind(bind_address(transport)))
        with pytest.raises(StateError):
            await req.recv_multipart()
        with pytest.raises(StateError):
            await rep.send(b"no request")
        await req.send_multipart([b"q", b"", b"tail"])
        with pytest.raises(StateError):
            await req.send(b"second")
        with trio.fail_after(10):
            assert await rep.recv_multipart() == [b"q", b"", b"tail"]
        with pytest.raises(StateError):
            await rep.recv_multipart()
        await rep.send_multipart([b"r", b""])
        with trio.fail_after(10):
            assert await req.recv_multipart() == [b"r", b""]
        await req.send(b"again")  # alternation resets
        with trio.fail_after(10):
            assert await rep.recv() == b"again"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_rep_restores_multi_hop_envelope(transport: str) -> None:
    async with zmtp.Socket(zmtp.REP, linger=0) as rep, \
            zmtp.Socket(zmtp.DEALER, linger=0) as dealer:
        await dealer.connect(await rep.bind(bind_address(transport)))
        await dealer.send_multipart([b"hop1", b"hop2", b"", b"body"])
        with trio.fail_after(10):
            assert await rep.recv_multipart() == [b"body"]
        await rep.send(b"reply")
        with trio.fail_after(10):
            assert await dealer.recv_multipart() == [b"hop1", b"hop2", b"", b"reply"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_req_relaxed_ignores_reply_from_earlier_peer(transport: str) -> None:
    async with star(zmtp.REQ, zmtp.REP, 2, transport) as (req, reps):
        req.req_relaxed = True
        await req.send(b"1")
        await req.send(b"2")  # allowed with req_relaxed; goes to the other REP
        with trio.fail_after(10):
            first, second = await trio_gather_recv(reps)
        assert {first[1], second[1]} == {b"1", b"2"}
        by_body = {first[1]: reps[first[0]], second[1]: reps[second[0]]}
        await by_body[b"1"].send(b"reply to 1")  # from the earlier peer: ignored
        await by_body[b"2"].send(b"reply to 2")
        with trio.fail_after(10):
            assert await req.recv() == b"reply to 2"
        with pytest.raises(StateError):
            await req.recv()  # the reply to "1" is never delivered
        await req.send(b"3")  # and it does not stand in for the next reply either
        with trio.fail_after(10):
            index, body = (await trio_gather_recv_any(reps))
        assert body == b"3"
        await reps[index].send(b"reply to 3")
        with trio.fail_after(10):
            assert await req.recv() == b"reply to 3"


async def trio_gather_recv_any(socks: list[zmtp.Socket]) -> tuple[int, bytes]:
    """The first message any of ``socks`` receives, and which one."""
    result: list[tuple[int, bytes]] = []

    async def one(index: int, cancel: trio.CancelScope) -> None:
        result.append((index, await socks[index].recv()))
        cancel.cancel()

    async with trio.open_nursery() as nursery:
        for index in range(len(socks)):
            nursery.start_soon(one, index, nursery.cancel_scope)
    return result[0]


async def trio_gather_recv(socks: list[zmtp.Socket]) -> list[tuple[int, bytes]]:
    results: list[tuple[int, bytes]] = []

    async def one(index: int) -> None:
        results.append((index, await socks[index].recv()))

    async with trio.open_nursery() as nursery:
        for index in range(len(socks)):
            nursery.start_soon(one, index)
    return results


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_req_correlate_drops_stale_reply_from_same_peer(transport: str) -> None:
    async with zmtp.Socket(zmtp.ROUTER, linger=0) as router, \
            zmtp.Socket(zmtp.REQ, linger=0, req_relaxed=True, req_correlate=True) as req:
        await req.connect(await router.bind(bind_address(transport)))
        await req.send(b"1")
        await req.send(b"2")
        with trio.fail_after(10):
            one = await router.recv_multipart()
            two = await router.recv_multipart()
        assert len(one[1]) == 4 and one[2:] == [b"", b"1"]
        assert len(two[1]) == 4 and two[2:] == [b"", b"2"]
        await router.send_multipart([*one[:3], b"reply 1"])
        await router.send_multipart([*two[:3], b"reply 2"])
        with trio.fail_after(10):
            assert await req.recv() == b"reply 2"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_router_mandatory_raises_host_unreachable(transport: str) -> None:
    async with zmtp.Socket(zmtp.ROUTER, linger=0, router_mandatory=True) as router, \
            zmtp.Socket(zmtp.DEALER, linger=0, routing_id=b"d") as dealer:
        await dealer.connect(await router.bind(bind_address(transport)))
        with pytest.raises(zmtp.HostUnreachable):
            await router.send_multipart([b"nobody", b"x"])
        with pytest.raises(zmtp.HostUnreachable):
            router.send_multipart_nowait([b"nobody", b"x"])
        await dealer.send(b"hi")
        with trio.fail_after(10):
            assert await router.recv_multipart() == [b"d", b"hi"]
        await router.send_multipart([b"d", b"ok"])
        with trio.fail_after(10):
            assert await dealer.recv() == b"ok"
        router.router_mandatory = False
        await router.send_multipart([b"nobody", b"x"])  # dropped silently now


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_router_handover(transport: str) -> None:
    async with zmtp.Socket(zmtp.ROUTER, linger=0, router_handover=True) as router, \
            zmtp.Socket(zmtp.DEALER, linger=0, routing_id=b"same") as first, \
            zmtp.Socket(zmtp.DEALER, linger=0, routing_id=b"same") as second:
        endpoint = await router.bind(bind_address(transport))
        await first.connect(endpoint)
        await first.send(b"one")
        with trio.fail_after(10):
            assert await router.recv_multipart() == [b"same", b"one"]
        await second.connect(endpoint)
        await second.send(b"two")
        with trio.fail_after(10):
            assert await router.recv_multipart() == [b"same", b"two"]
        await router.send_multipart([b"same", b"to second"])
        with trio.fail_after(10):
            assert await second.recv() == b"to second"
        with trio.move_on_after(0.2):
            got = await first.recv_multipart()
            raise AssertionError(f"the displaced peer got {got!r}")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_router_without_handover_refuses_duplicate_id(transport: str) -> None:
    async with zmtp.Socket(zmtp.ROUTER, linger=0) as router, \
            zmtp.Socket(zmtp.DEALER, linger=0, routing_id=b"same") as first, \
            zmtp.Socket(zmtp.DEALER, linger=0, routing_id=b"same") as second:
        endpoint = await router.bind(bind_address(transport))
        await first.connect(endpoint)
        await first.send(b"one")
        with trio.fail_after(10):
            assert await router.recv_multipart() == [b"same", b"one"]
        await second.connect(endpoint)
        try:
            second.send_nowait(b"two")  # queued to a connection the ROUTER refuses
        except zmtp.Again:
            pass
        await first.send(b"three")
        with trio.fail_after(10):
            assert await router.recv_multipart() == [b"same", b"three"]
        with trio.move_on_after(0.2):
            got = await router.recv_multipart()
            raise AssertionError(f"the refused peer got through: {got!r}")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_pair_refuses_second_peer(transport: str) -> None:
    async with zmtp.Socket(zmtp.PAIR, linger=0) as server, \
            zmtp.Socket(zmtp.PAIR, linger=0) as first, \
            zmtp.Socket(zmtp.PAIR, linger=0, sndtimeo=0.2) as second:
        events = server.events()
        endpoint = await server.bind(bind_address(transport))
        await first.connect(endpoint)
        await wait_handshakes(events, 1)
        await second.connect(endpoint)
        await first.send(b"from first")
        with trio.fail_after(10):
            assert await server.recv() == b"from first"
        if transport == "inproc":
            with pytest.raises(zmtp.Again):  # refused at once: no peer to send to
                await second.send(b"from second")
        else:
            await second.send(b"from second")  # queued while it keeps reconnecting
        await server.send(b"to first")
        with trio.fail_after(10):
            assert await first.recv() == b"to first"
        with trio.move_on_after(0.3):
            got = await server.recv_multipart()
            raise AssertionError(f"the second PAIR peer got through: {got!r}")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_xpub_sees_zmtp_subscriptions(transport: str) -> None:
    async with zmtp.Socket(zmtp.XPUB, linger=0) as xpub:
        endpoint = await xpub.bind(bind_address(transport))
        async with zmtp.Socket(zmtp.SUB, linger=0) as sub:
            await sub.connect(endpoint)
            sub.subscribe(b"t")
            with trio.fail_after(10):
                assert await xpub.recv_multipart() == [b"\x01t"]
            sub.subscribe(b"t")
            sub.subscribe(b"u")
            with trio.fail_after(10):
                assert await xpub.recv_multipart() == [b"\x01u"]
            sub.unsubscribe(b"t")
            sub.unsubscribe(b"u")
            with trio.fail_after(10):
                assert await xpub.recv_multipart() == [b"\x00u"]
            await xpub.send_multipart([b"t-data"])
            with trio.fail_after(10):
                assert await sub.recv() == b"t-data"
        # The subscriber closed: XPUB synthesises the unsubscribe for "t".
        with trio.fail_after(10):
            assert await xpub.recv_multipart() == [b"\x00t"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_sub_connected_before_subscribe_and_after(transport: str) -> None:
    """Subscriptions made before and after the connection both reach the publisher."""
    async with zmtp.Socket(zmtp.XPUB, linger=0) as xpub, \
            zmtp.Socket(zmtp.SUB, linger=0) as sub:
        sub.subscribe(b"before")
        await sub.connect(await xpub.bind(bind_address(transport)))
        with trio.fail_after(10):
            assert await xpub.recv_multipart() == [b"\x01before"]
        sub.subscribe(b"after")
        with trio.fail_after(10):
            assert await xpub.recv_multipart() == [b"\x01after"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_large_writable_frames_arrive_as_bytes(transport: str) -> None:
    """bytearray frames >= 64 KiB are sent zero-copy; PUB must still match their topic,
    and the receiver gets bytes (inproc included), not a view of the sender's buffer."""
    async with zmtp.Socket(zmtp.PUB, linger=0) as pub, zmtp.Socket(zmtp.SUB, linger=0) as sub:
        sub.subscribe(b"ab")
        await sub.connect(await pub.bind(bind_address(transport)))
        payload = bytearray(b"ab" + b"x" * 100_000)
        with trio.fail_after(10):
            while True:
                await pub.send_multipart([payload, bytearray(70_000)])
                with trio.move_on_after(0.02):
                    got = await sub.recv_multipart()
                    break
        payload[0:2] = b"ZZ"
        assert [type(frame) for frame in got] == [bytes, bytes]
        assert got[0][:2] == b"ab" and len(got[0]) == 100_002 and got[1] == bytes(70_000)
        await pub.send(bytearray(b"no" + b"x" * 100_000))  # filtered out, no error


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_req_discarding_a_full_pipe_lets_its_connection_read_again(transport: str) -> None:
    """REQ (relaxed) moves on from a peer whose replies filled rcvhwm: the queued replies
    are dropped, and that connection must keep reading (its reader was parked at HWM)."""
    async with zmtp.Socket(zmtp.ROUTER, linger=0) as a, \
            zmtp.Socket(zmtp.ROUTER, linger=0) as b, \
            zmtp.Socket(zmtp.REQ, linger=0, req_relaxed=True, req_correlate=True,
                        rcvhwm=5) as req:
        events = req.events()
        await req.connect(await a.bind(bind_address(transport)))
        await wait_handshakes(events, 1)
        await req.connect(await b.bind(bind_address(transport)))
        await wait_handshakes(events, 1)
        await req.send(b"1")  # to a (first peer)
        with trio.fail_after(10):
            first = await a.recv_multipart()
        for _ in range(50):  # a floods stale replies: the REQ's queue for a fills up
            await a.send_multipart([*first[:3], b"stale"])
        if transport == "tcp":  # wait until the connection's reader is parked at rcvhwm
            with trio.fail_after(10):
                while not any(p.in_blocked for p in req._pipes):  # type: ignore[attr-defined]
                    await trio.sleep(0.005)
        await req.send(b"2")  # to b: a's queue is discarded
        with trio.fail_after(10):
            second = await b.recv_multipart()
        await b.send_multipart([*second[:3], b"reply 2"])
        with trio.fail_after(10):
            assert await req.recv() == b"reply 2"
        await req.send(b"3")  # to a again
        with trio.fail_after(10):
            third = await a.recv_multipart()
            while third[-1] != b"3":
                third = await a.recv_multipart()
        await a.send_multipart([*third[:3], b"reply 3"])
        with trio.fail_after(10):
            assert await req.recv() == b"reply 3"
