"""pyzmq's exception classes, carrying libzmq's errno numbers and texts.

Code written for pyzmq catches ``zmq.Again``, ``zmq.ContextTerminated`` or ``zmq.ZMQError``
and looks at ``.errno``/``.strerror``; these classes keep that hierarchy and those texts so
such code behaves the same.  There is no C library here, so "the last error" that
``ZMQError()`` without an errno falls back on is kept per thread by :func:`_set_errno`.
"""

from __future__ import annotations

import errno as _errno
import os
import threading
from typing import Any, Literal, NoReturn

from zmtp.zmq.constants import Errno

__all__ = [
    "Again",
    "ContextTerminated",
    "DraftFDWarning",
    "InterruptedSystemCall",
    "NotDone",
    "ZMQBaseError",
    "ZMQBindError",
    "ZMQError",
    "ZMQVersionError",
    "strerror",
    "zmq_errno",
]

# Texts libzmq's zmq_strerror gives where they differ from the platform's strerror.
_LIBZMQ_TEXTS: dict[int, str] = {
    Errno.EFSM: "Operation cannot be accomplished in current state",
    Errno.ENOCOMPATPROTO: "The protocol is not compatible with the socket type",
    Errno.ETERM: "Context was terminated",
    Errno.EMTHREAD: "No thread available",
    Errno.EHOSTUNREACH: "Host unreachable",
}

_last = threading.local()


def strerror(errno: int) -> str:
    """libzmq's description of ``errno`` (zmq_strerror)."""
    text = _LIBZMQ_TEXTS.get(errno)
    if text is not None:
        return text
    return os.strerror(errno)


def zmq_errno() -> int:
    """The errno of the last error raised by this thread (0 if none), like zmq_errno()."""
    return int(getattr(_last, "errno", 0))


def _set_errno(errno: int) -> None:
    _last.errno = errno


class DraftFDWarning(RuntimeWarning):
    """Kept for name compatibility: pyzmq warns with it about FD on thread-safe sockets."""


class ZMQBaseError(Exception):
    """Root of every error this package raises on purpose."""


class ZMQError(ZMQBaseError):
    """An errno-style error: ``errno`` is the number, ``strerror`` libzmq's text.

    ``ZMQError()`` without a number describes this thread's last error, as pyzmq's does with
    zmq_errno(); a non-int ``errno`` (pyzmq allows a message there) becomes the text.
    """

    errno: int | None = None
    strerror: str

    def __init__(self, errno: int | str | None = None, msg: str | None = None) -> None:
        if errno is None:
            errno = zmq_errno()
        if isinstance(errno, int):
            self.errno = errno
            self.strerror = strerror(errno) if msg is None else msg
            _set_errno(errno)
        else:
            self.strerror = str(errno) if msg is None else msg
        super().__init__(self.strerror)

    def __str__(self) -> str:
        return self.strerror

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self}')"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep errno and text across pickling (multiprocessing hands errors between processes).
        return (_rebuild, (type(self), self.errno, self.strerror))


def _rebuild(cls: type[ZMQError], errno: int | None, text: str) -> ZMQError:
    err = cls.__new__(cls)
    ZMQError.__init__(err, errno if errno is not None else text, text)
    return err


class ZMQBindError(ZMQBaseError):
    """bind_to_random_port() found no free port within its tries."""


class NotDone(ZMQBaseError):
    """MessageTracker.wait() timed out before the message was sent."""


class ContextTerminated(ZMQError):
    """ETERM: the context was terminated while this call waited or was made."""

    def __init__(self, errno: int | Literal["ignored"] = "ignored", msg: str = "ignored") -> None:
        super().__init__(Errno.ETERM)


class Again(ZMQError):
    """EAGAIN: nothing to receive / no room to send, without blocking or within the timeout."""

    def __init__(self, errno: int | Literal["ignored"] = "ignored", msg: str = "ignored") -> None:
        super().__init__(Errno.EAGAIN)


class InterruptedSystemCall(ZMQError, InterruptedError):  # type: ignore[misc]
    """EINTR: a blocking call was interrupted by a signal and should have been retried."""

    def __init__(self, errno: int | Literal["ignored"] = "ignored", msg: str = "ignored") -> None:
        super().__init__(_errno.EINTR)

    def __str__(self) -> str:
        return f"{self.strerror}: This call should have been retried. Please report this to pyzmq."


class ZMQVersionError(NotImplementedError):
    """A feature needs a newer libzmq than the one this package stands in for."""

    msg: str
    min_version: str
    version: str

    def __init__(self, min_version: str, msg: str = "Feature") -> None:
        from zmtp.zmq.version import zmq_version

        self.msg = msg
        self.min_version = min_version
        self.version = zmq_version()
        super().__init__(str(self))

    def __repr__(self) -> str:
        return f"ZMQVersionError('{self}')"

    def __str__(self) -> str:
        return f"{self.msg} requires libzmq >= {self.min_version}, have {self.version}"


def _raise_errno(errno: int) -> NoReturn:
    """Raise the most specific pyzmq error class for ``errno`` (as pyzmq's _check_rc does)."""
    if errno == Errno.EAGAIN:
        raise Again()
    if errno == Errno.ETERM:
        raise ContextTerminated()
    if errno == _errno.EINTR:
        raise InterruptedSystemCall()
    raise ZMQError(errno)


def _check_rc(rc: int, errno: int | None = None, error_without_errno: bool = True) -> None:
    """Raise for a C-style return code of -1, as pyzmq's helper does."""
    if rc != -1:
        return
    if errno is None:
        errno = zmq_errno()
    if errno == 0 and not error_without_errno:
        return
    _raise_errno(errno)


def _check_version(
    min_version_info: tuple[int] | tuple[int, int] | tuple[int, int, int], msg: str = "Feature"
) -> None:
    """Raise ZMQVersionError when the emulated libzmq is older than ``min_version_info``."""
    from zmtp.zmq.version import zmq_version_info

    if zmq_version_info() < min_version_info:
        raise ZMQVersionError(".".join(str(v) for v in min_version_info), msg)
