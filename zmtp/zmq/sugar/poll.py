"""Alias of zmtp.zmq.poll under pyzmq's module path."""

from zmtp.zmq.poll import Poller, select

__all__ = ["Poller", "select"]
