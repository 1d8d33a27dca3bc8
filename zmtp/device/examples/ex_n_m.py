"""FairMQ example n-m: a synchronizer publishes timeframe ids, n senders send one
sub-timeframe each to receiver ``id % m``, m receivers assemble complete timeframes.

Synchronizer ``sync`` pub bind (paced by ``--rate``); senders ``sync`` sub connect and
``data`` push connect with one address per receiver; receivers ``data`` pull bind. The
header is FairMQ's ``struct {uint16_t id; int senderIndex;}`` in native layout (8 bytes:
id, 2 bytes padding, index). ``--max-iterations`` of the synchronizer is ours (the C++
one runs until stopped).
"""

from __future__ import annotations

import struct
from typing import Final

import trio

from ..device import TIMEOUT, Parts
from ..options import OptionGroup
from ._common import ExampleDevice, add_max_iterations, log

HEADER: Final = struct.Struct("<H2xi")
TF_ID: Final = struct.Struct("<H")


class Synchronizer(ExampleDevice):
    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        add_max_iterations(group)

    async def init_task(self) -> None:
        self.read_max_iterations()
        self.timeframe_id = 0

    async def conditional_run(self) -> bool:
        if await self.send(TF_ID.pack(self.timeframe_id), "sync") < 0:
            return False
        self.timeframe_id += 1
        if self.timeframe_id == 0xFFFF - 1:
            self.timeframe_id = 0
        return not self.count_iteration()


class Sender(ExampleDevice):
    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        group.add("sender-index", "int", "Sender Index", 0)
        group.add("subtimeframe-size", "int", "Subtimeframe size in bytes", 1000)
        group.add("num-receivers", "int", "Number of receivers", 0)

    async def init_task(self) -> None:
        self.index = self.opt_int("sender-index")
        self.subtimeframe_size = self.opt_int("subtimeframe-size")
        self.num_receivers = self.opt_int("num-receivers") or self.num_sub_channels("data")

    async def run(self) -> None:
        sync = self.get_channel("sync")
        while not self.new_state_pending():
            got = await sync.receive()
            if isinstance(got, int) or len(got) < TF_ID.size:
                continue
            (tf_id,) = TF_ID.unpack_from(got)
            direction = tf_id % self.num_receivers
            parts = [HEADER.pack(tf_id, self.index), bytes(self.subtimeframe_size)]
            if await self.send(parts, "data", direction, 0) == TIMEOUT:
                log.debug("Failed to queue Subtimeframe #%d to Receiver[%d]",
                          tf_id, direction)


class Receiver(ExampleDevice):
    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        group.add("num-senders", "int", "Number of senders", 0)
        group.add("buffer-timeout", "int", "Buffer timeout in milliseconds", 1000)
        group.add("max-timeframes", "int", "Maximum number of timeframes to receive "
                  "(0 - infinite)", 0)

    def __init__(self) -> None:
        super().__init__()
        self.on_data("data", self.handle_data, multipart=True)

    async def init_task(self) -> None:
        self.num_senders = self.opt_int("num-senders")
        self.buffer_timeout = self.opt_int("buffer-timeout") / 1000.0
        self.max_timeframes = self.opt_int("max-timeframes")
        self.timeframes = 0
        self.buffer: dict[int, tuple[float, list[bytes]]] = {}
        self.discarded: set[int] = set()

    async def handle_data(self, parts: Parts, index: int) -> bool:
        if len(parts) < 2 or len(parts[0]) < HEADER.size:
            log.warning("Ignoring a message of %d parts without a header", len(parts))
            return True
        tf_id, _sender = HEADER.unpack_from(parts[0])
        now = trio.current_time()
        if tf_id in self.discarded:
            log.debug("Received part from an already discarded timeframe with id %d", tf_id)
        else:
            _start, payloads = self.buffer.setdefault(tf_id, (now, []))
            payloads.append(parts[1])
            if len(payloads) == self.num_senders:
                log.info("Successfully completed timeframe #%d", tf_id)
                del self.buffer[tf_id]
                self.timeframes += 1
                if self.max_timeframes > 0 and self.timeframes >= self.max_timeframes:
                    log.info("Reached configured maximum number of timeframes (%d). "
                             "Exiting RUNNING state.", self.max_timeframes)
                    return False
        for old in [t for t, (start, _) in self.buffer.items()
                    if now - start > self.buffer_timeout]:
            log.debug("Timeframe #%d incomplete after %d milliseconds, discarding", old,
                      int(self.buffer_timeout * 1000))
            self.discarded.add(old)
            del self.buffer[old]
            log.debug("Number of discarded timeframes: %d", len(self.discarded))
        return True
