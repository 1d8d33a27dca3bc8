"""Alias of zmtp.zmq.frame under pyzmq's module path."""

from zmtp.zmq.frame import Frame, Message

__all__ = ["Frame", "Message"]
