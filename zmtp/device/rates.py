"""Rate-log lines: ``<name>: in: <msg/s> (<MB/s> MB) out: <msg/s> (<MB/s> MB)``.

FairMQ logs one such line per sub-channel every ``rateLogging`` seconds while RUNNING
(``Device::LogSocketRates``); people watch and grep them. The numbers are C++ ``double``
printed with default iostream formatting (6 significant digits, ``%g``), MB = 10**6 bytes,
and the sub-channel name is right-aligned to the longest logged name. The computation and
the counters are pure here; a runtime task only feeds it counters once a second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["Counters", "RateLogger", "format_number", "format_rate_line"]


def format_number(value: float) -> str:
    """A ``double`` as ``std::ostream << value`` prints it by default (``%g``)."""
    return f"{value:g}"


def format_rate_line(
    name: str,
    msgs_in: float,
    mb_in: float,
    msgs_out: float,
    mb_out: float,
    *,
    width: int = 0,
) -> str:
    """One rate line; ``width`` right-aligns the name (length of the longest name)."""
    return (
        f"{name:>{width}}: in: {format_number(msgs_in)} ({format_number(mb_in)} MB) "
        f"out: {format_number(msgs_out)} ({format_number(mb_out)} MB)"
    )


@dataclass(frozen=True)
class Counters:
    """Transfer counters of one sub-channel (a multipart message counts as one)."""

    bytes_in: int = 0
    msgs_in: int = 0
    bytes_out: int = 0
    msgs_out: int = 0


@dataclass
class _Track:
    interval: int
    last: Counters
    ticks: int = 0


@dataclass
class RateLogger:
    """FairMQ's once-a-second rate logger, minus the clock and the thread.

    Build it with every sub-channel's ``rateLogging`` interval (channels with 0 are left
    out) and its counters at the start of RUNNING; call :meth:`tick` after each ~1 s wait
    with the elapsed milliseconds and current counters; it returns the lines to log.
    """

    intervals: Mapping[str, int]
    start: Mapping[str, Counters]
    _tracks: dict[str, _Track] = field(init=False, default_factory=dict)
    width: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        for name, interval in self.intervals.items():
            if interval > 0:
                self._tracks[name] = _Track(interval, self.start.get(name, Counters()))
        self.width = max((len(n) for n in self._tracks), default=0)

    @property
    def names(self) -> Sequence[str]:
        return list(self._tracks)

    def tick(self, elapsed_ms: int, counters: Mapping[str, Counters]) -> list[str]:
        lines: list[str] = []
        for name, track in self._tracks.items():
            track.ticks += 1
            if track.ticks != track.interval:
                continue
            track.ticks = 0
            if elapsed_ms <= 0:
                continue
            now = counters.get(name, track.last)
            ms = float(elapsed_ms)
            mb_in = (now.bytes_in - track.last.bytes_in) / 1e6 / ms * 1000.0
            msgs_in = (now.msgs_in - track.last.msgs_in) / ms * 1000.0
            mb_out = (now.bytes_out - track.last.bytes_out) / 1e6 / ms * 1000.0
            msgs_out = (now.msgs_out - track.last.msgs_out) / ms * 1000.0
            track.last = now
            lines.append(format_rate_line(name, msgs_in, mb_in, msgs_out, mb_out,
                                          width=self.width))
        return lines
