"""A FairMQ-style device of your own, run exactly like a C++ one.

    python examples/my_device.py --id counter1 --control static --color false \
        --max-iterations 3 --rate 2 \
        --channel-config name=data,type=push,method=bind,address=tcp://*:5555

Any FairMQ sink can read it, e.g. ``zmtp-sink --id sink1 --max-iterations 3
--channel-config name=data,type=pull,method=connect,address=tcp://localhost:5555``
(or ``fairmq-sink`` with the same options).

Hooks may be ``async def`` (use ``await self.send(...)``) or plain ``def``: plain ones run
in a worker thread, like FairMQ's user code, and use ``self.send_sync(...)``.
"""

from __future__ import annotations

import logging
import sys

from zmtp.device.device import Device
from zmtp.device.options import OptionGroup
from zmtp.device.runner import main

log = logging.getLogger("my_device")


class Counter(Device):
    @classmethod
    def add_custom_options(cls, group: OptionGroup) -> None:
        group.add("max-iterations", "unsigned long",
                  "Maximum number of iterations of Run/ConditionalRun/OnData (0 - infinite)", 0)

    def init_task(self) -> None:  # a plain hook: runs in a worker thread
        assert self.options is not None
        self.max_iterations = self.options.get_int("max-iterations")
        self.count = 0

    def conditional_run(self) -> bool:
        self.count += 1
        parts = [b"counter", str(self.count).encode()]  # one 2-frame message
        if self.send_sync(parts, "data") < 0:
            return False  # interrupted (state change) or error
        log.info("Sent %d", self.count)
        return self.max_iterations == 0 or self.count < self.max_iterations


if __name__ == "__main__":
    sys.exit(main(Counter))
