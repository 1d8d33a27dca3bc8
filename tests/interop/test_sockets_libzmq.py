"""zmtp sockets against libzmq (through pyzmq): every compatible pair of socket types,
zmtp binding and libzmq binding, over tcp and ipc.

Each case checks a multipart message with empty frames (and a frame longer than 255
octets, so both frame-size encodings are exercised), a 1 MiB message, and for the
streaming types 10,000 messages arriving complete and in order.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import trio

from .conftest import zmq
from .ends import End, exchange, open_pair, orientations

MULTIPART = [b"a", b"", b"b", b"", b"c" * 300, b""]

CASES = [
    pytest.param(first, second, zfirst, id=f"{first}-{second}-zmtp_{first if zfirst else second}")
    for first, second, zfirst in orientations()
]
BINDS = [pytest.param(True, id="zmtp_binds"), pytest.param(False, id="libzmq_binds")]
TRANSPORTS = ["tcp", "ipc"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("zmtp_binds", BINDS)
@pytest.mark.parametrize(("first", "second", "zmtp_is_first"), CASES)
async def test_multipart_with_empty_frames(
    ctx: Any, ipc_dir: Path, first: str, second: str, zmtp_is_first: bool, zmtp_binds: bool,
    transport: str,
) -> None:
    with trio.fail_after(20):
        async with open_pair(ctx, first, second, zmtp_is_first, zmtp_binds, transport,
                             ipc_dir) as (a, b):
            await exchange(a, b, MULTIPART)
            await exchange(a, b, [b""])
            await exchange(a, b, [b"single"])


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("zmtp_binds", BINDS)
@pytest.mark.parametrize(("first", "second", "zmtp_is_first"), CASES)
async def test_one_mebibyte_message(
    ctx: Any, ipc_dir: Path, first: str, second: str, zmtp_is_first: bool, zmtp_binds: bool,
    transport: str,
) -> None:
    # The first octet is fixed: from an XSUB, a message starting 0x00/0x01 is a
    # (un)subscription, which libzmq's XSUB handles differently (and has crashed on).
    big = b"\xa5" + os.urandom((1 << 20) - 1)
    with trio.fail_after(20):
        async with open_pair(ctx, first, second, zmtp_is_first, zmtp_binds, transport,
                             ipc_dir) as (a, b):
            await exchange(a, b, [big])
            await exchange(a, b, [b"head", big, b""])


STREAM_COUNT = 10_000

STREAM_CASES = [
    pytest.param(first, second, zfirst, id=f"{first}-{second}-zmtp_{first if zfirst else second}")
    for first, second, zfirst in orientations()
    if (first, second) in {("PUSH", "PULL"), ("DEALER", "ROUTER"), ("PAIR", "PAIR"),
                           ("DEALER", "DEALER")}
]


def _numbered(index: int) -> list[bytes]:
    return [b"%d" % index, b"", b"x" * (index % 300)]


async def _send_many(end: End, prefix: list[bytes]) -> None:
    if end.z is not None:
        for index in range(STREAM_COUNT):
            await end.z.send_multipart([*prefix, *_numbered(index)])
        return
    sock = end.lsock
    index = 0
    while index < STREAM_COUNT:
        try:
            sock.send_multipart([*prefix, *_numbered(index)], flags=zmq.NOBLOCK)
            index += 1
        except zmq.Again:
            await trio.sleep(0.001)
        except zmq.ZMQError as exc:  # ROUTER_MANDATORY before the handshake
            if exc.errno != zmq.EHOSTUNREACH:
                raise
            await trio.sleep(0.001)


async def _recv_many(end: End, prefix_len: int) -> list[bytes]:
    """Receive STREAM_COUNT messages and check order; returns the prefix of the first."""
    first_prefix: list[bytes] = []
    if end.z is not None:
        for index in range(STREAM_COUNT):
            got = await end.z.recv_multipart()
            assert got[prefix_len:] == _numbered(index)
            if index == 0:
                first_prefix = got[:prefix_len]
        return first_prefix
    sock = end.lsock
    index = 0
    while index < STREAM_COUNT:
        try:
            got = sock.recv_multipart(flags=zmq.NOBLOCK)
        except zmq.Again:
            await trio.sleep(0.001)
            continue
        assert got[prefix_len:] == _numbered(index)
        if index == 0:
            first_prefix = got[:prefix_len]
        index += 1
    return first_prefix


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("zmtp_binds", BINDS)
@pytest.mark.parametrize(("first", "second", "zmtp_is_first"), STREAM_CASES)
async def test_ten_thousand_in_order(
    ctx: Any, ipc_dir: Path, first: str, second: str, zmtp_is_first: bool, zmtp_binds: bool,
    transport: str,
) -> None:
    # A ROUTER drops at HWM unless router_mandatory, which makes it wait (EAGAIN) instead.
    zopts = {"router_mandatory": True} if "ROUTER" in (first, second) else {}
    lkind = second if zmtp_is_first else first
    lopts = {"router_mandatory": 1} if lkind == "ROUTER" else {}
    with trio.fail_after(40):
        async with open_pair(ctx, first, second, zmtp_is_first, zmtp_binds, transport,
                             ipc_dir, zmtp_options=zopts, libzmq_options=lopts) as (a, b):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_send_many, a, [])
                await _recv_many(b, 1 if b.kind == "ROUTER" else 0)
            if b.kind == "ROUTER":
                # and back: the ROUTER addresses the DEALER by the id it saw
                await a.send([b"hello"])
                routing_id = (await b.recv())[0]
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(_send_many, b, [routing_id])
                    await _recv_many(a, 0)
            elif b.kind in ("PAIR", "DEALER"):
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(_send_many, b, [])
                    await _recv_many(a, 0)


SIZES = [0, 1, 255, 256, 65535, 65536, 70_000, 300_000, 1 << 20]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("zmtp_is_push", [pytest.param(True, id="zmtp_PUSH"),
                                          pytest.param(False, id="libzmq_PUSH")])
async def test_mixed_frame_sizes_stream(
    ctx: Any, ipc_dir: Path, zmtp_is_push: bool, transport: str
) -> None:
    """Frames at every size boundary (short/long header, zero-copy thresholds), many in
    flight at once, arrive byte for byte and in order."""
    messages = [
        [b"%d" % index, os.urandom(SIZES[index % len(SIZES)]), b""]
        for index in range(4 * len(SIZES))
    ]
    with trio.fail_after(30):
        async with open_pair(ctx, "PUSH", "PULL", zmtp_is_push, True, transport,
                             ipc_dir) as (push, pull):
            async def send_all() -> None:
                for message in messages:
                    await push.send(message)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(send_all)
                for message in messages:
                    assert await pull.recv() == message
