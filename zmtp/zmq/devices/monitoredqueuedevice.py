"""MonitoredQueue devices: monitored_queue() with its three sockets built for you."""

from __future__ import annotations

from zmtp.zmq.constants import PUB
from zmtp.zmq.devices.basedevice import ProcessDevice, ThreadDevice
from zmtp.zmq.devices.monitoredqueue import monitored_queue
from zmtp.zmq.devices.proxydevice import Proxy

__all__ = ["MonitoredQueue", "ProcessMonitoredQueue", "ThreadMonitoredQueue"]


class MonitoredQueue(Proxy):
    """A Proxy whose monitor copies carry ``in_prefix`` / ``out_prefix`` as a first frame."""

    def __init__(
        self,
        in_type: int,
        out_type: int,
        mon_type: int = PUB,
        in_prefix: bytes = b"in",
        out_prefix: bytes = b"out",
    ) -> None:
        Proxy.__init__(self, in_type, out_type, mon_type)
        self.in_prefix = in_prefix
        self.out_prefix = out_prefix

    def run_device(self) -> None:
        ins, outs, mons = self._setup_proxy_sockets()
        monitored_queue(ins, outs, mons, self.in_prefix, self.out_prefix)


class ThreadMonitoredQueue(ThreadDevice, MonitoredQueue):
    """A MonitoredQueue running in a background thread."""

    def __init__(
        self,
        in_type: int,
        out_type: int,
        mon_type: int = PUB,
        in_prefix: bytes = b"in",
        out_prefix: bytes = b"out",
    ) -> None:
        MonitoredQueue.__init__(self, in_type, out_type, mon_type, in_prefix, out_prefix)


class ProcessMonitoredQueue(ProcessDevice, MonitoredQueue):
    """A MonitoredQueue running in a child process."""

    def __init__(
        self,
        in_type: int,
        out_type: int,
        mon_type: int = PUB,
        in_prefix: bytes = b"in",
        out_prefix: bytes = b"out",
    ) -> None:
        MonitoredQueue.__init__(self, in_type, out_type, mon_type, in_prefix, out_prefix)
