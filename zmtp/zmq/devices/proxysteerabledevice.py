"""Steerable proxy devices: a Proxy with a ``ctrl`` socket taking PAUSE/RESUME/TERMINATE."""

from __future__ import annotations

from typing import Any

from zmtp.zmq.constants import PUB
from zmtp.zmq.devices.basedevice import ProcessDevice, ThreadDevice, _Role
from zmtp.zmq.devices.proxydevice import Proxy
from zmtp.zmq.proxy import proxy_steerable

__all__ = ["ProcessProxySteerable", "ProxySteerable", "ThreadProxySteerable"]


class ProxySteerable(Proxy):
    """Proxy plus a control socket (``ctrl_type``, required) for proxy_steerable commands.

    Adds bind_ctrl / bind_ctrl_to_random_port / connect_ctrl / setsockopt_ctrl.
    """

    def __init__(
        self, in_type: int, out_type: int, mon_type: int = PUB, ctrl_type: int | None = None
    ) -> None:
        Proxy.__init__(self, in_type, out_type, mon_type)
        if ctrl_type is None:
            raise TypeError("ctrl_type must be specified")
        self.ctrl_type = ctrl_type
        self._roles["ctrl"] = _Role(ctrl_type)

    def bind_ctrl(self, addr: str) -> None:
        """Bind the control socket to ``addr`` when the device runs."""
        self._roles["ctrl"].binds.append(addr)

    def bind_ctrl_to_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        """Reserve a random port now, bind the control socket to it when the device runs."""
        return self._bind_random("ctrl", addr, *args, **kwargs)

    def connect_ctrl(self, addr: str) -> None:
        """Connect the control socket to ``addr`` when the device runs."""
        self._roles["ctrl"].connects.append(addr)

    def setsockopt_ctrl(self, opt: int, value: Any) -> None:
        """Set an option on the control socket."""
        self._roles["ctrl"].sockopts.append((opt, value))

    def run_device(self) -> None:
        ins, outs, mons = self._setup_proxy_sockets()
        proxy_steerable(ins, outs, mons, self._make("ctrl"))


class ThreadProxySteerable(ThreadDevice, ProxySteerable):
    """A ProxySteerable running in a background thread."""

    def __init__(
        self, in_type: int, out_type: int, mon_type: int = PUB, ctrl_type: int | None = None
    ) -> None:
        ProxySteerable.__init__(self, in_type, out_type, mon_type, ctrl_type)


class ProcessProxySteerable(ProcessDevice, ProxySteerable):
    """A ProxySteerable running in a child process."""

    def __init__(
        self, in_type: int, out_type: int, mon_type: int = PUB, ctrl_type: int | None = None
    ) -> None:
        ProxySteerable.__init__(self, in_type, out_type, mon_type, ctrl_type)
