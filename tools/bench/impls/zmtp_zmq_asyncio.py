"""zmtp's pyzmq-compatible asyncio face (``zmtp.zmq.asyncio``): the same roles as pyzmq's."""

from .zmqasyncio import ZmqAsyncioImpl

IMPL = ZmqAsyncioImpl("zmtp.zmq.asyncio")
