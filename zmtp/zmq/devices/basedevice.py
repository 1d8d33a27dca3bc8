"""Device, ThreadDevice, ProcessDevice and zmq.device(): a proxy with its sockets built for you.

A device records how its sockets should be set up (options, binds, connects per role) and
creates them only when it runs — in the calling thread (Device.start), a background thread
(ThreadDevice) or a child process (ProcessDevice) — because sockets belong to the thread
that uses them.  Running ends quietly when the context is terminated (ETERM) or a socket is
closed under it (ENOTSOCK), as pyzmq's devices do.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from typing import Any

from zmtp.zmq.constants import PUSH, QUEUE, Errno
from zmtp.zmq.error import ZMQBindError, ZMQError
from zmtp.zmq.proxy import proxy

__all__ = ["Device", "ProcessDevice", "ThreadDevice", "device"]


def device(device_type: int, frontend: Any, backend: Any) -> None:
    """pyzmq's zmq.device(): QUEUE, FORWARDER and STREAMER all mean proxy(frontend, backend)."""
    proxy(frontend, backend)


def _shared_context() -> Any:
    from zmtp.zmq.context import Context

    return Context.instance()


def _new_context() -> Any:
    from zmtp.zmq.context import Context

    return Context()


class _Role:
    """What to do to one of the device's sockets before it runs."""

    def __init__(self, socket_type: int) -> None:
        self.socket_type = socket_type
        self.binds: list[str] = []
        self.connects: list[str] = []
        self.sockopts: list[tuple[int, Any]] = []

    def make(self, ctx: Any) -> Any:
        sock = ctx.socket(self.socket_type)
        # Options first: some (ROUTING_ID, SUBSCRIBE order aside) must precede bind/connect.
        for opt, value in self.sockopts:
            sock.setsockopt(opt, value)
        for addr in self.binds:
            sock.bind(addr)
        for addr in self.connects:
            sock.connect(addr)
        return sock


class Device:
    """A QUEUE/FORWARDER/STREAMER between an ``in`` and an ``out`` socket.

    Configure with bind_in/connect_in/setsockopt_in (and ``_out``), then start().  An
    ``out_type`` below zero makes the device use the in socket for both sides.
    ``context_factory`` (class attribute) gives the Context the sockets are made in.
    """

    context_factory: Callable[[], Any] = staticmethod(_shared_context)
    daemon: bool

    def __init__(
        self, device_type: int = QUEUE, in_type: int | None = None, out_type: int | None = None
    ) -> None:
        if in_type is None:
            raise TypeError("in_type must be specified")
        if out_type is None:
            raise TypeError("out_type must be specified")
        self.device_type = device_type
        self.in_type = in_type
        self.out_type = out_type
        self._roles: dict[str, _Role] = {"in": _Role(in_type), "out": _Role(out_type)}
        self._random_addrs: list[str] = []
        self._sockets: list[Any] = []
        self._context: Any = None
        self.daemon = True
        self.done = False

    # -- configuration, recorded until the device runs ---------------------------------
    def _reserve_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        """Find a free port by binding and closing a scratch socket (not one used before)."""
        ctx = _new_context()
        try:
            scratch = ctx.socket(PUSH)
            try:
                for _ in range(5):
                    port = int(scratch.bind_to_random_port(addr, *args, **kwargs))
                    if f"{addr}:{port}" not in self._random_addrs:
                        break
                else:
                    raise ZMQBindError("Could not reserve random port.")
            finally:
                scratch.close(linger=0)
        finally:
            ctx.term()
        self._random_addrs.append(f"{addr}:{port}")
        return port

    def _bind_random(self, role: str, addr: str, *args: Any, **kwargs: Any) -> int:
        port = self._reserve_random_port(addr, *args, **kwargs)
        self._roles[role].binds.append(f"{addr}:{port}")
        return port

    def bind_in(self, addr: str) -> None:
        """Bind the in socket to ``addr`` when the device runs."""
        self._roles["in"].binds.append(addr)

    def bind_in_to_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        """Reserve a random port now, bind the in socket to it when the device runs."""
        return self._bind_random("in", addr, *args, **kwargs)

    def connect_in(self, addr: str) -> None:
        """Connect the in socket to ``addr`` when the device runs."""
        self._roles["in"].connects.append(addr)

    def setsockopt_in(self, opt: int, value: Any) -> None:
        """Set an option on the in socket (before its binds and connects)."""
        self._roles["in"].sockopts.append((opt, value))

    def bind_out(self, addr: str) -> None:
        """Bind the out socket to ``addr`` when the device runs."""
        self._roles["out"].binds.append(addr)

    def bind_out_to_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        """Reserve a random port now, bind the out socket to it when the device runs."""
        return self._bind_random("out", addr, *args, **kwargs)

    def connect_out(self, addr: str) -> None:
        """Connect the out socket to ``addr`` when the device runs."""
        self._roles["out"].connects.append(addr)

    def setsockopt_out(self, opt: int, value: Any) -> None:
        """Set an option on the out socket (before its binds and connects)."""
        self._roles["out"].sockopts.append((opt, value))

    # -- running ---------------------------------------------------------------------
    def _make(self, role: str) -> Any:
        sock = self._roles[role].make(self._context)
        self._sockets.append(sock)
        return sock

    def _setup_sockets(self) -> tuple[Any, Any]:
        self._context = self.context_factory()
        ins = self._make("in")
        if self.out_type < 0:
            role = self._roles["out"]
            for opt, value in role.sockopts:
                ins.setsockopt(opt, value)
            for addr in role.binds:
                ins.bind(addr)
            for addr in role.connects:
                ins.connect(addr)
            return ins, ins
        return ins, self._make("out")

    def run_device(self) -> None:
        """Set the sockets up and forward between them (called by run())."""
        ins, outs = self._setup_sockets()
        proxy(ins, outs)

    def _close_sockets(self) -> None:
        for sock in self._sockets:
            if not sock.closed:
                sock.close()

    def run(self) -> None:
        """run_device(), ending quietly on ETERM/ENOTSOCK, closing the sockets afterwards."""
        try:
            self.run_device()
        except ZMQError as exc:
            if exc.errno not in (Errno.ETERM, Errno.ENOTSOCK):
                raise
        finally:
            self.done = True
            self._close_sockets()

    def start(self) -> None:
        """Run the device here, blocking (the background variants override this)."""
        self.run()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the device has finished (or ``timeout`` seconds passed)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.001)


class _Background:
    """Runs ``self.run`` in a launcher (Thread or Process) instead of the calling thread."""

    _launch_class: Any = None
    launcher: Any = None
    daemon: bool
    run: Callable[[], None]  # provided by the Device side of the subclass

    def start(self) -> None:
        self.launcher = self._launch_class(target=self.run)
        self.launcher.daemon = self.daemon
        self.launcher.start()

    def join(self, timeout: float | None = None) -> None:
        self.launcher.join(timeout=timeout)


class ThreadDevice(_Background, Device):
    """A Device running in a background (daemon) thread."""

    _launch_class = threading.Thread


class ProcessDevice(_Background, Device):
    """A Device running in a child process, with its own Context there."""

    _launch_class = multiprocessing.Process
    context_factory: Callable[[], Any] = staticmethod(_new_context)
