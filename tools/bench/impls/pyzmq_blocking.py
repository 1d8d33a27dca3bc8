"""pyzmq (libzmq) through its blocking API: the baseline."""

from .zmqapi import ZmqApiImpl

IMPL = ZmqApiImpl("zmq")
