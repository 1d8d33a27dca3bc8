"""Alias of zmtp.zmq.socket under pyzmq's module path."""

from zmtp.zmq.socket import Socket

__all__ = ["Socket"]
