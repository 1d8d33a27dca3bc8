"""zmtp's pyzmq-compatible blocking face (``zmtp.zmq``): the same roles as pyzmq."""

from .zmqapi import ZmqApiImpl

IMPL = ZmqApiImpl("zmtp.zmq")
