"""pyzmq's zero-copy garbage collector, as an inert stand-in.

pyzmq lends Python buffers to libzmq for ``copy=False`` sends and needs a thread to learn
when libzmq lets go of them.  Here Python's own references keep a buffer alive exactly as
long as a queued message needs it, so there is nothing to collect: ``refs`` stays empty.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GarbageCollector", "gc"]


class GarbageCollector:
    """Same surface as pyzmq's (refs, start, stop, is_alive, store); does nothing."""

    def __init__(self, context: Any = None) -> None:
        self.refs: dict[int, Any] = {}
        self.context = context

    def start(self) -> None:
        """Nothing to start."""

    def stop(self) -> None:
        """Nothing to stop."""

    def is_alive(self) -> bool:
        return False

    def store(self, obj: Any, event: Any = None) -> int:
        """Nothing is lent out: the caller's reference is enough.  Returns a dummy key."""
        return 0


gc = GarbageCollector()
