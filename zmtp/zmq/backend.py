"""pyzmq's ``zmq.backend`` names, for code (and pyzmq's tests) that reach for them.

pyzmq has a Cython and a CFFI backend under its Python "sugar"; here there is one
implementation, so ``zmq.backend`` simply names the same objects as ``zmq``.
"""

from __future__ import annotations

from zmtp.zmq import IPC_PATH_MAX_LEN, PYZMQ_DRAFT_API, curve_keypair, curve_public, has
from zmtp.zmq.context import Context
from zmtp.zmq.devices.monitoredqueue import monitored_queue
from zmtp.zmq.error import strerror, zmq_errno
from zmtp.zmq.frame import Frame, Message
from zmtp.zmq.poll import select, zmq_poll
from zmtp.zmq.proxy import proxy, proxy_steerable
from zmtp.zmq.socket import Socket
from zmtp.zmq.version import zmq_version_info

__all__ = [
    "IPC_PATH_MAX_LEN",
    "PYZMQ_DRAFT_API",
    "Context",
    "Frame",
    "Message",
    "Socket",
    "curve_keypair",
    "curve_public",
    "has",
    "monitored_queue",
    "proxy",
    "proxy_steerable",
    "select",
    "strerror",
    "zmq_errno",
    "zmq_poll",
    "zmq_version_info",
]
