"""FairMQ example multiple-channels: pub/sub broadcast beside push/pull data.

Broadcaster ``broadcast`` pub bind, sends ``OK`` every second (endless); sampler ``data``
push bind + ``broadcast`` sub connect, sends its text every second and logs broadcasts;
sink ``data`` pull connect + ``broadcast`` sub connect with one handler per channel,
leaves RUNNING after ``--max-iterations`` once it got both kinds.
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

    async def run(self) -> None:
        while not self.new_state_pending():
            while isinstance(got := await self.receive("broadcast", 0, 0), bytes):
                log.info('Received broadcast: "%s"', got.decode(errors="replace"))
            if not await self.wait_for(1.0):
                break
            if await self.send(self.text.encode(), "data") > 0:
                log.info('Sent "%s"', self.text)
                if self.count_iteration():
                    break


class Broadcaster(ExampleDevice):
    async def conditional_run(self) -> bool:
        if not await self.wait_for(1.0):
            return False
        log.info("Sending OK")
        return await self.send(b"OK", "broadcast") >= 0


class Sink(ExampleDevice):
    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        add_max_iterations(group)

    def __init__(self) -> None:
        super().__init__()
        self.received_data = self.received_broadcast = False
        self.on_data("broadcast", self.handle_broadcast)
        self.on_data("data", self.handle_data)

    async def init_task(self) -> None:
        self.read_max_iterations()

    async def handle_broadcast(self, msg: bytes, index: int) -> bool:
        log.info('Received broadcast: "%s"', msg.decode(errors="replace"))
        self.received_broadcast = True
        return self.check_iterations()

    async def handle_data(self, msg: bytes, index: int) -> bool:
        log.info('Received message: "%s"', msg.decode(errors="replace"))
        self.received_data = True
        return self.check_iterations()

    def check_iterations(self) -> bool:
        if self.max_iterations > 0 and self.received_data and self.received_broadcast:
            self.iterations += 1
            if self.iterations >= self.max_iterations:
                log.info("Configured maximum number of iterations reached & Received "
                         "messages from both sources. Leaving RUNNING state.")
                return False
        return True
