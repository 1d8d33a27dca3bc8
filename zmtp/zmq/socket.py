"""``zmtp.zmq.Socket``: pyzmq's blocking Socket over a zmtp socket core.

Names, signatures, defaults and errors follow pyzmq 27: option integers in milliseconds,
-1 for "forever", ``zmq.Again`` for EAGAIN, ``ZMQError(ENOTSOCK)`` on a closed socket.
The I/O happens on the context's I/O thread; ``send`` with room and ``recv`` with a
message waiting only take the context lock and return (see ``_core.core``).

ZeroMQ messages are atomic here as in libzmq: parts sent with SNDMORE are held by this
object until the last part, and a received message is handed out part by part
(``RCVMORE``) from the whole message the core delivered.
"""

from __future__ import annotations

import collections
import errno as errno_mod
import pickle
import random
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import Again as _Again
from ..errors import EndpointError, HostUnreachable, SocketClosed, ZMTPError
from ..patterns import StateError, UnsupportedOperation
from ..protocol.sockettypes import SocketType as _CoreType
from . import constants
from ._core import EVENT_ALL, SocketCore, Terminated
from ._core.core import BindError, batchable
from .constants import Errno, SocketOption, _OptType
from .error import Again, ContextTerminated, ZMQBindError, ZMQError
from .frame import _FINISHED_TRACKER, Frame, MessageTracker

if TYPE_CHECKING:
    from .context import Context

__all__ = ["Socket", "translate_error"]

_T = TypeVar("_T")

_NOBLOCK = 1
_SNDMORE = 2
_ZERO_COPY_MIN = 64 * 1024

# pyzmq option -> (zmtp option name, conversion kind)
#   ms: milliseconds <-> seconds (-1 stays -1); int; bool; bytes; str
_OPTS: dict[int, tuple[str, str]] = {
    SocketOption.SNDHWM: ("sndhwm", "int"),
    SocketOption.RCVHWM: ("rcvhwm", "int"),
    SocketOption.LINGER: ("linger", "ms"),
    SocketOption.ROUTING_ID: ("routing_id", "bytes"),
    SocketOption.ROUTER_MANDATORY: ("router_mandatory", "bool"),
    SocketOption.ROUTER_HANDOVER: ("router_handover", "bool"),
    SocketOption.RECONNECT_IVL: ("reconnect_ivl", "ms"),
    SocketOption.RECONNECT_IVL_MAX: ("reconnect_ivl_max", "ms"),
    SocketOption.HEARTBEAT_IVL: ("heartbeat_ivl", "ms"),
    SocketOption.HEARTBEAT_TTL: ("heartbeat_ttl", "ms"),
    SocketOption.HEARTBEAT_TIMEOUT: ("heartbeat_timeout", "ms"),
    SocketOption.HANDSHAKE_IVL: ("handshake_ivl", "ms"),
    SocketOption.MAXMSGSIZE: ("maxmsgsize", "int"),
    SocketOption.RCVTIMEO: ("rcvtimeo", "ms"),
    SocketOption.SNDTIMEO: ("sndtimeo", "ms"),
    SocketOption.IMMEDIATE: ("immediate", "bool"),
    SocketOption.CONFLATE: ("conflate", "bool"),
    SocketOption.XPUB_VERBOSE: ("xpub_verbose", "bool"),
    SocketOption.XPUB_VERBOSER: ("xpub_verboser", "bool"),
    SocketOption.XPUB_WELCOME_MSG: ("xpub_welcome_msg", "bytes"),
    SocketOption.PROBE_ROUTER: ("probe_router", "bool"),
    SocketOption.XPUB_NODROP: ("xpub_nodrop", "bool"),
    SocketOption.XPUB_MANUAL: ("xpub_manual", "bool"),
    SocketOption.INVERT_MATCHING: ("invert_matching", "bool"),
    SocketOption.CONNECT_ROUTING_ID: ("connect_routing_id", "bytes"),
    SocketOption.CONNECT_TIMEOUT: ("connect_timeout", "ms"),
    SocketOption.REQ_RELAXED: ("req_relaxed", "bool"),
    SocketOption.REQ_CORRELATE: ("req_correlate", "bool"),
    SocketOption.PLAIN_SERVER: ("plain_server", "bool"),
    SocketOption.PLAIN_USERNAME: ("plain_username", "str"),
    SocketOption.PLAIN_PASSWORD: ("plain_password", "str"),
    SocketOption.IPV6: ("ipv6", "bool"),
    SocketOption.TCP_KEEPALIVE: ("tcp_keepalive", "int"),
    SocketOption.TCP_KEEPALIVE_CNT: ("tcp_keepalive_cnt", "int"),
    SocketOption.TCP_KEEPALIVE_IDLE: ("tcp_keepalive_idle", "int"),
    SocketOption.TCP_KEEPALIVE_INTVL: ("tcp_keepalive_intvl", "int"),
    SocketOption.TCP_MAXRT: ("tcp_maxrt", "ms"),
    SocketOption.TOS: ("tos", "int"),
    SocketOption.SNDBUF: ("sndbuf", "int"),
    SocketOption.RCVBUF: ("rcvbuf", "int"),
    SocketOption.BACKLOG: ("backlog", "int"),
}

