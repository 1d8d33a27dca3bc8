#!/usr/bin/env python3
"""Soak: hours of PUB/SUB and PUSH/PULL traffic with peers churning, watching for leaks.

One trio process binds a PUB and a PULL socket on loopback.  A publisher streams
sequence-numbered messages; a few SUB "slots" each keep opening a subscriber, reading
for a few hundred milliseconds and closing it again.  A few PUSH slots do the same
against the PULL: connect, send a burst of numbered messages, close (lingering until
sent).  Every ``--report`` seconds a line shows what was sent, received, dropped by
policy (gaps a subscriber saw: PUB drops for a slow subscriber at HWM, as libzmq does)
and the process's RSS, file descriptors and trio tasks.

PUSH/PULL is lossless here, so any PUSH message that does not arrive, or arrives out of
order, is an error (exit status 1).  RSS must stay flat once warm: the summary compares
the RSS after the first third of the run with the end.

    python tools/soak.py --duration 3600          # an hour
    python tools/soak.py --duration 10 --report 2  # a smoke run (the test suite does this)
"""

from __future__ import annotations

import argparse
import os
import random
import struct
import sys
import time
from dataclasses import dataclass, field

import trio

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import zmtp

_SEQ = struct.Struct(">Q")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Stats:
    pub_sent: int = 0
    sub_received: int = 0
    sub_dropped: int = 0
    sub_sessions: int = 0
    push_sent: int = 0
    pull_received: int = 0
    push_sessions: int = 0
    errors: list[str] = field(default_factory=list)
    rss_trace: list[tuple[float, int]] = field(default_factory=list)


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def task_count() -> int:
    count = 0
    stack = [trio.lowlevel.current_root_task()]
    while stack:
        task = stack.pop()
        count += 1
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return count


async def publisher(pub: zmtp.Socket, stats: Stats, burst: int, pause: float,
                    payload: bytes) -> None:
    seq = 0
    while True:
        for _ in range(burst):
            await pub.send(_SEQ.pack(seq) + payload)
            seq += 1
        stats.pub_sent = seq
        await trio.sleep(pause)


async def sub_slot(endpoint: str, stats: Stats, churn: float, rng: random.Random,
                   slow: bool = False) -> None:
    """A subscriber that comes and goes.  A slow one reads a message per millisecond for
    half its life, with a small rcvhwm, so the publisher drops for it at HWM (libzmq's
    PUB policy), then reads at full speed, so the gap shows in its sequence numbers."""
    while True:
        options = {"rcvhwm": 100, "rcvbuf": 8192} if slow else {}
        async with zmtp.Socket(zmtp.SUB, linger=0, **options) as sub:
            sub.subscribe(b"")
            await sub.connect(endpoint)
            stats.sub_sessions += 1
            last = -1
            life = rng.uniform(churn / 3, churn)
            slow_until = trio.current_time() + life / 2  # then catch up: the gap shows
            with trio.move_on_after(life):
                while True:
                    (seq,) = _SEQ.unpack_from(await sub.recv())
                    stats.sub_received += 1
                    if last >= 0:
                        if seq <= last:
                            stats.errors.append(f"SUB saw {seq} after {last}")
                        stats.sub_dropped += seq - last - 1
                    last = seq
                    if slow and trio.current_time() < slow_until:
                        await trio.sleep(0.001)


async def push_slot(slot: int, endpoint: str, stats: Stats, expected: dict[int, int],
                    churn: float, burst: int, pause: float, rng: random.Random) -> None:
    session = 0
    while True:
        session += 1
        client = slot << 32 | session
        sent = 0
        async with zmtp.Socket(zmtp.PUSH, linger=-1) as push:
            await push.connect(endpoint)
            stats.push_sessions += 1
            with trio.move_on_after(rng.uniform(churn / 3, churn)):
                while True:
                    for _ in range(burst):
                        await push.send_multipart([_SEQ.pack(client), _SEQ.pack(sent)])
                        sent += 1
                        stats.push_sent += 1
                    await trio.sleep(pause)
        # the socket lingered until everything was written: all of it must arrive
        expected[client] = sent


async def puller(pull: zmtp.Socket, stats: Stats, got: dict[int, int]) -> None:
    while True:
        raw_client, raw_seq = await pull.recv_multipart()
        (client,) = _SEQ.unpack(raw_client)
        (seq,) = _SEQ.unpack(raw_seq)
        want = got.get(client, 0)
        if seq != want:
            stats.errors.append(f"PUSH client {client:#x}: got {seq}, expected {want}")
        got[client] = seq + 1
        stats.pull_received += 1


