"""Version answers for code that checks ``zmq.zmq_version()`` / ``zmq.pyzmq_version()``.

Honest and compatible at once: ``zmq_version()`` names the libzmq release whose behaviour
and wire protocol (ZMTP 3.1) this package reproduces, 4.3.5, so feature checks such as
``zmq.zmq_version_info() >= (4, 2)`` keep working; ``pyzmq_version()`` is the pyzmq API
level it follows with a local-version tag naming zmtp, e.g. ``27.3.0+zmtp.0.1.0``.  As pyzmq
does for a version with an extra part, ``pyzmq_version_info()`` is then
``(27, 3, 0, inf)``, which still compares as expected with ``(27,)`` or ``(26, 2)``.
``zmtp_version()`` gives zmtp's own.
"""

from __future__ import annotations

from zmtp._version import __version__ as _zmtp_version

__all__ = [
    "IMPLEMENTATION",
    "VERSION_EXTRA",
    "VERSION_MAJOR",
    "VERSION_MINOR",
    "VERSION_PATCH",
    "pyzmq_version",
    "pyzmq_version_info",
    "zmq_version",
    "zmq_version_info",
    "zmtp_version",
]

#: What is behind this ``zmq``: pure-Python zmtp, no libzmq.
IMPLEMENTATION = "zmtp"

_LIBZMQ_EQUIVALENT = (4, 3, 5)
_PYZMQ_API = (27, 3, 0)


def zmq_version_info() -> tuple[int, int, int]:
    """The libzmq release whose behaviour this package reproduces, as a tuple."""
    return _LIBZMQ_EQUIVALENT


def zmq_version() -> str:
    """The libzmq release whose behaviour this package reproduces ("4.3.5")."""
    return ".".join(str(v) for v in _LIBZMQ_EQUIVALENT)


#: pyzmq's module-level version parts (zmq.sugar.version has them).
VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH = _PYZMQ_API
VERSION_EXTRA = f"zmtp.{_zmtp_version}"


def pyzmq_version_info() -> tuple[int, int, int, float]:
    """The pyzmq API level this package follows; the extra part (zmtp) shows as inf."""
    return (*_PYZMQ_API, float("inf"))


def pyzmq_version() -> str:
    """The pyzmq API level, tagged with zmtp's version: ``27.3.0+zmtp.<zmtp version>``."""
    base = ".".join(str(v) for v in _PYZMQ_API)
    return f"{base}+{VERSION_EXTRA}"


def zmtp_version() -> str:
    """zmtp's own version."""
    return _zmtp_version
