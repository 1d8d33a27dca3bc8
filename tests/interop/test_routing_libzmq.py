"""Routing ids between zmtp and libzmq, and a REQ -> ROUTER -> DEALER -> REP broker built
half from one and half from the other (both ways round)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

import zmtp

from .conftest import endpoint_for, trecv, zbind, zmq, zrecv, zrecv_nowait, zsend, zsock

TRANSPORTS = ["tcp", "ipc"]


def _is_auto_id(routing_id: bytes) -> bool:
    return len(routing_id) == 5 and routing_id[0] == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_zmtp_router_sees_libzmq_ids(ctx: Any, ipc_dir: Path, transport: str) -> None:
    async with zmtp.Socket(zmtp.ROUTER, linger=0) as router:
        endpoint = await router.bind(endpoint_for(transport, ipc_dir))
        named = zsock(ctx, "DEALER", routing_id=b"dealer-1")
        anon1 = zsock(ctx, "DEALER")
        anon2 = zsock(ctx, "REQ")
        try:
            for sock in (named, anon1, anon2):
                sock.connect(endpoint)
            await zsend(named, [b"from named"])
            await zsend(anon1, [b"from anon1"])
            await zsend(anon2, [b"from anon2"])
            ids: dict[bytes, bytes] = {}
            for _ in range(3):
                got = await trecv(router)
                ids[got[-1]] = got[0]
            assert ids[b"from named"] == b"dealer-1"
            assert _is_auto_id(ids[b"from anon1"]) and _is_auto_id(ids[b"from anon2"])
            assert ids[b"from anon1"] != ids[b"from anon2"]
            # Replies are routed by those ids, including the automatic ones.
            await router.send_multipart([ids[b"from anon2"], b"", b"to anon2"])
            await router.send_multipart([ids[b"from named"], b"to named"])
            await router.send_multipart([ids[b"from anon1"], b"to anon1"])
            assert await zrecv(anon2) == [b"to anon2"]
            assert await zrecv(named) == [b"to named"]
            assert await zrecv(anon1) == [b"to anon1"]
        finally:
            for sock in (named, anon1, anon2):
                sock.close(linger=0)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_libzmq_router_sees_zmtp_ids(ctx: Any, ipc_dir: Path, transport: str) -> None:
    router = zsock(ctx, "ROUTER")
    try:
        endpoint = zbind(router, endpoint_for(transport, ipc_dir))
        async with zmtp.Socket(zmtp.DEALER, linger=0, routing_id=b"zmtp-dealer") as named, \
                zmtp.Socket(zmtp.DEALER, linger=0) as anon, \
                zmtp.Socket(zmtp.REQ, linger=0, routing_id="req-id") as req:
            for sock in (named, anon, req):
                await sock.connect(endpoint)
            await named.send(b"named")
            await anon.send(b"anon")
            await req.send(b"req")
            ids: dict[bytes, bytes] = {}
            for _ in range(3):
                got = await zrecv(router)
                ids[got[-1]] = got[0]
            assert ids[b"named"] == b"zmtp-dealer"
            assert ids[b"req"] == b"req-id"
            assert _is_auto_id(ids[b"anon"])
            await zsend(router, [b"req-id", b"", b"reply"])
            await zsend(router, [ids[b"anon"], b"to anon"])
            await zsend(router, [b"zmtp-dealer", b"to named"])
            assert await trecv(req) == [b"reply"]
            assert await trecv(anon) == [b"to anon"]
            assert await trecv(named) == [b"to named"]
    finally:
        router.close(linger=0)


async def test_zmtp_router_mandatory_with_libzmq_peer(ctx: Any) -> None:
    async with zmtp.Socket(zmtp.ROUTER, linger=0, router_mandatory=True) as router:
        endpoint = await router.bind("tcp://127.0.0.1:*")
        dealer = zsock(ctx, "DEALER", routing_id=b"known")
        try:
            dealer.connect(endpoint)
            with pytest.raises(zmtp.HostUnreachable):
                await router.send_multipart([b"unknown", b"x"])
            await zsend(dealer, [b"hi"])
            assert await trecv(router) == [b"known", b"hi"]
            await router.send_multipart([b"known", b"x"])
            assert await zrecv(dealer) == [b"x"]
            dealer.close(linger=0)
            with trio.fail_after(10):  # once the peer is gone, its id is unknown again
                while True:
                    try:
                        await router.send_multipart([b"known", b"x"])
                    except zmtp.HostUnreachable:
                        break
                    await trio.sleep(0.01)
        finally:
            dealer.close(linger=0)


async def test_zmtp_router_handover_with_libzmq_peers(ctx: Any) -> None:
    async with zmtp.Socket(zmtp.ROUTER, linger=0, router_handover=True) as router:
        endpoint = await router.bind("tcp://127.0.0.1:*")
        first = zsock(ctx, "DEALER", routing_id=b"same")
        second = zsock(ctx, "DEALER", routing_id=b"same")
        try:
            first.connect(endpoint)
            await zsend(first, [b"one"])
            assert await trecv(router) == [b"same", b"one"]
            second.connect(endpoint)
            await zsend(second, [b"two"])
            assert await trecv(router) == [b"same", b"two"]
            await router.send_multipart([b"same", b"to the new one"])
            assert await zrecv(second) == [b"to the new one"]
            assert zrecv_nowait(first) is None
        finally:
            first.close(linger=0)
            second.close(linger=0)


async def test_zmtp_router_without_handover_keeps_first_peer(ctx: Any) -> None:
    async with zmtp.Socket(zmtp.ROUTER, linger=0) as router:
        endpoint = await router.bind("tcp://127.0.0.1:*")
        first = zsock(ctx, "DEALER", routing_id=b"same")
        second = zsock(ctx, "DEALER", routing_id=b"same")
        try:
            first.connect(endpoint)
            await zsend(first, [b"one"])
            assert await trecv(router) == [b"same", b"one"]
            second.connect(endpoint)
            await zsend(second, [b"two"])  # refused by the ROUTER: never delivered
            await zsend(first, [b"three"])
            assert await trecv(router) == [b"same", b"three"]
            await router.send_multipart([b"same", b"to the first"])
            assert await zrecv(first) == [b"to the first"]
        finally:
            first.close(linger=0)
            second.close(linger=0)


# -- brokers -----------------------------------------------------------------------------

CLIENT_IDS = [b"client-a", b""]  # one named, one with an automatic id


async def _zmtp_broker(frontend: zmtp.Socket, backend: zmtp.Socket,
                       seen_ids: list[bytes]) -> None:
    async def forward(src: zmtp.Socket, dst: zmtp.Socket, record: bool) -> None:
        while True:
            message = await src.recv_multipart()
            if record:
                seen_ids.append(message[0])
            await dst.send_multipart(message)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(forward, frontend, backend, True)
        nursery.start_soon(forward, backend, frontend, False)


async def _libzmq_broker(frontend: Any, backend: Any, seen_ids: list[bytes]) -> None:
    while True:
        moved = False
        message = zrecv_nowait(frontend)
        if message is not None:
            seen_ids.append(message[0])
            await zsend(backend, message)
            moved = True
        message = zrecv_nowait(backend)
        if message is not None:
            await zsend(frontend, message)
            moved = True
        await trio.sleep(0 if moved else 0.002)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_zmtp_broker_libzmq_ends(ctx: Any, ipc_dir: Path, transport: str) -> None:
    seen_ids: list[bytes] = []
    clients = [zsock(ctx, "REQ", **({"routing_id": cid} if cid else {})) for cid in CLIENT_IDS]
    workers = [zsock(ctx, "REP") for _ in range(2)]
    try:
        async with zmtp.Socket(zmtp.ROUTER, linger=0) as frontend, \
                zmtp.Socket(zmtp.DEALER, linger=0) as backend, trio.open_nursery() as nursery:
            front = await frontend.bind(endpoint_for(transport, ipc_dir))
            back = await backend.bind(endpoint_for(transport, ipc_dir))
            nursery.start_soon(_zmtp_broker, frontend, backend, seen_ids)
            for sock in clients:
                sock.connect(front)
            for sock in workers:
                sock.connect(back)

            async def worker(sock: Any, name: bytes) -> None:
                while True:
                    request = await zrecv(sock, timeout=30)
                    await zsend(sock, [name, *request])

            for index, sock in enumerate(workers):
                nursery.start_soon(worker, sock, b"w%d" % index)
            with trio.fail_after(20):
                for round_ in range(10):
                    for index, sock in enumerate(clients):
                        await zsend(sock, [b"c%d" % index, b"r%d" % round_])
                    for index, sock in enumerate(clients):
                        reply = await zrecv(sock)
                        assert reply[0] in (b"w0", b"w1")
                        assert reply[1:] == [b"c%d" % index, b"r%d" % round_]
            nursery.cancel_scope.cancel()
        assert b"client-a" in seen_ids
        assert any(_is_auto_id(cid) for cid in seen_ids)
        assert set(seen_ids) <= {b"client-a"} | {c for c in seen_ids if _is_auto_id(c)}
    finally:
        for sock in clients + workers:
            sock.close(linger=0)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_libzmq_broker_zmtp_ends(ctx: Any, ipc_dir: Path, transport: str) -> None:
    seen_ids: list[bytes] = []
    frontend = zsock(ctx, "ROUTER")
    backend = zsock(ctx, "DEALER")
    try:
        front = zbind(frontend, endpoint_for(transport, ipc_dir))
        back = zbind(backend, endpoint_for(transport, ipc_dir))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_libzmq_broker, frontend, backend, seen_ids)
            async with zmtp.Socket(zmtp.REQ, linger=0, routing_id=b"client-a") as c0, \
                    zmtp.Socket(zmtp.REQ, linger=0) as c1, \
                    zmtp.Socket(zmtp.REP, linger=0) as w0, \
                    zmtp.Socket(zmtp.REP, linger=0) as w1:
                clients = [c0, c1]
                for sock in clients:
                    await sock.connect(front)
                for sock in (w0, w1):
                    await sock.connect(back)

                async def worker(sock: zmtp.Socket, name: bytes) -> None:
                    while True:
                        request = await sock.recv_multipart()
                        await sock.send_multipart([name, *request])

                nursery.start_soon(worker, w0, b"w0")
                nursery.start_soon(worker, w1, b"w1")
                with trio.fail_after(20):
                    for round_ in range(10):
                        for index, sock in enumerate(clients):
                            await sock.send_multipart([b"c%d" % index, b"r%d" % round_])
                        for index, sock in enumerate(clients):
                            reply = await sock.recv_multipart()
                            assert reply[0] in (b"w0", b"w1")
                            assert reply[1:] == [b"c%d" % index, b"r%d" % round_]
                nursery.cancel_scope.cancel()
        assert b"client-a" in seen_ids
        assert any(_is_auto_id(cid) for cid in seen_ids)
    finally:
        frontend.close(linger=0)
        backend.close(linger=0)


async def test_zmtp_dealer_round_robins_libzmq_reps(ctx: Any) -> None:
    """DEALER spreads requests over REP workers and gets each reply with its envelope."""
    workers = [zsock(ctx, "REP") for _ in range(3)]
    try:
        async with zmtp.Socket(zmtp.DEALER, linger=0) as dealer:
            endpoint = await dealer.bind("tcp://127.0.0.1:*")
            for sock in workers:
                sock.connect(endpoint)
            # Wait for all three handshakes before sending, so none is skipped.
            with trio.fail_after(10):
                while len([p for p in dealer._pipes if p.ready]) < 3:  # type: ignore[attr-defined]
                    for sock in workers:
                        sock.getsockopt(zmq.EVENTS)
                    await trio.sleep(0.005)
            for index in range(30):
                await dealer.send_multipart([b"", b"%d" % index])
            counts = []
            for sock in workers:
                got = 0
                while got < 10:
                    request = await zrecv(sock)
                    await zsend(sock, request)
                    got += 1
                counts.append(got)
                assert zrecv_nowait(sock) is None
            replies = [await trecv(dealer) for _ in range(30)]
            assert sorted(int(r[1]) for r in replies) == list(range(30))
            assert all(r[0] == b"" for r in replies)
    finally:
        for sock in workers:
            sock.close(linger=0)


async def test_zmtp_req_correlate_against_libzmq_rep(ctx: Any) -> None:
    rep = zsock(ctx, "REP")
    try:
        endpoint = zbind(rep, "tcp://127.0.0.1:*")
        async with zmtp.Socket(zmtp.REQ, linger=0, req_relaxed=True,
                               req_correlate=True) as req:
            await req.connect(endpoint)
            await req.send(b"1")
            await req.send(b"2")  # relaxed: allowed before the reply to "1"
            assert await zrecv(rep) == [b"1"]
            await zsend(rep, [b"reply 1"])  # stale: its request id no longer matches
            assert await zrecv(rep) == [b"2"]
            await zsend(rep, [b"reply 2"])
            assert await trecv(req) == [b"reply 2"]
    finally:
        rep.close(linger=0)


async def test_libzmq_req_correlate_against_zmtp_rep(ctx: Any) -> None:
    req = zsock(ctx, "REQ", req_relaxed=1, req_correlate=1)
    try:
        async with zmtp.Socket(zmtp.REP, linger=0) as rep:
            req.connect(await rep.bind("tcp://127.0.0.1:*"))
            await zsend(req, [b"1"])
            await zsend(req, [b"2"])
            assert await trecv(rep) == [b"1"]
            await rep.send(b"reply 1")
            assert await trecv(rep) == [b"2"]
            await rep.send(b"reply 2")
            assert await zrecv(req) == [b"reply 2"]
    finally:
        req.close(linger=0)


async def test_zmtp_req_relaxed_against_libzmq_router(ctx: Any) -> None:
    """The ROUTER sees REQ_CORRELATE's envelope: [id, 4-byte request id, '', body]."""
    router = zsock(ctx, "ROUTER")
    try:
        endpoint = zbind(router, "tcp://127.0.0.1:*")
        async with zmtp.Socket(zmtp.REQ, linger=0, req_relaxed=True, req_correlate=True,
                               routing_id=b"r") as req:
            await req.connect(endpoint)
            await req.send(b"q")
            got = await zrecv(router)
            assert got[0] == b"r" and len(got[1]) == 4 and got[2:] == [b"", b"q"]
            await zsend(router, [*got[:3], b"a"])
            assert await trecv(req) == [b"a"]
    finally:
        router.close(linger=0)


