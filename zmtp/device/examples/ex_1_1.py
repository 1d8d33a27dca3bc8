"""FairMQ example 1-1: a sampler sends a text, a sink prints it.

Channels (as FairMQ's test script): sampler ``data`` push bind, sink ``data`` pull
connect. Options ``--text`` (Hello) and ``--max-iterations``; the sampler is paced by
``--rate``.
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
        log.info('Sending "%s"', self.text)
        if await self.send(self.text.encode(), "data") < 0:
            return False  # error or interrupted
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
        log.info('Received: "%s"', msg.decode(errors="replace"))
        return not self.count_iteration()
