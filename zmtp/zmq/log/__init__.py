"""pyzmq's ``zmq.log``: publish Python log records on a PUB socket (see handlers)."""