async def test_zmtp_push_splits_evenly_over_libzmq_pulls(ctx: Any) -> None:
    pulls = [zsock(ctx, "PULL") for _ in range(3)]
    try:
        async with zmtp.Socket(zmtp.PUSH, linger=0) as push:
            events = push.events()
            endpoint = await push.bind("tcp://127.0.0.1:*")
            for sock in pulls:
                sock.connect(endpoint)
            with trio.fail_after(10):
                seen = 0
                async for event in events:
                    seen += event.kind.name == "HANDSHAKE_SUCCEEDED"
                    if seen == 3:
                        break
            counts = [0, 0, 0]

            async def drain() -> None:
                while sum(counts) < 3000:
                    moved = False
                    for index, sock in enumerate(pulls):
                        if zrecv_nowait(sock) is not None:
                            counts[index] += 1
                            moved = True
                    await trio.sleep(0 if moved else 0.001)

            with trio.fail_after(30):
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(drain)
                    for index in range(3000):
                        await push.send(b"%d" % index)
            assert counts == [1000, 1000, 1000]
    finally:
        for sock in pulls:
            sock.close(linger=0)


async def test_libzmq_push_splits_evenly_over_zmtp_pulls(ctx: Any) -> None:
    push = zsock(ctx, "PUSH")
    try:
        endpoint = zbind(push, "tcp://127.0.0.1:*")
        async with zmtp.Socket(zmtp.PULL, linger=0) as p0, \
                zmtp.Socket(zmtp.PULL, linger=0) as p1, \
                zmtp.Socket(zmtp.PULL, linger=0) as p2:
            pulls = [p0, p1, p2]
            for sock in pulls:
                await sock.connect(endpoint)
            # libzmq attaches accepted peers lazily: round-trip one message per peer first.
            warm: set[int] = set()
            with trio.fail_after(10):
                while len(warm) < 3:
                    await zsend(push, [b"warm"])
                    for index, sock in enumerate(pulls):
                        with trio.move_on_after(0.01):
                            await sock.recv()
                            warm.add(index)
            # Each PULL now surely has its pipe in libzmq's load balancer.
            counts = [0, 0, 0]

            async def count(index: int) -> None:
                while True:
                    if await pulls[index].recv() != b"warm":  # late warm-ups don't count
                        counts[index] += 1

            async with trio.open_nursery() as nursery:
                for index in range(3):
                    nursery.start_soon(count, index)
                for index in range(3000):
                    await zsend(push, [b"%d" % index])
                with trio.fail_after(10):
                    while sum(counts) < 3000:
                        await trio.sleep(0.005)
                nursery.cancel_scope.cancel()
            assert counts == [1000, 1000, 1000]
    finally:
        push.close(linger=0)


