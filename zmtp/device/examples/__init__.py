"""FairMQ's standard examples as Python devices, and the registry of every device that
has an executable (``zmtp-<name>``, named after FairMQ's ``fairmq-<name>``).

Each example module mirrors one FairMQ example (``examples/<name>`` in FairMQ): the same
channel names, options, log lines and exit codes. Topology files for the launcher are in
:mod:`zmtp.device.topologies`.
"""

from __future__ import annotations

import importlib
from typing import Final

from ..device import Device

__all__ = ["DEVICES", "load_device"]

#: executable name without prefix -> "module:Class" (modules relative to zmtp.device)
DEVICES: Final[dict[str, str]] = {
    "ex-1-1-sampler": "examples.ex_1_1:Sampler",
    "ex-1-1-sink": "examples.ex_1_1:Sink",
    "ex-1-n-1-sampler": "examples.ex_1_n_1:Sampler",
    "ex-1-n-1-processor": "examples.ex_1_n_1:Processor",
    "ex-1-n-1-sink": "examples.ex_1_n_1:Sink",
    "ex-multipart-sampler": "examples.ex_multipart:Sampler",
    "ex-multipart-sink": "examples.ex_multipart:Sink",
    "ex-copypush-sampler": "examples.ex_copypush:Sampler",
    "ex-copypush-sink": "examples.ex_copypush:Sink",
    "ex-req-rep-client": "examples.ex_req_rep:Client",
    "ex-req-rep-server": "examples.ex_req_rep:Server",
    "ex-multiple-channels-sampler": "examples.ex_multiple_channels:Sampler",
    "ex-multiple-channels-broadcaster": "examples.ex_multiple_channels:Broadcaster",
    "ex-multiple-channels-sink": "examples.ex_multiple_channels:Sink",
    "ex-n-m-synchronizer": "examples.ex_n_m:Synchronizer",
    "ex-n-m-sender": "examples.ex_n_m:Sender",
    "ex-n-m-receiver": "examples.ex_n_m:Receiver",
    "bsampler": "generic:BenchmarkSampler",
    "sink": "generic:Sink",
    "splitter": "generic:Splitter",
    "merger": "generic:Merger",
    "proxy": "generic:Proxy",
    "multiplier": "generic:Multiplier",
}


def load_device(name: str) -> type[Device]:
    """The device class of ``name`` (``ex-1-1-sampler``, ``bsampler``; a ``zmtp-`` or
    ``fairmq-`` prefix is accepted)."""
    for prefix in ("zmtp-", "fairmq-"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    if name not in DEVICES:
        raise KeyError(f"unknown device '{name}' (known: {', '.join(DEVICES)})")
    module, cls = DEVICES[name].split(":")
    obj = getattr(importlib.import_module(f"zmtp.device.{module}"), cls)
    assert isinstance(obj, type) and issubclass(obj, Device)
    return obj
