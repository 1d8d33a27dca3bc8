"""FairMQ's built-in generic devices: bsampler, sink, splitter, merger, proxy, multiplier.

Same option names and defaults as ``fairmq-bsampler`` & co. (FAIRMQ.md §6,
builtin-devices), so a chain built with FairMQ's executables can have any link replaced
by ``zmtp-<name>``. Splitter, merger, proxy and multiplier run until stopped.
"""

from __future__ import annotations

import time
from typing import Any

from .device import Parts
from .examples._common import ExampleDevice, add_max_iterations, cpp_double, log
from .options import OptionGroup

__all__ = ["BenchmarkSampler", "Merger", "Multiplier", "Proxy", "Sink", "Splitter"]


def _payload(size: int, memset: bool) -> bytes:
    return bytes(size)  # zero-filled either way: no uninitialised memory in Python


class BenchmarkSampler(ExampleDevice):
    """Sends ``--max-iterations`` messages (0: until stopped) of ``--msg-size`` bytes,
    ``--num-parts`` per message with ``--multipart``, at most ``--msg-rate`` per second."""

    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        group.add("out-channel", "string", "Name of the output channel", "data")
        group.add("multipart", "bool", "True if multipart mode", False)
        group.add("memset", "bool", "Memset allocated buffers to 0", False)
        group.add("num-parts", "unsigned long", "Number of parts for the multipart", 1)
        group.add("msg-size", "unsigned long", "Message size in bytes", 1000000)
        group.add("msg-alignment", "unsigned long", "Message alignment", 0)
        add_max_iterations(group)
        group.add("msg-rate", "float", "Msg rate limit in maximum number of messages "
                  "per second", 0.0)

    async def run(self) -> None:
        self.read_max_iterations()
        out = self.get_channel(self.opt_str("out-channel"), 0)
        size = self.opt_int("msg-size")
        parts = max(1, self.opt_int("num-parts")) if self.opt_bool("multipart") else 1
        payload = _payload(size, self.opt_bool("memset"))
        message: Any = [payload] * parts if parts > 1 else payload
        assert self.options is not None
        rate = self.options.get_float("msg-rate")
        log.info("Starting the benchmark with message size of %d and %d iterations.",
                 size, self.max_iterations)
        start = time.monotonic()
        next_time = start
        while not self.new_state_pending():
            if await out.send(message) >= 0:
                # FairMQ's BenchmarkSampler checks the limit after a send and before counting
                # it, so it sends max + 1 messages; its Sink waits for max + 1 the same way.
                if 0 < self.max_iterations <= self.iterations:
                    break
                self.iterations += 1
            if rate > 0:
                next_time += 1.0 / rate
                delay = next_time - time.monotonic()
                if delay > 0 and not await self.wait_for(delay):
                    break
        elapsed = (time.monotonic() - start) * 1000
        log.info("Done %d iterations in %sms.", self.iterations, cpp_double(elapsed))


class Sink(ExampleDevice):
    """Receives from ``--in-channel`` until ``--max-iterations`` (0: until stopped);
    ``--out-filename`` appends the payloads to a file (up to ``--max-file-size``)."""

    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        group.add("in-channel", "string", "Name of the input channel", "data")
        group.add("max-iterations", "unsigned long", "Number of iterations (0 - infinite)",
                  0)
        group.add("multipart", "bool", "Handle multipart payloads", False)
        group.add("out-filename", "string", "Write incoming data to this file", "")
        group.add("max-file-size", "unsigned long", "Maximum file size in bytes",
                  2000000000)

    async def run(self) -> None:
        self.read_max_iterations()
        channel = self.get_channel(self.opt_str("in-channel"), 0)
        multipart = self.opt_bool("multipart")
        filename = self.opt_str("out-filename")
        limit = self.opt_int("max-file-size")
        written = 0
        out = open(filename, "ab") if filename else None  # noqa: SIM115 - closed below
        log.info("Starting sink and expecting to receive %d messages.", self.max_iterations)
        start = time.monotonic()
        try:
            while not self.new_state_pending():
                got: Any = await (channel.receive_parts() if multipart else channel.receive())
                if isinstance(got, int):
                    continue
                if out is not None and written < limit:
                    data = b"".join(got) if multipart else got
                    out.write(data)
                    written += len(data)
                if 0 < self.max_iterations <= self.iterations:
                    log.info("Configured maximum number of iterations reached.")
                    break
                self.iterations += 1
        finally:
            if out is not None:
                out.close()
        elapsed = (time.monotonic() - start) * 1000
        log.info("Received %d messages in %sms.", self.iterations, cpp_double(elapsed))
        log.info("Leaving RUNNING state.")


class _Forwarder(ExampleDevice):
    """Common options of splitter, merger and proxy."""

    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        group.add("in-channel", "string", "Name of the input channel", "data-in")
        group.add("out-channel", "string", "Name of the output channel", "data-out")
        group.add("multipart", "bool", "Handle payloads as multipart messages", True)

    async def init_task(self) -> None:
        self.in_channel = self.opt_str("in-channel")
        self.out_channel = self.opt_str("out-channel")
        self.on_data(self.in_channel, self.handle_data, multipart=self.opt_bool("multipart"))

    async def handle_data(self, payload: bytes | Parts, index: int) -> bool:
        await self.send(payload, self.out_channel, 0)
        return True


class Splitter(_Forwarder):
    """Round-robin over the sub-channels of ``--out-channel``."""

    async def init_task(self) -> None:
        await super().init_task()
        self.direction = 0
        self.num_outputs = self.num_sub_channels(self.out_channel)

    async def handle_data(self, payload: bytes | Parts, index: int) -> bool:
        await self.send(payload, self.out_channel, self.direction)
        self.direction = (self.direction + 1) % max(1, self.num_outputs)
        return True


class Merger(_Forwarder):
    """Everything from the sub-channels of ``--in-channel`` to ``--out-channel``."""


class Proxy(_Forwarder):
    """``--in-channel`` to ``--out-channel``, one to one."""


class Multiplier(ExampleDevice):
    """A copy of each message to every sub-channel of every ``--out-channel``."""

    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        group.add("in-channel", "string", "Name of the input channel", "data-in")
        group.add("out-channel", "vector<string>", "Name of the output channel(s)",
                  ["data-out"])
        group.add("multipart", "bool", "Handle payloads as multipart messages", True)

    async def init_task(self) -> None:
        assert self.options is not None
        self.outputs = self.options.get_strings("out-channel")
        self.on_data(self.opt_str("in-channel"), self.handle_data,
                     multipart=self.opt_bool("multipart"))

    async def handle_data(self, payload: bytes | Parts, index: int) -> bool:
        for name in self.outputs:
            for i in range(self.num_sub_channels(name)):
                await self.send(payload, name, i)
        return True
