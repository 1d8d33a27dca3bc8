#!/usr/bin/env python3
"""Micro-benchmark of the sans-IO hot path: frames/s and MB/s, decode and encode.

Decode feeds one in-memory buffer holding N already-encoded single-frame messages to a
Connection whose handshake is done, so the figure is the whole receive path (framing,
message assembly, events), not just header parsing.  Each decode figure is measured
twice, once per event shape:

* ``Message``: the default, one ``Message`` event per message;
* ``batch``: ``Connection(batch_messages=True)``, runs of messages as one
  ``MessageBatch`` event (what the trio engine uses).

and two ways of feeding the buffer:

* ``64K``: the buffer in 64 KiB ``receive_data`` calls, as a driver reading with
  ``recv(65536)`` does, events dropped after each call (the driver hands them on);
* ``1-call``: the whole buffer (up to 200,000 frames, ~3.6 MB for 16 B) in one call, all
  events alive at once.  CPython's cyclic GC then scans every container object that
  stays alive, so one GC-tracked object per message less is what counts here; the
  library does not play with ``gc`` (process-wide state).

Encode queues the same messages with ``send_messages`` and drains ``data_to_send()``.

    python3 tools/bench_protocol.py            # 16 B and 64 KiB frames
    python3 tools/bench_protocol.py --sizes 16 1024 16384 65536 --seconds 2
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from zmtp.protocol import Connection, Event, MessageBatch, SocketType


def _pair(batch: bool = False) -> tuple[Connection, Connection]:
    a = Connection(SocketType.PUSH)
    b = Connection(SocketType.PULL, batch_messages=batch)
    for _ in range(10):
        for src, dst in ((a, b), (b, a)):
            for chunk in src.data_to_send():
                dst.receive_data(bytes(chunk))
    assert a.handshake_complete and b.handshake_complete
    return a, b


def _best(fn: Callable[[], object], seconds: float) -> float:
    """Best of repeated runs within ``seconds``: the least disturbed measurement.

    Timed in CPU seconds of this process (``time.process_time``), not wall-clock: the
    figure is the cost on one core, and stays meaningful on a machine shared with
    other work, where wall-clock time also counts the time other processes ran.
    """
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while True:
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
        if time.perf_counter() > deadline:
            return max(best, 1e-9)


def _count_messages(events: list[Event]) -> int:
    total = 0
    for event in events:
        total += len(event.messages) if isinstance(event, MessageBatch) else 1
    return total


COLUMNS = ("64K Message", "1-call Message", "64K batch", "1-call batch", "encode")


def bench(size: int, seconds: float, count: int = 0) -> dict[str, float]:
    """frames/s for each of COLUMNS (``count`` frames; 0 = up to 200,000 / 64 MiB)."""
    count = count or max(16, min(200_000, (64 << 20) // max(size, 1)))
    payload = os.urandom(size)
    messages = [[payload]] * count
    a, _ = _pair()
    a.send_messages(messages)
    wire = b"".join(bytes(c) for c in a.data_to_send())
    # bytes chunks, as socket.recv(65536) hands them to a driver
    chunks = [wire[i : i + 65536] for i in range(0, len(wire), 65536)]
    results: dict[str, float] = {}
    for batch in (False, True):
        _, b = _pair(batch)
        receive = b.receive_data

        def decode_chunks(receive: Callable[[bytes], list[Event]] = receive) -> None:
            for chunk in chunks:
                receive(chunk)

        def decode_one_call(receive: Callable[[bytes], list[Event]] = receive) -> None:
            events = receive(wire)
            assert _count_messages(events) == count

        shape = "batch" if batch else "Message"
        results[f"64K {shape}"] = count / _best(decode_chunks, seconds)
        results[f"1-call {shape}"] = count / _best(decode_one_call, seconds)

    def encode() -> None:
        a.send_messages(messages)
        a.data_to_send()

    results["encode"] = count / _best(encode, seconds)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 65536])
    parser.add_argument("--seconds", type=float, default=1.0,
                        help="repeat each measurement this long and keep the best run")
    parser.add_argument("--count", type=int, default=0,
                        help="frames per buffer (default: up to 200,000 or 64 MiB)")
    args = parser.parse_args()
    print(f"{'frame':>6}  {'':<15}{'frames/s':>12}{'MB/s':>11}")
    for size in args.sizes:
        results = bench(size, args.seconds, args.count)
        for column in COLUMNS:
            rate = results[column]
            label = f"decode {column}" if column != "encode" else "encode"
            print(f"{size:>6}  {label:<22}{rate:>12,.0f}{rate * size / 1e6:>11,.1f}")


if __name__ == "__main__":
    main()