async def test_router_mandatory_blocked_send_fails_when_peer_leaves(ctx: Any) -> None:
    """ROUTER_MANDATORY waits while the peer's queue is full; if that peer then goes away
    the waiting send must raise HostUnreachable (libzmq: EHOSTUNREACH), not wait forever."""
    dealer = zsock(ctx, "DEALER", routing_id=b"slow", rcvhwm=1, rcvbuf=65536)
    try:
        async with zmtp.Socket(zmtp.ROUTER, linger=0, router_mandatory=True, sndhwm=1,
                               sndbuf=65536) as router:
            dealer.connect(await router.bind("tcp://127.0.0.1:*"))
            await zsend(dealer, [b"hi"])
            assert await trecv(router) == [b"slow", b"hi"]
            chunk = b"x" * 200_000
            with trio.fail_after(10):
                while True:  # fill everything between us and the non-reading dealer
                    try:
                        router.send_multipart_nowait([b"slow", chunk])
                    except zmtp.Again:
                        break
                    await trio.sleep(0.005)

            async def close_dealer_soon() -> None:
                await trio.sleep(0.2)
                dealer.close(linger=0)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(close_dealer_soon)
                with trio.fail_after(10), pytest.raises(zmtp.HostUnreachable):
                    # The writer may still move a message into the kernel, so a send can
                    # find room; keep sending: the one that waits must fail, not hang.
                    while True:
                        await router.send_multipart([b"slow", chunk])
    finally:
        dealer.close(linger=0)
