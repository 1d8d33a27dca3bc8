"""Proxy devices: a QUEUE whose traffic is also copied to a third, monitoring socket."""

from __future__ import annotations

from typing import Any

from zmtp.zmq.constants import PUB
from zmtp.zmq.devices.basedevice import Device, ProcessDevice, ThreadDevice, _Role
from zmtp.zmq.proxy import proxy

__all__ = ["ProcessProxy", "Proxy", "ThreadProxy"]


class Proxy(Device):
    """Device with a ``mon`` socket (PUB by default) that receives a copy of every part.

    Adds bind_mon / bind_mon_to_random_port / connect_mon / setsockopt_mon.
    """

    def __init__(self, in_type: int, out_type: int, mon_type: int = PUB) -> None:
        Device.__init__(self, in_type=in_type, out_type=out_type)
        self.mon_type = mon_type
        self._roles["mon"] = _Role(mon_type)

    def bind_mon(self, addr: str) -> None:
        """Bind the monitor socket to ``addr`` when the device runs."""
        self._roles["mon"].binds.append(addr)

    def bind_mon_to_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        """Reserve a random port now, bind the monitor socket to it when the device runs."""
        return self._bind_random("mon", addr, *args, **kwargs)

    def connect_mon(self, addr: str) -> None:
        """Connect the monitor socket to ``addr`` when the device runs."""
        self._roles["mon"].connects.append(addr)

    def setsockopt_mon(self, opt: int, value: Any) -> None:
        """Set an option on the monitor socket."""
        self._roles["mon"].sockopts.append((opt, value))

    def _setup_proxy_sockets(self) -> tuple[Any, Any, Any]:
        ins, outs = Device._setup_sockets(self)
        return ins, outs, self._make("mon")

    def run_device(self) -> None:
        ins, outs, mons = self._setup_proxy_sockets()
        proxy(ins, outs, mons)


class ThreadProxy(ThreadDevice, Proxy):
    """A Proxy running in a background thread."""

    def __init__(self, in_type: int, out_type: int, mon_type: int = PUB) -> None:
        Proxy.__init__(self, in_type, out_type, mon_type)


class ProcessProxy(ProcessDevice, Proxy):
    """A Proxy running in a child process."""

    def __init__(self, in_type: int, out_type: int, mon_type: int = PUB) -> None:
        Proxy.__init__(self, in_type, out_type, mon_type)

