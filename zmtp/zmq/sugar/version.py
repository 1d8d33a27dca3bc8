"""Alias of zmtp.zmq.version under pyzmq's module path."""

from zmtp.zmq.version import (
    VERSION_EXTRA,
    VERSION_MAJOR,
    VERSION_MINOR,
    VERSION_PATCH,
    pyzmq_version,
    pyzmq_version_info,
    zmq_version,
    zmq_version_info,
)

__version__ = pyzmq_version()
version_info = pyzmq_version_info()

__all__ = [
    "VERSION_EXTRA",
    "VERSION_MAJOR",
    "VERSION_MINOR",
    "VERSION_PATCH",
    "__version__",
    "pyzmq_version",
    "pyzmq_version_info",
    "version_info",
    "zmq_version",
    "zmq_version_info",
]
