"""FairMQ example multipart: one ``Parts`` of 7 messages per iteration.

Part 1 is FairMQ's header struct ``{int32_t stopFlag;}`` in native (little-endian) byte
order, 1 on the last iteration; then 1000, 500, 600, 700, 0 and 100 bytes. The sink
refuses anything but 7 parts (an exception: ERROR, exit code 1) and leaves RUNNING when
``stopFlag`` is 1. The test script uses a ``pair`` channel (sampler connect with
``linger=1000``, sink bind); the start script push/pull.
"""

from __future__ import annotations

import struct
from typing import Final

from ..device import Parts
from ..options import OptionGroup
from ._common import ExampleDevice, add_max_iterations, log

HEADER: Final = struct.Struct("<i")
BODY_SIZES: Final = (1000, 500, 600, 700, 0, 100)


class Sampler(ExampleDevice):
    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        add_max_iterations(group, 5)

    async def init_task(self) -> None:
        self.read_max_iterations()

    async def conditional_run(self) -> bool:
        last = self.max_iterations > 0 and self.iterations >= self.max_iterations - 1
        stop_flag = 1 if last else 0
        log.info("Sending header with stopFlag: %d", stop_flag)
        parts = [HEADER.pack(stop_flag), *(bytes(n) for n in BODY_SIZES)]
        log.info("Sending body of size: %d", len(parts[1]))
        if await self.send(parts, "data") < 0:
            return False
        if self.count_iteration():
            return False
        # FairMQ's sampler pauses a second to keep the output readable (ours can be
        # interrupted by a state change).
        return await self.wait_for(1.0)


class Sink(ExampleDevice):
    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        add_max_iterations(group)

    def __init__(self) -> None:
        super().__init__()
        self.on_data("data", self.handle_data, multipart=True)

    async def init_task(self) -> None:
        self.read_max_iterations()

    async def handle_data(self, parts: Parts, index: int) -> bool:
        log.info("Received message with %d parts", len(parts))
        if len(parts) != 7:
            raise RuntimeError(f"number of received parts ({len(parts)}) != 7")
        if len(parts[0]) < HEADER.size:
            raise RuntimeError(f"header part too short ({len(parts[0])} bytes)")
        (stop_flag,) = HEADER.unpack_from(parts[0])
        log.info("Received part 1 (header) with stopFlag: %d", stop_flag)
        for i, part in enumerate(parts[1:], start=2):
            log.info("Received part %d of size: %d", i, len(part))
        if stop_flag == 1:
            log.info("stopFlag is 1, going IDLE")
            return False
        return not self.count_iteration()
