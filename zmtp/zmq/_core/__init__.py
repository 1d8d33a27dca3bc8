"""The I/O driver behind zmtp.zmq: socket cores, asyncio connection engines, the I/O thread.

Nothing here knows pyzmq's names; ``zmtp.zmq.socket``/``context``/``asyncio`` put that face
on it.  See ``core`` for the threading rules.
"""

from __future__ import annotations

from .core import Shared, SocketCore, Terminated
from .driver import Driver, IOThread, LoopDriver
from .events import EV, EVENT_ALL

__all__ = ["EV", "EVENT_ALL", "Driver", "IOThread", "LoopDriver", "Shared", "SocketCore",
           "Terminated"]
