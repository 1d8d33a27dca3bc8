"""pyzmq (libzmq) through ``zmq.asyncio``: what an asyncio program pays over the blocking API."""

from .zmqasyncio import ZmqAsyncioImpl

IMPL = ZmqAsyncioImpl("zmq.asyncio")