# Accepted and remembered, without effect here: they tune transports zmtp.zmq does not
# have (pgm, norm, vmci, ws) or the machine (affinity, Windows fast path), or name a ZAP
# domain, which matters only to a ZAP handler (there is none, as in a libzmq process
# without one).  libzmq's defaults are the initial values.
_PASSIVE_DEFAULTS: dict[int, Any] = {
    SocketOption.AFFINITY: 0,
    SocketOption.RATE: 100,
    SocketOption.RECOVERY_IVL: 10000,
    SocketOption.MULTICAST_HOPS: 1,
    SocketOption.MULTICAST_MAXTPDU: 1500,
    SocketOption.ZAP_DOMAIN: b"",
    SocketOption.ZAP_ENFORCE_DOMAIN: 0,
    SocketOption.LOOPBACK_FASTPATH: 0,
}

# Options whose behaviour zmtp.zmq does not have: reading gives libzmq's default, setting
# that default is accepted, anything else is refused (EINVAL, with the reason) rather than
# silently doing something else than the program asked for.
_UNSUPPORTED_DEFAULTS: dict[int, Any] = {
    SocketOption.STREAM_NOTIFY: 1,
    SocketOption.TCP_ACCEPT_FILTER: b"",
    SocketOption.SOCKS_PROXY: b"",
    SocketOption.ROUTER_RAW: 0,
    SocketOption.BINDTODEVICE: b"",
    SocketOption.USE_FD: -1,
    SocketOption.SOCKS_USERNAME: b"",
    SocketOption.SOCKS_PASSWORD: b"",
    SocketOption.IPC_FILTER_GID: 0,
    SocketOption.IPC_FILTER_PID: 0,
    SocketOption.IPC_FILTER_UID: 0,
    SocketOption.ONLY_FIRST_SUBSCRIBE: 0,
    SocketOption.XSUB_VERBOSE_UNSUBSCRIBE: 0,
    SocketOption.XPUB_MANUAL_LAST_VALUE: 0,
    SocketOption.ROUTER_NOTIFY: 0,
    SocketOption.RECONNECT_STOP: 0,
    SocketOption.METADATA: b"",
    SocketOption.HELLO_MSG: b"",
    SocketOption.DISCONNECT_MSG: b"",
    SocketOption.HICCUP_MSG: b"",
}

# CURVE and GSSAPI: refused, set or read, as by a libzmq built without them
# (``zmq.has("curve")`` is False).
_NO_MECHANISM_PREFIXES = ("CURVE_", "GSSAPI_")

_SOCKET_OPTION_NAMES = {name for name in SocketOption.__members__}


def _no_mechanism(option_name: str) -> ZMQError:
    mechanism = option_name.split("_", 1)[0].lower()
    return ZMQError(Errno.EINVAL, f"{option_name}: zmtp.zmq has no {mechanism.upper()} "
                    f"mechanism (zmq.has({mechanism!r}) is False); NULL and PLAIN only")


def translate_error(exc: BaseException) -> BaseException:
    """zmtp's exceptions as pyzmq's (errno and libzmq text)."""
    if isinstance(exc, _Again):
        return Again()
    if isinstance(exc, SocketClosed):
        return ZMQError(Errno.ENOTSOCK)
    if isinstance(exc, Terminated):
        return ContextTerminated()
    if isinstance(exc, UnsupportedOperation):
        return ZMQError(Errno.ENOTSUP)
    if isinstance(exc, StateError):
        return ZMQError(Errno.EFSM)
    if isinstance(exc, HostUnreachable):
        return ZMQError(Errno.EHOSTUNREACH)
    if isinstance(exc, BindError):
        error = ZMQError(exc.errno)
        if exc.errno == errno_mod.ENAMETOOLONG:
            error.strerror += f" ({exc})"
        return error
    if isinstance(exc, EndpointError):
        text = str(exc)
        if "not supported" in text or "unknown transport" in text:
            return ZMQError(Errno.EPROTONOSUPPORT)
        if text.startswith("not bound") or text.startswith("not connected"):
            return ZMQError(errno_mod.ENOENT)
        if "already in use" in text:
            return ZMQError(Errno.EADDRINUSE)
        return ZMQError(Errno.EINVAL)
    if isinstance(exc, ZMTPError):
        return ZMQError(Errno.EINVAL, str(exc))
    return exc


