"""``zmtp.zmq.Context``: pyzmq's Context over one background I/O thread.

The context owns what its sockets share (the lock, the inproc names, the I/O thread) and
libzmq's termination rules: ``term()`` makes blocked and later calls on its sockets raise
``ContextTerminated`` and returns once every socket is closed and has lingered.
"""

from __future__ import annotations

import os
import threading
import warnings
import weakref
from typing import Any, ClassVar, TypeVar

from . import constants
from ._core import Driver, IOThread, Shared
from .constants import ContextOption, Errno, SocketOption
from .error import ZMQError
from .socket import Socket

__all__ = ["Context"]

_UNDERLYING: dict[int, weakref.ref[Context]] = {}

_C = TypeVar("_C", bound="Context")

_CTX_DEFAULTS: dict[int, int] = {
    ContextOption.IO_THREADS: 1,
    ContextOption.MAX_SOCKETS: 1023,
    ContextOption.SOCKET_LIMIT: 65535,  # == THREAD_PRIORITY's number, as in libzmq
    ContextOption.THREAD_SCHED_POLICY: -1,
    ContextOption.MAX_MSGSZ: 2**31 - 1,
    ContextOption.MSG_T_SIZE: 64,
    ContextOption.THREAD_AFFINITY_CPU_ADD: -1,
    ContextOption.THREAD_AFFINITY_CPU_REMOVE: -1,
    ContextOption.THREAD_NAME_PREFIX: -1,
    42: 0,  # ZMQ_IPV6
    70: 1,  # ZMQ_BLOCKY
}


