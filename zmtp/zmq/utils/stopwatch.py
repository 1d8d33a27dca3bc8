"""pyzmq's deprecated Stopwatch (microsecond timer), kept so old code still imports it."""

from __future__ import annotations

import time
import warnings

from zmtp.zmq.constants import Errno
from zmtp.zmq.error import ZMQError

__all__ = ["Stopwatch"]


class Stopwatch:
    """start(), then stop() returns the elapsed microseconds."""

    def __init__(self) -> None:
        warnings.warn(
            "zmq.Stopwatch is deprecated. Use stdlib time.monotonic and friends instead",
            DeprecationWarning,
            stacklevel=2,
        )
        self._start: int | None = None

    def start(self) -> None:
        """Start (or restart) timing."""
        self._start = time.monotonic_ns()

    def stop(self) -> int:
        """Microseconds since start(); EINVAL if it was never started."""
        if self._start is None:
            raise ZMQError(Errno.EINVAL, "Must start the Stopwatch before calling stop.")
        elapsed = (time.monotonic_ns() - self._start) // 1000
        self._start = None
        return elapsed
