"""A pyzmq-compatible face of zmtp: ``import zmtp.zmq as zmq`` and pyzmq code runs unchanged.

Same names, numbers, signatures, defaults and error texts as pyzmq 27 on libzmq 4.3.5,
backed by zmtp's pure-Python ZMTP 3.1 stack instead of libzmq.  ``zmq_version()`` answers
"4.3.5" (the libzmq behaviour reproduced) and ``pyzmq_version()`` "27.3.0+zmtp.<version>";
see :mod:`zmtp.zmq.version`.

Context and Socket live in :mod:`zmtp.zmq.context` / :mod:`zmtp.zmq.socket` and are imported
on first use, so importing this package (e.g. for its constants) stays cheap.
"""

from __future__ import annotations

import sys
from typing import Any

from zmtp.zmq import constants
from zmtp.zmq.constants import *  # noqa: F403  (pyzmq exposes every constant at top level)
from zmtp.zmq.error import (
    Again,
    ContextTerminated,
    DraftFDWarning,
    InterruptedSystemCall,
    NotDone,
    ZMQBaseError,
    ZMQBindError,
    ZMQError,
    ZMQVersionError,
    strerror,
    zmq_errno,
)
from zmtp.zmq.frame import _FINISHED_TRACKER, COPY_THRESHOLD, Frame, Message, MessageTracker
from zmtp.zmq.version import (
    IMPLEMENTATION,
    pyzmq_version,
    pyzmq_version_info,
    zmq_version,
    zmq_version_info,
    zmtp_version,
)

#: Longest ipc:// path the platform's sockaddr_un takes (without the NUL): 107 on Linux,
#: 103 on the BSDs and macOS.
IPC_PATH_MAX_LEN = 107 if sys.platform.startswith("linux") else 103
#: No draft sockets (SERVER/CLIENT, RADIO/DISH, ...) here, as in a non-draft libzmq build.
DRAFT_API = False
PYZMQ_DRAFT_API = False

__version__ = pyzmq_version()
__revision__ = ""

# Transports and mechanisms this implementation provides, answered by has().
_CAPABILITIES = frozenset({"ipc"})


def has(capability: str) -> bool:
    """Whether a libzmq capability is available: "ipc" yes; pgm, tipc, norm, vmci, ws,
    wss, gssapi, curve and draft no (zmtp speaks NULL and PLAIN over tcp/ipc/inproc)."""
    return capability in _CAPABILITIES


def get_includes() -> list[str]:
    """No C headers to build against: there is no libzmq."""
    return []


def get_library_dirs() -> list[str]:
    """No C library to link against: there is no libzmq."""
    return []


def curve_keypair() -> tuple[bytes, bytes]:
    """CURVE is not implemented (has("curve") is False): raises ZMQError(ENOTSUP)."""
    raise ZMQError(constants.Errno.ENOTSUP)


def curve_public(secret_key: bytes) -> bytes:
    """CURVE is not implemented (has("curve") is False): raises ZMQError(ENOTSUP)."""
    raise ZMQError(constants.Errno.ENOTSUP)


# Names served on first access from modules that import heavier machinery.
_LAZY: dict[str, tuple[str, str]] = {
    "Context": ("zmtp.zmq.context", "Context"),
    "SyncContext": ("zmtp.zmq.context", "Context"),
    "Socket": ("zmtp.zmq.socket", "Socket"),
    "SyncSocket": ("zmtp.zmq.socket", "Socket"),
    "Poller": ("zmtp.zmq.poll", "Poller"),
    "select": ("zmtp.zmq.poll", "select"),
    "zmq_poll": ("zmtp.zmq.poll", "zmq_poll"),
    "proxy": ("zmtp.zmq.proxy", "proxy"),
    "proxy_steerable": ("zmtp.zmq.proxy", "proxy_steerable"),
    "device": ("zmtp.zmq.devices.basedevice", "device"),
    "Stopwatch": ("zmtp.zmq.utils.stopwatch", "Stopwatch"),
}


# Submodules reachable as attributes without an import, as pyzmq's are after ``import zmq``.
_SUBMODULES = frozenset({"asyncio", "backend", "devices", "sugar", "utils"})


def __getattr__(name: str) -> Any:
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"zmtp.zmq.{name}")
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'zmtp.zmq' has no attribute {name!r}")
    value = getattr(importlib.import_module(target[0]), target[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "COPY_THRESHOLD",
    "DRAFT_API",
    "IMPLEMENTATION",
    "IPC_PATH_MAX_LEN",
    "PYZMQ_DRAFT_API",
    "Again",
    "ContextTerminated",
    "DraftFDWarning",
    "Frame",
    "InterruptedSystemCall",
    "Message",
    "MessageTracker",
    "NotDone",
    "ZMQBaseError",
    "ZMQBindError",
    "ZMQError",
    "ZMQVersionError",
    "_FINISHED_TRACKER",
    "curve_keypair",
    "curve_public",
    "get_includes",
    "get_library_dirs",
    "has",
    "pyzmq_version",
    "pyzmq_version_info",
    "strerror",
    "zmq_errno",
    "zmq_version",
    "zmq_version_info",
    "zmtp_version",
    *_LAZY,
    *constants.__all__,
]
