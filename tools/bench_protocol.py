#!/usr/bin/env python3
"""Micro-benchmark of the sans-IO hot path: frames/s and MB/s, decode and encode.

Decode feeds one in-memory buffer holding N already-encoded single-frame messages to a
Connection whose handshake is done, so the figure is the whole receive path (framing,
message assembly, Message events), not just header parsing.  Two figures:

* ``decode``: the buffer in 64 KiB ``receive_data`` calls, as a driver reading with
  ``recv(65536)`` does, events dropped after each call (the driver hands them on);
* ``1-call``: the whole buffer (up to 200,000 frames, ~3.6 MB for 16 B) in one call.
  This one is dominated by CPython's cyclic GC, which scans the ever-growing pile of
  live Message objects; the library does not play with ``gc`` (process-wide state).

Encode queues the same messages with ``send_messages`` and drains ``data_to_send()``.

    python3 tools/bench_protocol.py            # 16 B and 64 KiB frames
    python3 tools/bench_protocol.py --sizes 16 1024 16384 65536 --seconds 2
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from zmtp.protocol import Connection, SocketType


def _pair() -> tuple[Connection, Connection]:
    a = Connection(SocketType.PUSH)
    b = Connection(SocketType.PULL)
    for _ in range(10):
        for src, dst in ((a, b), (b, a)):
            for chunk in src.data_to_send():
                dst.receive_data(bytes(chunk))
    assert a.handshake_complete and b.handshake_complete
    return a, b


def _best(fn: object, seconds: float) -> float:
    """Best of repeated runs within ``seconds``: the least disturbed measurement."""
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while True:
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t0)
        if time.perf_counter() > deadline:
            return best


def bench(size: int, seconds: float) -> tuple[float, float, float]:
    count = max(16, min(200_000, (64 << 20) // max(size, 1)))
    payload = os.urandom(size)
    messages = [[payload]] * count
    a, b = _pair()
    a.send_messages(messages)
    wire = b"".join(bytes(c) for c in a.data_to_send())

    def decode_one_call() -> None:
        events = b.receive_data(wire)
        assert len(events) == count

    # bytes chunks, as socket.recv(65536) hands them to a driver
    chunks = [wire[i : i + 65536] for i in range(0, len(wire), 65536)]

    def decode() -> None:
        receive = b.receive_data
        for chunk in chunks:
            receive(chunk)

    def encode() -> None:
        a.send_messages(messages)
        a.data_to_send()

    t_dec = _best(decode, seconds)
    t_one = _best(decode_one_call, seconds)
    t_enc = _best(encode, seconds)
    return count / t_dec, count / t_one, count / t_enc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 65536])
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    print(
        f"{'frame':>8} {'decode frames/s':>16} {'decode MB/s':>12} "
        f"{'1-call frames/s':>16} {'encode frames/s':>16} {'encode MB/s':>12}"
    )
    for size in args.sizes:
        dec, one, enc = bench(size, args.seconds)
        print(
            f"{size:>8} {dec:>16,.0f} {dec * size / 1e6:>12,.1f} {one:>16,.0f} "
            f"{enc:>16,.0f} {enc * size / 1e6:>12,.1f}"
        )


if __name__ == "__main__":
    main()
