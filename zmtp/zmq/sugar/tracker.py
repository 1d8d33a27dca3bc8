"""Alias of the MessageTracker under pyzmq's module path."""

from zmtp.zmq.frame import _FINISHED_TRACKER, MessageTracker

__all__ = ["_FINISHED_TRACKER", "MessageTracker"]