class Context:
    """A ZeroMQ context: ``ctx = zmq.Context(); s = ctx.socket(zmq.REQ)``."""

    _instance: ClassVar[Context | None] = None
    _instance_lock: ClassVar[threading.Lock] = threading.Lock()
    _instance_pid: ClassVar[int | None] = None
    _socket_class: ClassVar[type[Socket]] = Socket

    sockopts: dict[int, Any]
    _shared: Shared
    _sockets: weakref.WeakSet[Socket]
    _opts: dict[int, Any]
    _pid: int

    def __init__(self, io_threads: int | Context = 1, shadow: Context | int = 0) -> None:
        if isinstance(io_threads, Context) or shadow:
            source = type(self).shadow(io_threads if isinstance(io_threads, Context) else shadow)
            self.__dict__.update(source.__dict__)
            return
        if not isinstance(io_threads, int) or io_threads < 0:
            raise ZMQError(Errno.EINVAL)
        d = self.__dict__
        d["_shadow"] = False
        d["sockopts"] = {}
        d["_shared"] = Shared(self._make_driver())
        d["_sockets"] = weakref.WeakSet()
        d["_opts"] = dict(_CTX_DEFAULTS)
        d["_opts"][ContextOption.IO_THREADS] = int(io_threads)
        d["_pid"] = os.getpid()
        _UNDERLYING[id(d["_shared"])] = weakref.ref(self)

    @classmethod
    def shadow(cls: type[_C], address: int | Context) -> _C:
        """Another Context object for the same context (by object or ``underlying``)."""
        if isinstance(address, Context):
            source: Context | None = address
        else:
            ref = _UNDERLYING.get(int(address))
            source = ref() if ref is not None else None
        if source is None:
            raise ZMQError(Errno.EINVAL, f"no context at address {address!r}")
        obj = cls.__new__(cls)
        obj.__dict__.update(source.__dict__)
        obj.__dict__["_shadow"] = True
        return obj

    def _make_driver(self) -> Driver:
        return IOThread()

    @property
    def closed(self) -> bool:
        return self._shared.closed

    @property
    def underlying(self) -> int:
        return id(self._shared)

    _repr_cls = "zmq.Context"

    def __repr__(self) -> str:
        closed = " closed" if self._shared.closed else ""
        n = len(self._sockets)
        count = "" if not n else f"{n} socket{'s' if n != 1 else ''}"
        return f"<{self._repr_cls}({count}) at {id(self):#x}{closed}>"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(ContextOption.__members__))

    # -- singleton -------------------------------------------------------------------------

    @classmethod
    def instance(cls: type[_C], io_threads: int = 1) -> _C:
        """The process-wide context (made on first call, again after it was closed)."""
        inst = cls._instance
        if inst is None or inst.closed or cls._instance_pid != os.getpid():
            with cls._instance_lock:
                inst = cls._instance
                if inst is None or inst.closed or cls._instance_pid != os.getpid():
                    inst = cls(io_threads=io_threads)
                    cls._instance = inst
                    cls._instance_pid = os.getpid()
        return inst  # type: ignore[return-value]  # a subclass may share its parent's

    # -- sockets ---------------------------------------------------------------------------

    def socket(self, socket_type: int, socket_class: Any = None, **kwargs: Any) -> Any:
        """A new socket of ``socket_type``, with the context's default options applied."""
        if self._shared.closed:
            # libzmq's answer for a terminated context reached through a shadow is EFAULT
            raise ZMQError(Errno.EFAULT if self.__dict__.get("_shadow") else Errno.ENOTSUP)
        cls = socket_class if socket_class is not None else self._socket_class
        sock = cls(self, socket_type, **kwargs)
        for opt, value in self.sockopts.items():
            try:
                sock.setsockopt(opt, value)
            except ZMQError:
                pass  # e.g. SUBSCRIBE on a non-SUB socket, as pyzmq
        return sock

    def _add_socket(self, sock: Socket) -> None:
        self._sockets.add(sock)

    def _rm_socket(self, sock: Socket) -> None:
        self._sockets.discard(sock)

    # -- termination -----------------------------------------------------------------------

    def term(self) -> None:
        """Terminate: wait until every socket is closed (and lingered), then stop I/O.

        Blocked calls on this context's sockets in other threads raise ContextTerminated,
        as do later calls (close excepted).
        """
        if self._shared.closed:
            return
        shared = self._shared
        with shared.lock:
            shared.terminated = True
            cores = list(shared.cores)
        for sock in list(self._sockets):
            inbox = sock.__dict__.get("_inbox")
            if inbox:
                inbox.clear()  # taken ahead, never handed out: ETERM from now on
        for core in cores:
            core.terminate()
        with shared.lock:
            while shared.cores:
                if not shared.done.wait(0.5):
                    # cores whose Socket object was collected without close()
                    for core in list(shared.cores):
                        if not core.closed and not self._owned(core):
                            core.close()
        shared.driver.stop()
        self._shared.closed = True

    def _owned(self, core: Any) -> bool:
        return any(sock.__dict__.get("_core") is core for sock in list(self._sockets))

    def destroy(self, linger: int | None = None) -> None:
        """Close every socket (with ``linger`` ms if given), then terminate."""
        if self._shared.closed:
            return
        for sock in list(self._sockets):
            if not sock.closed:
                sock.close(linger=linger)
        # monitor PAIRs and other internal cores close with their owners
        with self._shared.lock:
            for core in list(self._shared.cores):
                if not core.closed:
                    core.close(None if linger is None else linger / 1000)
        self.term()

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(self, *args: Any) -> None:
        for sock in list(self._sockets):
            if not sock.closed:
                warnings.warn(f"Unclosed socket {sock}", ResourceWarning, stacklevel=2)
        self.destroy()

    def __del__(self) -> None:
        if self.__dict__.get("_shadow", True):
            return
        try:
            shared = self.__dict__.get("_shared")
            idle = shared is not None and not shared.closed and not self.__dict__["_sockets"]
            if idle and self._shared.driver.loop is not None:
                self._shared.driver.stop()
        except Exception:
            pass

    def __copy__(self: _C, memo: Any = None) -> _C:
        return type(self).shadow(self)

    __deepcopy__ = __copy__

    # -- options ---------------------------------------------------------------------------

    def set(self, option: int, optval: int) -> None:
        """Set a context option (IO_THREADS, MAX_SOCKETS, BLOCKY, ...)."""
        option = int(option)
        if option not in self._opts or option == ContextOption.SOCKET_LIMIT:
            raise ZMQError(Errno.EINVAL)
        if not isinstance(optval, int):
            raise TypeError("context options are ints")
        self._opts[option] = optval

    def get(self, option: int) -> int:
        option = int(option)
        if option not in self._opts:
            raise ZMQError(Errno.EINVAL)
        return int(self._opts[option])

    def setsockopt(self, opt: int, value: Any) -> None:
        """Default socket option for sockets made later by this context."""
        self.sockopts[int(opt)] = value

    def getsockopt(self, opt: int) -> Any:
        return self.sockopts[int(opt)]

    def __setattr__(self, key: str, value: Any) -> None:
        if key in self.__dict__ or any(key in cls.__dict__ for cls in type(self).__mro__):
            object.__setattr__(self, key, value)
            return
        upper = key.upper()
        if upper in ContextOption.__members__:
            self.set(ContextOption[upper], value)
        elif upper in SocketOption.__members__ or upper == "HWM":
            opt = getattr(constants, upper)
            if upper == "HWM":
                self.sockopts[SocketOption.SNDHWM] = value
                self.sockopts[SocketOption.RCVHWM] = value
            else:
                self.sockopts[int(opt)] = value
        else:
            raise AttributeError(f"{type(self).__name__} has no such option: {upper}")

    def __getattr__(self, key: str) -> Any:
        upper = key.upper()
        if upper in ContextOption.__members__:
            return self.get(ContextOption[upper])
        if upper in SocketOption.__members__:
            try:
                return self.sockopts[int(SocketOption[upper])]
            except KeyError:
                raise AttributeError(f"no default socket option {upper} set") from None
        if upper == "HWM" and SocketOption.SNDHWM in self.sockopts:
            return self.sockopts[SocketOption.SNDHWM]
        raise AttributeError(f"{type(self).__name__} has no such option: {upper}")

    def __delattr__(self, key: str) -> None:
        upper = key.upper()
        if upper in SocketOption.__members__:
            self.sockopts.pop(int(SocketOption[upper]), None)
            return
        object.__delattr__(self, key)
