"""pyzmq's zmq.devices: proxies with their sockets built and run in a thread or process."""

from __future__ import annotations

from zmtp.zmq.constants import DeviceType
from zmtp.zmq.devices import (
    basedevice,
    monitoredqueue,
    monitoredqueuedevice,
    proxydevice,
    proxysteerabledevice,
)
from zmtp.zmq.devices.basedevice import Device, ProcessDevice, ThreadDevice, device
from zmtp.zmq.devices.monitoredqueue import monitored_queue
from zmtp.zmq.devices.monitoredqueuedevice import (
    MonitoredQueue,
    ProcessMonitoredQueue,
    ThreadMonitoredQueue,
)
from zmtp.zmq.devices.proxydevice import ProcessProxy, Proxy, ThreadProxy
from zmtp.zmq.devices.proxysteerabledevice import (
    ProcessProxySteerable,
    ProxySteerable,
    ThreadProxySteerable,
)
from zmtp.zmq.proxy import proxy

__all__ = [
    "Device",
    "DeviceType",
    "MonitoredQueue",
    "ProcessDevice",
    "ProcessMonitoredQueue",
    "ProcessProxy",
    "ProcessProxySteerable",
    "Proxy",
    "ProxySteerable",
    "ThreadDevice",
    "ThreadMonitoredQueue",
    "ThreadProxy",
    "ThreadProxySteerable",
    "basedevice",
    "device",
    "monitored_queue",
    "monitoredqueue",
    "monitoredqueuedevice",
    "proxy",
    "proxydevice",
    "proxysteerabledevice",
]
