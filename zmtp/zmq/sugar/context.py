"""Alias of zmtp.zmq.context under pyzmq's module path."""

from zmtp.zmq.context import Context

__all__ = ["Context"]
