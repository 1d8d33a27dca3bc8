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
* :mod:`.channels` — options -> validated channels, attach plan, socket settings

On top, needing ``zmtp.Socket`` (imported lazily, so this package imports without it):

* :mod:`.device` — the ``Device`` base class, its channels and FairMQ's transfer codes
* :mod:`.control` — the controllers: static, interactive (stdin keys), gui, none; signals
* :mod:`.runner` — ``main(DeviceClass)``, the command-line entry point of a device
* :mod:`.examples`, :mod:`.generic` — FairMQ's examples and generic devices; their
  console scripts are in :mod:`.scripts`, ``python -m zmtp.device <name>`` runs them too
* :mod:`.launch` — a topology of devices in separate processes from one JSON file
  (:mod:`.topologies` holds the shipped ones)
"""

from __future__ import annotations

from .config import load_mq_config, lookup_id, parse_mq_config
from .errors import ChannelConfigurationError, OptionError
from .options import parse_args
from .properties import SubChannel, channel_info, subchannels
from .states import State, StateMachine, Transition
from .subopt import parse_channel_config
from .validate import validate_channels

__all__ = [
    "ChannelConfigurationError",
    "OptionError",
    "State",
    "StateMachine",
    "SubChannel",
    "Transition",
    "channel_info",
    "load_mq_config",
    "lookup_id",
    "parse_args",
    "parse_channel_config",
    "parse_mq_config",
    "subchannels",
    "validate_channels",
]
