"""Small statistics helpers, shared by workers and the orchestrator (no third-party deps)."""

from __future__ import annotations

import gc
import math
import os
import resource
import statistics
from collections.abc import Sequence


def quantile(data: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``data`` by linear interpolation (numpy's default)."""
    if not data:
        raise ValueError("quantile of no data")
    xs = sorted(data)
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def median(data: Sequence[float]) -> float:
    return float(statistics.median(data))


def latency_summary_us(samples_ns: Sequence[int]) -> dict[str, float]:
    """Median, p99 and max of nanosecond samples, in microseconds."""
    xs = sorted(samples_ns)
    return {
        "median_us": quantile(xs, 0.5) / 1e3,
        "p99_us": quantile(xs, 0.99) / 1e3,
        "max_us": xs[-1] / 1e3,
        "n": float(len(xs)),
    }


def spread(data: Sequence[float]) -> dict[str, float]:
    """Median, min, max and the quartiles of the per-run figures."""
    return {
        "median": median(data),
        "min": min(data),
        "max": max(data),
        "q1": quantile(data, 0.25),
        "q3": quantile(data, 0.75),
    }


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """This process's resident set size now (Linux /proc; elsewhere the peak RSS)."""
    gc.collect()
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def raise_fd_limit(want: int = 65536) -> None:
    """Lift the soft open-files limit towards the hard one (1,000 sockets need fds)."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = want if hard == resource.RLIM_INFINITY else min(want, hard)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        pass
