"""FairMQ example copypush: the sampler copies each message to every ``data`` sub-channel.

The payload is a native ``uint64_t`` counter (8 bytes, little-endian). Sampler ``data``
push bind with one address per sink; each sink ``data`` pull connect to one of them.
"""

from __future__ import annotations

import struct
from typing import Final

from ..options import OptionGroup
from ._common import ExampleDevice, add_max_iterations, log

COUNTER: Final = struct.Struct("<Q")


class Sampler(ExampleDevice):
    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        add_max_iterations(group)

    async def init_task(self) -> None:
        self.read_max_iterations()
        self.counter = 0
        self.num_outputs = self.num_sub_channels("data")

    async def conditional_run(self) -> bool:
        msg = COUNTER.pack(self.counter)
        self.counter += 1
        for i in range(self.num_outputs):
            if await self.send(msg, "data", i) < 0:
                return False
        return not self.count_iteration()


class Sink(ExampleDevice):
    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        add_max_iterations(group)

    def __init__(self) -> None:
        super().__init__()
        self.on_data("data", self.handle_data)

    async def init_task(self) -> None:
        self.read_max_iterations()

    async def handle_data(self, msg: bytes, index: int) -> bool:
        value = COUNTER.unpack(msg)[0] if len(msg) == COUNTER.size else msg.hex()
        log.info('Received message: "%s"', value)
        return not self.count_iteration()
