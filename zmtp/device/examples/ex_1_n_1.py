"""FairMQ example 1-n-1: sampler -> n processors -> sink.

Sampler ``data1`` push bind; processors ``data1`` pull connect and ``data2`` push connect
(they share the JSON entry ``"key": "processor"`` through ``--config-key``); sink
``data2`` pull bind. The sampler sends its text once a second; each processor appends
`` (modified by <id>)``.
"""

from __future__ import annotations

from ..options import OptionGroup
from ._common import ExampleDevice, add_max_iterations, log


class Sampler(ExampleDevice):
    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        group.add("text", "string", "Text to send out", "Hello")
        add_max_iterations(group)

    async def init_task(self) -> None:
        self.text = self.opt_str("text")
        self.read_max_iterations()

    async def conditional_run(self) -> bool:
        if not await self.wait_for(1.0):
            return False
        log.info('Sending "%s"', self.text)
        if await self.send(self.text.encode(), "data1") < 0:
            return False
        return not self.count_iteration()


class Processor(ExampleDevice):
    def __init__(self) -> None:
        super().__init__()
        self.on_data("data1", self.handle_data)

    async def handle_data(self, msg: bytes, index: int) -> bool:
        log.info("Received data, processing...")
        text = msg + f" (modified by {self.id})".encode()
        return await self.send(text, "data2") >= 0  # an error or interruption: READY


class Sink(ExampleDevice):
    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        add_max_iterations(group)

    def __init__(self) -> None:
        super().__init__()
        self.on_data("data2", self.handle_data)

    async def init_task(self) -> None:
        self.read_max_iterations()

    async def handle_data(self, msg: bytes, index: int) -> bool:
        log.info('Received: "%s"', msg.decode(errors="replace"))
        return not self.count_iteration()