class _SocketContext:
    """What bind()/connect() return: usable as a context manager that undoes them."""

    def __init__(self, socket: Socket, kind: str, addr: str) -> None:
        self.socket = socket
        self.kind = kind
        self.addr = addr

    def __repr__(self) -> str:
        return f"<SocketContext({self.kind}={self.addr!r})>"

    def __enter__(self) -> Socket:
        return self.socket

    def __exit__(self, *args: Any) -> None:
        if self.socket.closed:
            return
        if self.kind == "bind":
            self.socket.unbind(self.addr)
        else:
            self.socket.disconnect(self.addr)


def _frame_of(data: Any, copy: bool) -> Any:
    """One outgoing frame: bytes as they are; other buffers copied (copy=True or small)."""
    if type(data) is bytes:
        return data
    if isinstance(data, Frame):
        return data.bytes if copy or len(data) < _ZERO_COPY_MIN else data.buffer
    if isinstance(data, str):
        raise TypeError("unicode not allowed, use send_string")
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(
            f"expected bytes or a buffer (bytearray, memoryview, Frame), not "
            f"{type(data).__name__}"
        ) from None
    if not copy and view.nbytes >= _ZERO_COPY_MIN and view.c_contiguous:
        return view.cast("B")
    return view.tobytes()


class Socket:
    """A ZeroMQ socket with pyzmq's API; create it with ``ctx.socket(zmq.PUSH)``."""

    _repr_cls = "zmq.Socket"
    context: Context
    socket_type: int
    copy_threshold: int
    _core: SocketCore
    _parts: list[Any]
    _pholds: list[tuple[Any, Any]]
    _rparts: list[Any] | None
    _inbox: collections.deque[list[Any]] | None
    _passive: dict[int, Any]
    _monitor_socket: Socket | None
    _monitor_addr: str | None

    def __init__(
        self,
        ctx_or_socket: Context | Socket | None = None,
        socket_type: int = 0,
        *,
        shadow: Socket | int = 0,
        copy_threshold: int | None = None,
    ) -> None:
        from .context import Context

        if isinstance(ctx_or_socket, Socket) or shadow:
            source = type(self).shadow(ctx_or_socket if isinstance(ctx_or_socket, Socket)
                                       else shadow)
            self.__dict__.update(source.__dict__)
            return
        context = ctx_or_socket if ctx_or_socket is not None else Context.instance()
        if context.closed:
            raise ZMQError(Errno.ENOTSUP)
        try:
            kind = _CoreType(int(socket_type))
            core = SocketCore(context._shared, kind)
        except ValueError:
            raise ZMQError(Errno.EINVAL) from None
        d = self.__dict__
        d["context"] = context
        d["socket_type"] = int(socket_type)
        d["_core"] = core
        d["_parts"] = []  # frames sent with SNDMORE, held until the last one
        d["_pholds"] = []  # their tracking holds (see _tracking)
        d["_rparts"] = None  # the rest of a message being received part by part
        # whole messages taken ahead by recv_batch (patterns where that is invisible)
        d["_inbox"] = collections.deque() if batchable(core.pattern) else None
        d["_passive"] = dict(_PASSIVE_DEFAULTS)
        d["_monitor_socket"] = None
        d["_monitor_addr"] = None
        d["copy_threshold"] = copy_threshold if copy_threshold is not None else 65536
        d["_shadow"] = False
        _UNDERLYING[id(core)] = weakref.ref(self)
        context._add_socket(self)

    # -- lifetime ------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return bool(self._core.closed)

    @property
    def underlying(self) -> int:
        return id(self._core)

    def close(self, linger: int | None = None) -> None:
        """Close; queued messages keep being sent for ``linger`` ms (-1: until sent)."""
        core = self.__dict__.get("_core")
        if core is None or core.closed:
            return
        monitor = self.__dict__.get("_monitor_socket")
        if monitor is not None:
            monitor.close(0)
        core.close(None if linger is None else _ms_to_s(linger))
        inbox = self.__dict__.get("_inbox")
        if inbox:
            inbox.clear()
        ctx = self.__dict__.get("context")
        if ctx is not None:
            ctx._rm_socket(self)

    def __del__(self) -> None:
        try:
            core = self.__dict__.get("_core")
            if core is not None and not core.closed and not self.__dict__.get("_shadow"):
                self.close()
        except Exception:
            pass

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def __copy__(self: _S, memo: Any = None) -> _S:
        return type(self).shadow(self)

    __deepcopy__ = __copy__

    def __repr__(self) -> str:
        try:
            name = constants.SocketType(self.socket_type).name
        except ValueError:
            name = str(self.socket_type)
        state = " closed" if self.closed else ""
        return f"<{self._repr_cls}(zmq.{name}) at {id(self):#x}{state}>"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(SocketOption.__members__))

    # -- shadows: more Socket objects over the same socket ---------------------------------

    @classmethod
    def shadow(cls: type[_S], address: int | Socket) -> _S:
        """Another Socket object for the same socket (by object or by ``underlying``)."""
        if isinstance(address, Socket):
            source: Socket | None = address
        else:
            ref = _UNDERLYING.get(int(address))
            source = ref() if ref is not None else None
        if source is None:
            raise ZMQError(Errno.EINVAL, f"no socket at address {address!r}")
        obj = cls.__new__(cls)
        d = obj.__dict__
        d.update(source.__dict__)
        d["_shadow"] = True
        d["_shadow_obj"] = source
        return obj

    @property
    def type(self) -> int:
        return int(self.socket_type)

    # -- options -------------------------------------------------------------------------

    def __getattr__(self, key: str) -> Any:
        upper = key.upper()
        if upper in _SOCKET_OPTION_NAMES:
            try:
                return self.getsockopt(SocketOption[upper])
            except ZMQError as exc:
                if exc.errno == Errno.EINVAL:  # write-only (SUBSCRIBE): no such attribute
                    raise AttributeError(f"{upper} cannot be read") from None
                raise
        if upper == "HWM":
            return self.get_hwm()
        raise AttributeError(f"{type(self).__name__} has no such option: {upper}")

    def __setattr__(self, key: str, value: Any) -> None:
        if key in ("subscribe", "unsubscribe") and key not in self.__dict__:
            # s.subscribe = b"topic" sets the option, as in pyzmq
            if isinstance(value, str):
                value = value.encode("utf8")
            option = SocketOption.SUBSCRIBE if key == "subscribe" else SocketOption.UNSUBSCRIBE
            self.setsockopt(option, value)
            return
        if key in self.__dict__ or any(key in cls.__dict__ for cls in type(self).__mro__):
            object.__setattr__(self, key, value)
            return
        upper = key.upper()
        if upper in _SOCKET_OPTION_NAMES:
            self.setsockopt(SocketOption[upper], value)
            return
        raise AttributeError(f"{type(self).__name__} has no such option: {upper}")

    def setsockopt(self, option: int, optval: Any) -> None:
        """Set a libzmq option (times in ms)."""
        core = self._core
        if core.closed:
            raise ZMQError(Errno.ENOTSOCK)
        if core.terminated:
            raise ContextTerminated()
        option = int(option)
        if option in (SocketOption.SUBSCRIBE, SocketOption.UNSUBSCRIBE):
            if isinstance(optval, str):
                raise TypeError("unicode not allowed, use setsockopt_string")
            try:
                core.subscribe(bytes(optval), option == SocketOption.SUBSCRIBE)
            except ZMTPError as exc:
                if isinstance(exc, StateError):
                    raise ZMQError(Errno.EINVAL) from None
                raise translate_error(exc) from None
            return
        if option == SocketOption.HWM:
            self.setsockopt(SocketOption.SNDHWM, optval)
            self.setsockopt(SocketOption.RCVHWM, optval)
            return
        spec = _OPTS.get(option)
        if spec is None:
            if isinstance(optval, str):
                raise TypeError("unicode not allowed, use setsockopt_string")
            known = _known_option(option)
            if known is None or option in _READ_ONLY:
                if not isinstance(optval, int):
                    raise TypeError(f"option {option} takes an int, not {type(optval).__name__}")
                raise ZMQError(Errno.EINVAL)
            if known._opt_type == _OptType.bytes:
                if not isinstance(optval, (bytes, bytearray, memoryview)):
                    raise TypeError(f"{known.name} takes bytes")
                optval = bytes(optval)
            elif not isinstance(optval, int):
                raise TypeError(f"{known.name} takes an int, not {type(optval).__name__}")
            if known.name.startswith(_NO_MECHANISM_PREFIXES):
                raise _no_mechanism(known.name)
            if option == SocketOption.IPV4ONLY:  # libzmq's older, inverted IPV6
                self.setsockopt(SocketOption.IPV6, 0 if optval else 1)
                return
            if option in _UNSUPPORTED_DEFAULTS:
                if optval != _UNSUPPORTED_DEFAULTS[option]:
                    raise ZMQError(Errno.EINVAL, f"zmtp.zmq does not implement {known.name}; "
                                   "only its default value can be set")
                return
            self._passive[option] = optval  # accepted, without effect here
            return
        name, kind = spec
        try:
            if kind == "ms":
                value: Any = _ms_to_s(optval)
            elif kind == "int" or kind == "bool":
                if not isinstance(optval, int):
                    raise TypeError(f"option expects an int, not {type(optval).__name__}")
                value = bool(optval) if kind == "bool" else int(optval)
            elif kind == "bytes":
                if isinstance(optval, str):
                    raise TypeError("unicode not allowed, use setsockopt_string")
                value = bytes(optval)
            else:
                if isinstance(optval, str):
                    raise TypeError("unicode not allowed, use setsockopt_string")
                value = bytes(optval).decode("utf-8", "replace")
            if name == "maxmsgsize" and value < -1:
                raise ValueError("maxmsgsize")
            if name == "tcp_keepalive" and value not in (-1, 0, 1):
                raise ValueError("tcp_keepalive")
            with core.lock:
                core.options.set(name, value)
            if name in ("sndhwm", "rcvhwm"):
                self._apply_hwm()
        except (ValueError, OverflowError):
            raise ZMQError(Errno.EINVAL) from None

    def _apply_hwm(self) -> None:
        """libzmq applies HWM changes to pipes made later; existing ones keep theirs,
        except that pipes not yet connected (queued connects) take the new limits."""
        core = self._core
        with core.lock:
            options = core.options
            for pipe in core.pipes:
                if not pipe.is_inproc and not pipe.ready:
                    pipe.out_limit = options.sndhwm
                    pipe.in_limit = options.rcvhwm

    def getsockopt(self, option: int) -> Any:
        """Get a libzmq option (times in ms)."""
        core = self._core
        option = int(option)
        if core.closed:
            raise ZMQError(Errno.ENOTSOCK)
        if core.terminated:
            raise ContextTerminated()
        if option == SocketOption.TYPE:
            return self.socket_type
        if option == SocketOption.RCVMORE:
            return 1 if self._rparts else 0
        if option == SocketOption.EVENTS:
            bits = core.events()
            if self._rparts or self._inbox:
                bits |= 1
            return bits
        if option == SocketOption.FD:
            return core.fileno()
        if option == SocketOption.LAST_ENDPOINT:
            return core.last_endpoint.encode()
        if option == SocketOption.MECHANISM:
            if core.options.plain_server or core.options.plain_username is not None:
                return constants.SecurityMechanism.PLAIN
            return constants.SecurityMechanism.NULL
        if option == SocketOption.HWM:
            return self.get_hwm()
        if option == SocketOption.THREAD_SAFE:
            return 0
        spec = _OPTS.get(option)
        if spec is None:
            if option in self._passive:
                return self._passive[option]
            if option in _UNSUPPORTED_DEFAULTS:
                return _UNSUPPORTED_DEFAULTS[option]
            if option == SocketOption.IPV4ONLY:
                return 0 if core.options.ipv6 else 1
            known = _known_option(option)
            if known is None or option in (SocketOption.SUBSCRIBE, SocketOption.UNSUBSCRIBE):
                raise ZMQError(Errno.EINVAL)
            if known.name.startswith(_NO_MECHANISM_PREFIXES):
                raise _no_mechanism(known.name)
            return b"" if known._opt_type == _OptType.bytes else 0
        name, kind = spec
        value = core.options.get(name)
        if kind == "ms":
            return -1 if value < 0 else round(value * 1000)
        if kind == "bool":
            return int(value)
        if kind == "str":
            return b"" if value is None else str(value).encode()
        return value

    set = setsockopt
    get = getsockopt

    def setsockopt_string(self, option: int, optval: str, encoding: str = "utf-8") -> None:
        if not isinstance(optval, str):
            raise TypeError(f"strings only, not {type(optval)}")
        self.setsockopt(option, optval.encode(encoding))

    setsockopt_unicode = setsockopt_string
    set_string = setsockopt_string

    def getsockopt_string(self, option: int, encoding: str = "utf-8") -> str:
        value = self.getsockopt(option)
        if not isinstance(value, bytes):
            raise TypeError(f"option {option} will not return a string to be decoded")
        return value.decode(encoding)

    getsockopt_unicode = getsockopt_string
    get_string = getsockopt_string

    def set_hwm(self, value: int) -> None:
        self.setsockopt(SocketOption.SNDHWM, value)
        self.setsockopt(SocketOption.RCVHWM, value)

    def get_hwm(self) -> int:
        return int(self.getsockopt(SocketOption.SNDHWM))

    hwm = property(get_hwm, set_hwm)

    def subscribe(self, topic: str | bytes) -> None:
        if isinstance(topic, str):
            topic = topic.encode("utf8")
        self.setsockopt(SocketOption.SUBSCRIBE, topic)

    def unsubscribe(self, topic: str | bytes) -> None:
        if isinstance(topic, str):
            topic = topic.encode("utf8")
        self.setsockopt(SocketOption.UNSUBSCRIBE, topic)

    def fileno(self) -> int:
        fd: int = self.getsockopt(SocketOption.FD)
        return fd

    def _zmtp_poll_events(self) -> int:
        """POLLIN|POLLOUT now, without touching the fd (for zmtp.zmq.Poller)."""
        core = self._core
        if core.closed:
            return 0
        bits = core.poll_events()
        if self._rparts or self._inbox:
            bits |= 1
        return bits

    # -- endpoints -----------------------------------------------------------------------

    def bind(self, addr: str) -> _SocketContext:
        """Listen on ``addr``; returns a context manager that unbinds on exit."""
        addr = _addr(addr)
        if self._core.closed:
            raise ZMQError(Errno.ENOTSOCK)
        try:
            self._core.bind(addr)
        except ZMTPError as exc:
            err = translate_error(exc)
            if isinstance(err, ZMQError):
                err.strerror += f" (addr={addr!r})"
                err.args = (err.strerror,)
            raise err from None
        return _SocketContext(self, "bind", self._core.last_endpoint if _is_wild(addr) else addr)

    def bind_to_random_port(
        self, addr: str, min_port: int = 49152, max_port: int = 65536, max_tries: int = 100
    ) -> int:
        """Bind to a free port (the OS picks it when no range is given); return the port."""
        if min_port == 49152 and max_port == 65536:
            self.bind(f"{addr}:*")
            return int(self._core.last_endpoint.rsplit(":", 1)[1])
        for _ in range(max_tries):
            port = random.randrange(min_port, max_port)
            try:
                self.bind(f"{addr}:{port}")
            except ZMQError as exc:
                if exc.errno in (Errno.EADDRINUSE, errno_mod.EACCES):
                    continue
                raise
            return port
        raise ZMQBindError("Could not bind socket to random port.")

    def connect(self, addr: str) -> _SocketContext:
        """Connect to ``addr`` (now or when it appears); returns a disconnecting context."""
        addr = _addr(addr)
        if self._core.closed:
            raise ZMQError(Errno.ENOTSOCK)
        try:
            self._core.connect(addr)
        except ZMTPError as exc:
            err = translate_error(exc)
            if isinstance(err, ZMQError):
                err.strerror += f" (addr={addr!r})"
                err.args = (err.strerror,)
            raise err from None
        return _SocketContext(self, "connect", addr)

    def unbind(self, addr: str | bytes) -> None:
        try:
            self._core.unbind(_addr(addr))
        except ZMTPError as exc:
            raise translate_error(exc) from None

    def disconnect(self, addr: str | bytes) -> None:
        try:
            self._core.disconnect(_addr(addr))
        except ZMTPError as exc:
            raise translate_error(exc) from None

    # -- sending -------------------------------------------------------------------------

    def send(
        self,
        data: Any,
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        routing_id: int | None = None,
        group: str | None = None,
    ) -> MessageTracker | None:
        """Send one frame; with SNDMORE it is held until the message's last frame."""
        if routing_id is not None or group is not None:
            raise ZMQError(Errno.ENOTSUP)
        if track or (not copy and isinstance(data, Frame)):
            tracker, holds = self._tracking((data,), copy, track)
            self._pholds.extend(holds)
        else:
            tracker = None
        frame = data if type(data) is bytes else _frame_of(data, copy)
        if flags & _SNDMORE:
            if self._core.closed:
                raise ZMQError(Errno.ENOTSOCK)
            self._parts.append(frame)
            return tracker
        parts = self._parts
        if parts:
            message = [*parts, frame]
        else:
            message = [frame]
        core = self._core
        try:
            if flags & _NOBLOCK:
                core.send(message, False)
            else:
                core.send(message, True, core.options.sndtimeo)
        except ZMTPError as exc:
            raise translate_error(exc) from None
        if parts:
            parts.clear()
        if self._pholds:
            self._core.add_tracks(self._pholds)
            self.__dict__["_pholds"] = []
        return tracker

    def _tracking(self, items: Sequence[Any], copy: bool, track: bool
                  ) -> tuple[MessageTracker | None, list[tuple[Any, Any]]]:
        """What a send returns with ``track``/tracked Frames, and what must stay held
        until the message is written (an event to set, or the Frame itself: its tracker
        is done once it is gone and nothing of ours still needs it)."""
        trackers: list[MessageTracker] = []
        holds: list[tuple[Any, Any]] = []
        for item in items:
            if isinstance(item, Frame) and not copy:
                if item.tracker is not None:
                    holds.append((None, item))
                    trackers.append(item.tracker)
                elif track:
                    raise ValueError("Not a tracked message")
        if track and not trackers:
            small = copy or all(
                (len(item) if isinstance(item, Frame) else memoryview(item).nbytes)
                < self.copy_threshold for item in items
            )
            if small:
                return _FINISHED_TRACKER, holds
            event = threading.Event()
            holds.append((event, None))
            trackers.append(MessageTracker(event))
        if not trackers:
            return None, holds
        return (trackers[0] if len(trackers) == 1 else MessageTracker(*trackers)), holds

    def send_multipart(
        self, msg_parts: Sequence[Any], flags: int = 0, copy: bool = True, track: bool = False,
        **kwargs: Any,
    ) -> MessageTracker | None:
        """Send a whole message at once (each part bytes-like or a Frame)."""
        tracker = None
        if track or not copy:
            tracker, holds = self._tracking(msg_parts, copy, track)
            self._pholds.extend(holds)
        message = [part if type(part) is bytes else _frame_of(part, copy) for part in msg_parts]
        if not message:
            raise ZMQError(Errno.EINVAL, "a message needs at least one part")
        if flags & _SNDMORE:
            # pyzmq sends every part with the caller's flags, so SNDMORE leaves the
            # message open for the next send.
            if self._core.closed:
                raise ZMQError(Errno.ENOTSOCK)
            self._parts.extend(message)
            return tracker
        if self._parts:
            message[:0] = self._parts
        core = self._core
        try:
            if flags & _NOBLOCK:
                core.send(message, False)
            else:
                core.send(message, True, core.options.sndtimeo)
        except ZMTPError as exc:
            raise translate_error(exc) from None
        self._parts.clear()
        if self._pholds:
            self._core.add_tracks(self._pholds)
            self.__dict__["_pholds"] = []
        return tracker

    def send_string(self, u: str, flags: int = 0, copy: bool = True, encoding: str = "utf-8",
                    **kwargs: Any) -> Any:
        if not isinstance(u, str):
            raise TypeError("str objects only")
        return self.send(u.encode(encoding), flags=flags, copy=copy, **kwargs)

    send_unicode = send_string

    def send_pyobj(self, obj: Any, flags: int = 0, protocol: int = pickle.DEFAULT_PROTOCOL,
                   **kwargs: Any) -> Any:
        return self.send(pickle.dumps(obj, protocol), flags=flags, **kwargs)

    def send_json(self, obj: Any, flags: int = 0, **kwargs: Any) -> Any:
        send_kwargs = {k: kwargs.pop(k) for k in ("copy", "track", "routing_id", "group")
                       if k in kwargs}
        return self.send(_json_dumps(obj, **kwargs), flags=flags, **send_kwargs)

    def send_serialized(self, msg: Any, serialize: Callable[[Any], Sequence[Any]],
                        flags: int = 0, copy: bool = True, **kwargs: Any) -> Any:
        frames = serialize(msg)
        return self.send_multipart(frames, flags=flags, copy=copy, **kwargs)

    # -- receiving -----------------------------------------------------------------------

    def _next_message(self, flags: int) -> list[Any]:
        inbox = self._inbox
        if inbox:
            if self._core.closed:
                raise ZMQError(Errno.ENOTSOCK)
            return inbox.popleft()
        core = self._core
        try:
            if inbox is not None:
                if flags & _NOBLOCK:
                    return core.recv_batch(inbox, False)
                return core.recv_batch(inbox, True, core.options.rcvtimeo)
            if flags & _NOBLOCK:
                message: list[Any] = core.recv(False)
            else:
                message = core.recv(True, core.options.rcvtimeo)
            return message
        except ZMTPError as exc:
            raise translate_error(exc) from None

    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> Any:
        """Receive one frame (the next part of the current message, if one is open)."""
        rparts = self._rparts
        if rparts:
            frame = rparts.pop()
            more = bool(rparts)
            if not more:
                self.__dict__["_rparts"] = None
        else:
            inbox = self._inbox
            message = inbox.popleft() if inbox else self._next_message(flags)
            if len(message) == 1:
                frame = message[0]
                more = False
            else:
                rest = message[1:]
                rest.reverse()
                self.__dict__["_rparts"] = rest
                frame = message[0]
                more = True
        if copy:
            return frame if type(frame) is bytes else bytes(frame)
        return Frame._received(frame, more)

    def recv_multipart(self, flags: int = 0, copy: bool = True, track: bool = False) -> list[Any]:
        """Receive a whole message (or the rest of one being read part by part)."""
        rparts = self._rparts
        if rparts:
            rparts.reverse()
            message = rparts
            self.__dict__["_rparts"] = None
        else:
            message = self._next_message(flags)
        if copy:
            return [f if type(f) is bytes else bytes(f) for f in message]
        last = len(message) - 1
        return [Frame._received(f, i < last) for i, f in enumerate(message)]

    def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> Any:
        return self._deserialize(self.recv(flags=flags), lambda b: b.decode(encoding))

    recv_unicode = recv_string

    def recv_pyobj(self, flags: int = 0) -> Any:
        return self._deserialize(self.recv(flags=flags), pickle.loads)

    def recv_json(self, flags: int = 0, **kwargs: Any) -> Any:
        return self._deserialize(self.recv(flags=flags), lambda b: _json_loads(b, **kwargs))

    def recv_serialized(self, deserialize: Callable[[list[Any]], _T], flags: int = 0,
                        copy: bool = True) -> Any:
        return self._deserialize(self.recv_multipart(flags=flags, copy=copy), deserialize)

    def _deserialize(self, received: Any, load: Callable[[Any], Any]) -> Any:
        return load(received)

    def recv_into(self, buffer: Any, /, *, nbytes: int = 0, flags: int = 0) -> int:
        """Receive one frame into ``buffer``; returns the frame's full size (may truncate)."""
        view = _writable_view(buffer)
        if nbytes < 0:
            raise ValueError(f"nbytes={nbytes!r} must be non-negative")
        if nbytes > len(view):
            raise ValueError(f"nbytes={nbytes} is more than the buffer's {len(view)} bytes")
        limit = len(view) if nbytes == 0 else nbytes
        data = self.recv(flags=flags)
        count = min(limit, len(data))
        view[:count] = data[:count]
        return len(data)

    # -- poll ----------------------------------------------------------------------------

    def poll(self, timeout: int | None = None, flags: int = 1) -> int:
        """Wait until the socket is readable (POLLIN) / writable (POLLOUT); return the bits."""
        core = self._core
        if core.closed:
            raise ZMQError(Errno.ENOTSOCK)
        if (self._rparts or self._inbox) and flags & 1:
            return 1 | (core.poll_events() & flags & 2)
        seconds = -1.0 if timeout is None or timeout < 0 else timeout / 1000
        try:
            return core.wait_events(flags, seconds)
        except ZMTPError as exc:
            raise translate_error(exc) from None

    # -- monitor -------------------------------------------------------------------------

    def monitor(self, addr: str | bytes | None, events: int = EVENT_ALL) -> None:
        """Publish this socket's connection events on a PAIR socket bound at ``addr``.

        ``addr=None`` stops monitoring, as libzmq's zmq_socket_monitor(s, NULL, 0).
        """
        if addr is None:
            self._core.remove_monitors()
            return
        addr = _addr(addr)
        if not addr.startswith("inproc://"):
            raise ZMQError(Errno.EPROTONOSUPPORT)
        ctx = self.context
        mon = SocketCore(ctx._shared, _CoreType.PAIR)
        mon.options.set("linger", 0)
        try:
            mon.bind(addr)
        except ZMTPError as exc:
            mon.close(0)
            raise translate_error(exc) from None
        self._core.add_monitor(mon, int(events))

    def get_monitor_socket(self, events: int | None = None, addr: str | None = None) -> Socket:
        """Start monitoring and return a PAIR socket connected to the monitor."""
        if self._monitor_socket is not None:
            if self._monitor_socket.closed:
                self.__dict__["_monitor_socket"] = None
            else:
                return self._monitor_socket
        if addr is None:
            addr = f"inproc://monitor.s-{id(self):x}-{time.monotonic_ns()}"
        if events is None:
            events = EVENT_ALL
        self.monitor(addr, events)
        sock: Socket = self.context.socket(constants.SocketType.PAIR)
        sock.connect(addr)
        self.__dict__["_monitor_socket"] = sock
        self.__dict__["_monitor_addr"] = addr
        return sock

    def disable_monitor(self) -> None:
        """Stop monitoring (MONITOR_STOPPED is sent to the monitor socket first)."""
        self.__dict__["_monitor_socket"] = None
        self.__dict__["_monitor_addr"] = None
        self._core.remove_monitors()


