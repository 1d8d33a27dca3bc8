"""What FairMQ's examples share: the ``--max-iterations`` option and its log line."""

from __future__ import annotations

import logging
from typing import Final

from ..device import Device
from ..options import OptionGroup

log = logging.getLogger("zmtp.device.examples")

MAX_ITERATIONS_HELP: Final = (
    "Maximum number of iterations of Run/ConditionalRun/OnData (0 - infinite)"
)
MAX_REACHED: Final = "Configured maximum number of iterations reached. Leaving RUNNING state."


def cpp_double(value: float) -> str:
    """A double as C++'s ``operator<<`` prints it by default (6 significant digits), so
    timing lines read like FairMQ's (``Done 100 iterations in 12.3456ms.``)."""
    return f"{value:.6g}"


def add_max_iterations(group: OptionGroup, default: int = 0) -> None:
    group.add("max-iterations", "unsigned long", MAX_ITERATIONS_HELP, default)


class ExampleDevice(Device):
    """A device with FairMQ's iteration counting (``fMaxIterations``/``fNumIterations``)."""

    max_iterations = 0
    iterations = 0

    def read_max_iterations(self) -> None:
        self.max_iterations = self.opt_int("max-iterations")
        self.iterations = 0

    def opt_int(self, name: str) -> int:
        assert self.options is not None
        return self.options.get_int(name)

    def opt_str(self, name: str) -> str:
        assert self.options is not None
        return self.options.get_str(name)

    def opt_bool(self, name: str) -> bool:
        assert self.options is not None
        return self.options.get_bool(name)

    def count_iteration(self) -> bool:
        """Count one iteration; True (after logging FairMQ's line) when the configured
        maximum is reached."""
        self.iterations += 1
        if self.max_iterations > 0 and self.iterations >= self.max_iterations:
            log.info(MAX_REACHED)
            return True
        return False