def report_line(start: float, stats: Stats) -> str:
    rss = rss_bytes()
    stats.rss_trace.append((time.monotonic() - start, rss))
    return (
        f"t={time.monotonic() - start:7.1f}s pub_sent={stats.pub_sent} "
        f"sub_received={stats.sub_received} sub_dropped={stats.sub_dropped} "
        f"sub_sessions={stats.sub_sessions} push_sent={stats.push_sent} "
        f"pull_received={stats.pull_received} push_sessions={stats.push_sessions} "
        f"rss={rss / 2**20:.1f}MiB fds={fd_count()} tasks={task_count()} "
        f"errors={len(stats.errors)}"
    )


async def soak(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    stats = Stats()
    expected: dict[int, int] = {}
    got: dict[int, int] = {}
    start = time.monotonic()
    async with zmtp.Socket(zmtp.PUB, linger=0, sndhwm=1000, sndbuf=65536) as pub, \
            zmtp.Socket(zmtp.PULL, linger=0, rcvhwm=1000) as pull:
        pub_ep = await pub.bind("tcp://127.0.0.1:*")
        pull_ep = await pull.bind("tcp://127.0.0.1:*")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(publisher, pub, stats, args.burst, args.pause,
                               b"p" * args.payload)
            nursery.start_soon(puller, pull, stats, got)
            for _ in range(args.subs):
                nursery.start_soon(sub_slot, pub_ep, stats, args.churn, rng)
            for _ in range(args.slow_subs):
                nursery.start_soon(sub_slot, pub_ep, stats, args.churn * 4, rng, True)
            for slot in range(args.pushes):
                nursery.start_soon(push_slot, slot, pull_ep, stats, expected, args.churn,
                                   args.burst, args.pause, rng)
            deadline = start + args.duration
            while time.monotonic() < deadline:
                await trio.sleep(min(args.report, max(0.0, deadline - time.monotonic())))
                print(report_line(start, stats), flush=True)
            nursery.cancel_scope.cancel()
        # Sessions cut short by the cancel never recorded their count; give what the
        # finished ones sent time to arrive, then compare.
        with trio.move_on_after(5):
            while any(got.get(c, 0) < n for c, n in expected.items()):
                await trio.sleep(0.05)
                try:
                    while True:
                        raw_client, raw_seq = pull.recv_multipart_nowait()
                        (client,) = _SEQ.unpack(raw_client)
                        got[client] = _SEQ.unpack(raw_seq)[0] + 1
                        stats.pull_received += 1
                except zmtp.Again:
                    pass
    lost = sum(max(0, n - got.get(c, 0)) for c, n in expected.items())
    print(report_line(start, stats), flush=True)
    trace = stats.rss_trace
    warm = [rss for t, rss in trace if t >= args.duration / 3] or [trace[-1][1]]
    print(f"summary: push sessions checked={len(expected)} lost={lost} "
          f"order errors={len(stats.errors)} sub dropped by policy={stats.sub_dropped} "
          f"rss warm min={min(warm) / 2**20:.1f}MiB max={max(warm) / 2**20:.1f}MiB "
          f"end={trace[-1][1] / 2**20:.1f}MiB")
    for error in stats.errors[:10]:
        print("error:", error)
    return 1 if lost or stats.errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3600.0, help="seconds (3600)")
    parser.add_argument("--report", type=float, default=10.0, help="seconds between lines")
    parser.add_argument("--churn", type=float, default=0.5,
                        help="a peer lives between churn/3 and churn seconds (0.5)")
    parser.add_argument("--subs", type=int, default=3, help="concurrent subscribers (3)")
    parser.add_argument("--slow-subs", type=int, default=1,
                        help="concurrent slow subscribers, dropped for at HWM (1)")
    parser.add_argument("--pushes", type=int, default=3, help="concurrent pushers (3)")
    parser.add_argument("--burst", type=int, default=50, help="messages per burst (50)")
    parser.add_argument("--pause", type=float, default=0.005,
                        help="pause between bursts, seconds (0.005)")
    parser.add_argument("--payload", type=int, default=100,
                        help="octets after the sequence number in PUB messages (100)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    return trio.run(soak, args)


if __name__ == "__main__":
    sys.exit(main())