_S = TypeVar("_S", bound=Socket)


def _ms_to_s(value: Any) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"option expects an int, not {type(value).__name__}")
    if value < 0:
        if value != -1:
            raise ValueError("negative time")
        return -1.0
    return float(value) / 1000.0


def _addr(addr: Any) -> str:
    if isinstance(addr, bytes):
        return addr.decode("utf-8")
    if not isinstance(addr, str):
        raise TypeError(f"expected str, got: {addr!r}")
    return addr


def _is_wild(addr: str) -> bool:
    return addr.endswith(":*") or addr.endswith(":0") or addr == "ipc://*"


def _json_dumps(obj: Any, **kwargs: Any) -> bytes:
    import json

    kwargs.setdefault("ensure_ascii", False)
    return json.dumps(obj, separators=(",", ":"), **kwargs).encode("utf8")


def _json_loads(data: bytes, **kwargs: Any) -> Any:
    import json

    return json.loads(data.decode("utf8") if isinstance(data, bytes) else data, **kwargs)


_UNDERLYING: dict[int, weakref.ref[Socket]] = {}

_READ_ONLY = frozenset({
    SocketOption.TYPE, SocketOption.RCVMORE, SocketOption.EVENTS, SocketOption.FD,
    SocketOption.LAST_ENDPOINT, SocketOption.MECHANISM, SocketOption.THREAD_SAFE,
    SocketOption.TOPICS_COUNT,
})


def _known_option(option: int) -> SocketOption | None:
    try:
        return SocketOption(option)
    except ValueError:
        return None


def _writable_view(buffer: Any) -> memoryview:
    """recv_into's target: a writable, contiguous buffer (BufferError otherwise)."""
    view = memoryview(buffer)
    if view.readonly:
        raise BufferError("recv_into needs a writable buffer")
    if not view.c_contiguous:
        raise BufferError("recv_into needs a contiguous buffer")
    return view.cast("B")
