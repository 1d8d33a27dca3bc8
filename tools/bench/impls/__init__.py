"""The implementation registry: which ZeroMQ implementations the benchmark can drive.

Each implementation is one small module that exposes ``IMPL``, an ``Impl`` (see
``base``) serving every role in ``base.ROLES``. Adding one is: write the module (often a
single line reusing a shared class, like ``zmtp_zmq``), then add an ``ImplSpec`` below.

- ``pyzmq``     pyzmq (libzmq), blocking API             -> ``zmqapi.ZmqApiImpl("zmq")``
- ``zmtp``      zmtp's trio sockets                       -> ``zmtp_trio.TrioImpl``
- ``zmtp.zmq``  zmtp's blocking pyzmq-compatible face     -> ``zmqapi.ZmqApiImpl("zmtp.zmq")``
- ``pyzmq.asyncio``     pyzmq through ``zmq.asyncio``      -> ``zmqasyncio.ZmqAsyncioImpl(...)``
- ``zmtp.zmq.asyncio``  zmtp's asyncio face, same roles    -> ``zmqasyncio.ZmqAsyncioImpl(...)``

``zmtp.zmq`` and ``zmtp.zmq.asyncio`` show as unavailable (and are skipped) until those
modules exist; nothing else has to change when they land.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass

from .base import ROLES, Impl

__all__ = ["BASELINE", "DEFAULT", "REGISTRY", "ROLES", "Impl", "ImplSpec", "load"]


@dataclass(frozen=True)
class ImplSpec:
    name: str  # what --impl accepts and what the tables say
    module: str  # module (under tools.bench.impls) exposing IMPL
    requires: str  # importable module that must exist for this implementation to run
    description: str

    def missing(self) -> str | None:
        """None if this implementation can run here, else why not."""
        try:
            found = importlib.util.find_spec(self.requires) is not None
        except (ImportError, ValueError):
            found = False
        return None if found else f"module {self.requires!r} is not importable"


REGISTRY: dict[str, ImplSpec] = {
    spec.name: spec
    for spec in (
        ImplSpec("pyzmq", "pyzmq_blocking", "zmq", "pyzmq (libzmq), blocking API"),
        ImplSpec("zmtp", "zmtp_trio", "zmtp.socket", "zmtp trio sockets (zmtp.Socket)"),
        ImplSpec("zmtp.zmq", "zmtp_zmq", "zmtp.zmq", "zmtp's pyzmq-compatible blocking face"),
        ImplSpec("pyzmq.asyncio", "pyzmq_asyncio", "zmq.asyncio", "pyzmq through zmq.asyncio"),
        ImplSpec("zmtp.zmq.asyncio", "zmtp_zmq_asyncio", "zmtp.zmq.asyncio",
                 "zmtp's pyzmq-compatible asyncio face"),
    )
}

BASELINE = "pyzmq"  # ratios are figure / this implementation's figure
DEFAULT = ("zmtp", "pyzmq")  # what --impl both means


def load(name: str) -> Impl:
    """Import the module for ``name`` and return its ``IMPL`` (in a worker process)."""
    spec = REGISTRY[name]
    module = importlib.import_module(f"{__name__}.{spec.module}")
    impl = module.IMPL
    assert isinstance(impl, Impl)
    return impl
