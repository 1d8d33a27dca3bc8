"""pyzmq's ``zmq.sugar`` module paths (``zmq.sugar.context.Context`` & co.), as aliases.

pyzmq keeps its Python classes in zmq.sugar.*; code that names those paths (pyzmq's own
tests reset ``zmq.sugar.context.Context._instance``) finds the same classes here.
"""

from zmtp.zmq.sugar import context, frame, poll, socket, tracker, version

__all__ = ["context", "frame", "poll", "socket", "tracker", "version"]
