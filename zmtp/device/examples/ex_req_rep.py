"""FairMQ example req-rep: a client (``data`` req connect) asks, a server (``data`` rep
bind) answers ``Thank you for the "<text>"!``."""

from __future__ import annotations

from ..options import OptionGroup
from ._common import ExampleDevice, add_max_iterations, log


class Client(ExampleDevice):
    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        group.add("text", "string", "Text to send out", "Hello")
        add_max_iterations(group)

    async def init_task(self) -> None:
        self.text = self.opt_str("text")
        self.read_max_iterations()

    async def conditional_run(self) -> bool:
        log.info('Sending "%s" to server.', self.text)
        if await self.send(self.text.encode(), "data") < 0:
            return False
        reply = await self.receive("data")
        if isinstance(reply, int):
            return False
        log.info('Received reply from server: "%s"', reply.decode(errors="replace"))
        if self.count_iteration():
            return False
        return await self.wait_for(1.0)  # FairMQ's client asks once a second


class Server(ExampleDevice):
    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        add_max_iterations(group)

    def __init__(self) -> None:
        super().__init__()
        self.on_data("data", self.handle_data)

    async def init_task(self) -> None:
        self.read_max_iterations()

    async def handle_data(self, request: bytes, index: int) -> bool:
        text = request.decode(errors="replace")
        log.info('Received request from client: "%s"', text)
        log.info("Sending reply to client.")
        if await self.send(f'Thank you for the "{text}"!'.encode(), "data") < 0:
            return False
        return not self.count_iteration()
