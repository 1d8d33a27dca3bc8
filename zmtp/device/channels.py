"""From parsed options to the channels a device opens: what FairMQ's Config plugin and
``Device::InitWrapper`` decide before any socket exists.

* which source is read (``--mq-config`` wins over ``--channel-config``) for which id;
* the device ``--transport`` check (zeromq only);
* validation (see :mod:`.validate`);
* bind/connect phase per sub-channel, and the address of a binding sub-channel that has
  none (``tcp://<interface ip>:1``, which auto-binds);
* per sub-channel socket settings in :class:`zmtp.Socket` terms: identity
  ``<id>.<name>[<i>].<type>``, HWMs, linger (FairMQ ms -> seconds), kernel buffers only
  when non-zero, and subscribe-all for ``sub``.

Pure: the caller supplies the interface address lookup.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .config import ParsedChannels, Warn, _default_warn, load_mq_config, lookup_id
from .endpoints import attach_phase, is_unspecified, unspecified_bind_address
from .errors import ChannelConfigurationError
from .options import ParsedOptions
from .properties import SubChannel, chan_key, subchannels
from .subopt import parse_channel_config
from .validate import check_device_transport, validate_channels

__all__ = [
    "AttachPlan",
    "load_channels",
    "plan_attach",
    "socket_identity",
    "socket_options",
    "transport_id",
]


def load_channels(opts: ParsedOptions, *, warn: Warn = _default_warn) -> ParsedChannels:
    """Read and validate the channel configuration named by the command line.

    Raises :class:`ChannelConfigurationError` (FairMQ would only log and carry on without
    channels; a device that silently has no channels helps nobody).
    """
    check_device_transport(opts.get_str("transport", "zeromq"))
    lookup = lookup_id(opts.get_str("id"), opts.get_str("config-key"))
    tokens = opts.get_strings("channel-config")
    if "mq-config" in opts:
        if tokens:
            warn("both --mq-config and --channel-config given; --channel-config is ignored")
        parsed = load_mq_config(opts.get_str("mq-config"), lookup, warn=warn)
    elif tokens:
        if not lookup:
            raise ChannelConfigurationError(
                "--channel-config: no device id provided: give --id (or --config-key)"
            )
        parsed = parse_channel_config(tokens, warn=warn)
    else:
        return ParsedChannels("(no channel configuration)")
    validate_channels(parsed)
    return parsed


@dataclass
class AttachPlan:
    """Sub-channels to attach in BINDING and in CONNECTING, in configuration order."""

    binding: list[SubChannel] = field(default_factory=list)
    connecting: list[SubChannel] = field(default_factory=list)
    #: properties changed by the plan (filled-in bind addresses), to write back
    updates: dict[str, str] = field(default_factory=dict)


def plan_attach(
    parsed: ParsedChannels, interface_ip: Callable[[], str | None] = lambda: None
) -> AttachPlan:
    """Sort sub-channels into bind/connect lists; give address-less binders one."""
    plan = AttachPlan()
    address: str | None = None
    for sub in subchannels(parsed.properties):
        phase = attach_phase(sub.method, sub.address)
        if phase == "bind":
            if is_unspecified(sub.address):
                if address is None:
                    address = unspecified_bind_address(interface_ip())
                sub = replace(sub, address=address)
                plan.updates[chan_key(sub.name, sub.index, "address")] = address
            plan.binding.append(sub)
        elif phase == "connect":
            plan.connecting.append(sub)
        else:  # validation refuses this earlier; kept for callers that skip it
            raise ChannelConfigurationError(
                f"{parsed.where(chan_key(sub.name, sub.index, 'method'))}: socket method "
                f"(bind/connect) for channel {sub.full_name} not specified"
            )
    return plan


def transport_id(device_id: str) -> str:
    """The id used in socket identities: ``--id``, or a random UUID when it is empty."""
    return device_id or str(uuid.uuid4())


def socket_identity(device_id: str, sub: SubChannel) -> bytes:
    """``ZMQ_IDENTITY`` FairMQ sets: ``<id>.<name>[<i>].<type>``."""
    return f"{device_id}.{sub.full_name}.{sub.type}".encode()


def socket_options(device_id: str, sub: SubChannel) -> dict[str, object]:
    """Keyword options for ``zmtp.Socket`` that reproduce FairMQ's socket settings."""
    options: dict[str, object] = {
        "routing_id": socket_identity(device_id, sub),
        "sndhwm": sub.snd_buf_size,
        "rcvhwm": sub.rcv_buf_size,
        "linger": -1.0 if sub.linger < 0 else sub.linger / 1000.0,
    }
    if sub.snd_kernel_size != 0:
        options["sndbuf"] = sub.snd_kernel_size
    if sub.rcv_kernel_size != 0:
        options["rcvbuf"] = sub.rcv_kernel_size
    return options
