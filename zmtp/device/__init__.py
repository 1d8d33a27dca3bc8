"""FairMQ-compatible devices on zmtp: what a FairMQ user knows, in Python, without libzmq.

The pure foundation lives in small modules, importable without trio or sockets:

* :mod:`.properties` — the flat ``chans.<name>.<i>.<key>`` model, keys, defaults, types
* :mod:`.config` — ``--mq-config`` JSON (``fairMQOptions.devices[]``) with inheritance
* :mod:`.subopt` — ``--channel-config`` strings
* :mod:`.validate` — FairMQ's channel validation rules (+ shmem refusal)
* :mod:`.endpoints` — modifiers, bind/connect phase, IPv4 resolution, auto-bind
* :mod:`.states` — the device state machine with FairMQ's names
* :mod:`.logger` / :mod:`.rates` — FairLogger's line format and the rate lines
* :mod:`.options` — the device runner's command-line options
* :mod:`.dpl` — O2 DPL headers (DataHeader + DataProcessingHeader)
"""

from __future__ import annotations

from .errors import ChannelConfigurationError, OptionError

__all__ = ["ChannelConfigurationError", "OptionError"]
