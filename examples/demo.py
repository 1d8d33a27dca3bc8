"""A three-stage pipeline (sampler -> processor -> sink) over tcp on 127.0.0.1.

The shape of FairMQ's 1-n-1 example with plain zmtp sockets: the sampler PUSHes numbered
messages, two processors PULL, transform and PUSH on, the sink PULLs and counts.  It ends
by itself and prints a summary.  (The FairMQ-configured version is `zmtp.device`.)
"""

from __future__ import annotations

import argparse
import time

import trio

import zmtp
from zmtp.monitor import EventKind


async def processor(name: str, source: str, sink: str, done: list[str]) -> None:
    async with zmtp.Socket(zmtp.PULL) as pull, zmtp.Socket(zmtp.PUSH) as push:
        await pull.connect(source)
        await push.connect(sink)
        handled = 0
        while True:
            kind, body = await pull.recv_multipart()
            if kind == b"end":
                break
            value = int.from_bytes(body, "big")
            square = (value * value).to_bytes(8, "big")
            await push.send_multipart([b"result", name.encode(), square])
            handled += 1
        await push.send_multipart([b"end", name.encode(), b""])
        done.append(f"{name}: {handled} messages")


async def main(count: int) -> None:
    started = time.perf_counter()
    done: list[str] = []
    async with zmtp.Socket(zmtp.PULL) as sink:
        sink_endpoint = await sink.bind("tcp://127.0.0.1:*")
        async with zmtp.Socket(zmtp.PUSH) as fan_out:  # the sampler's bound side
            events = fan_out.events()
            source_endpoint = await fan_out.bind("tcp://127.0.0.1:*")
            async with trio.open_nursery() as nursery:
                for name in ("processor1", "processor2"):
                    nursery.start_soon(processor, name, source_endpoint, sink_endpoint, done)
                total = 0
                ended = 0
                # Wait until both processors are connected so the work splits between them.
                connected = 0
                async for event in events:
                    if event.kind is EventKind.HANDSHAKE_SUCCEEDED:
                        connected += 1
                        if connected == 2:
                            break
                for index in range(count):
                    await fan_out.send_multipart([b"sample", index.to_bytes(4, "big")])
                for _ in range(2):
                    await fan_out.send_multipart([b"end", b""])
                while ended < 2:
                    frames = await sink.recv_multipart()
                    if frames[0] == b"end":
                        ended += 1
                    else:
                        total += 1
    elapsed = time.perf_counter() - started
    for line in sorted(done):
        print(line)
    print(f"sink: {total} results of {count} samples in {elapsed:.2f} s "
          f"(zmtp {zmtp.__version__}, pure Python, no libzmq)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    args = parser.parse_args()
    trio.run(main, args.count)
