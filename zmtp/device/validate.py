"""FairMQ's channel validation rules, checked once, up front, with every problem reported.

FairMQ validates a sub-channel only when it is about to bind or connect
(``Channel::Validate`` and the bind/connect sorting in ``Device::InitWrapper``), and some
failures only log. We apply the same rules as soon as the configuration is parsed and
raise one :class:`ChannelConfigurationError` listing all of them, each naming the file or
argument, the key and the reason. Stricter than FairMQ in a few places, each chosen so a
configuration that FairMQ would run is still accepted:

* every endpoint of a ``,`` list is checked (FairMQ splits on ``;`` here and so checks
  only the first);
* tcp ports must be numbers (or ``*``), connecting to host ``*`` is refused, IPv6
  literals are refused (FairMQ cannot parse them either);
* ``transport=shmem`` is refused: see :data:`SHMEM_REFUSAL`.

An address that is not given at all (``unspecified``) is accepted: a binding sub-channel
then binds on the network interface with auto-bind, and a connecting one waits for
``chans.<name>.<i>.address`` to be filled in (FairMQ's ``--init-timeout`` loop).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .config import ParsedChannels
from .endpoints import MODIFIERS, attach_phase, is_unspecified, split_tcp
from .errors import ChannelConfigurationError
from .properties import SubChannel, chan_key, subchannels

__all__ = [
    "REMOVED_TRANSPORTS",
    "SHMEM_REFUSAL",
    "SOCKET_TYPES",
    "check_device_transport",
    "subchannel_problems",
    "validate_channels",
]

#: Channel types FairMQ accepts (``Channel::Validate``), each mapping 1:1 to a ZeroMQ type.
SOCKET_TYPES = (
    "sub", "pub", "pull", "push", "req", "rep", "xsub", "xpub", "dealer", "router", "pair",
)

SHMEM_REFUSAL = (
    "the shmem transport is not supported: this is a ZeroMQ-only implementation, and "
    "FairMQ's shmem transport sends only a handle on the wire while the payload stays in a "
    "shared-memory segment that only C++ FairMQ can map; use transport=zeromq (the peer's "
    "channel must use zeromq too)"
)

REMOVED_TRANSPORTS = {
    "nanomsg": "the nanomsg transport no longer exists (removed from FairMQ); use zeromq",
    "ofi": "the ofi transport no longer exists (removed from FairMQ); use zeromq",
}

_BAD_NAME_CHAR = re.compile(r"[^a-zA-Z0-9\-_\[\]#]")


def _transport_problem(value: str, *, channel_level: bool) -> str | None:
    if value == "zeromq" or (channel_level and value == "default"):
        return None
    if value == "shmem":
        return SHMEM_REFUSAL
    if value in REMOVED_TRANSPORTS:
        return REMOVED_TRANSPORTS[value]
    allowed = "default, zeromq" if channel_level else "zeromq"
    return f"unknown transport '{value}' (allowed: {allowed})"


def check_device_transport(value: str) -> None:
    """``--transport``: only ``zeromq`` is usable here (``shmem`` refused with the reason)."""
    problem = _transport_problem(value, channel_level=False)
    if problem:
        raise ChannelConfigurationError(f"--transport {value}: {problem}")


def _port_problem(port: str) -> str | None:
    if port == "*":
        return None
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        return f"port '{port}' is not a number from 0 to 65535"
    return None


def _endpoint_problem(endpoint: str, bind: bool) -> str | None:
    if endpoint.startswith("tcp://"):
        parts = split_tcp(endpoint)
        if parts is None:
            return f"invalid address '{endpoint}' (missing port?)"
        host, port = parts
        if host.startswith("["):
            return f"invalid address '{endpoint}': IPv6 addresses are not supported by FairMQ"
        if not host:
            return f"invalid address '{endpoint}' (missing host)"
        if host == "*" and not bind:
            return (f"invalid address '{endpoint}': cannot connect to host '*' "
                    "(give a host name or IP)")
        return _port_problem(port) and f"invalid address '{endpoint}': {_port_problem(port)}"
    for scheme in ("ipc://", "inproc://"):
        if endpoint.startswith(scheme):
            if len(endpoint) == len(scheme):
                return f"invalid address '{endpoint}' (empty {scheme[:-3]} address?)"
            return None
    if endpoint.startswith("verbs://"):
        return f"invalid address '{endpoint}': verbs:// (ofi transport) is not supported"
    return (
        f"invalid address '{endpoint}' (missing protocol: use tcp://, ipc:// or inproc://)"
    )


def subchannel_problems(sub: SubChannel, where: Callable[[str], str]) -> list[str]:
    """Every rule ``sub`` breaks; ``where(key)`` locates a key for the message."""
    problems: list[str] = []

    def bad(key: str, reason: str) -> None:
        problems.append(f"{where(key)}: {reason}")

    match = _BAD_NAME_CHAR.search(sub.name)
    if match:
        bad("name", f"channel name '{sub.name}' contains illegal character '{match.group(0)}'; "
            "allowed are a-z, A-Z, 0-9, -, _, [, ], #")
    if sub.type not in SOCKET_TYPES:
        what = "no channel type given" if sub.type == "unspecified" else (
            f"invalid channel type '{sub.type}'")
        bad("type", f"{what} (allowed: {' '.join(SOCKET_TYPES)})")
    problem = _transport_problem(sub.transport, channel_level=True)
    if problem:
        bad("transport", problem)
    for key, attr, what in (
        ("sndBufSize", "snd_buf_size", "send buffer size (sndBufSize)"),
        ("rcvBufSize", "rcv_buf_size", "receive buffer size (rcvBufSize)"),
        ("sndKernelSize", "snd_kernel_size", "send kernel size (sndKernelSize)"),
        ("rcvKernelSize", "rcv_kernel_size", "receive kernel size (rcvKernelSize)"),
        ("rateLogging", "rate_logging", "rate logging interval (rateLogging)"),
    ):
        value = getattr(sub, attr)
        if value < 0:
            bad(key, f"{what} cannot be negative: {value}")
    if sub.auto_bind and sub.port_range_min > sub.port_range_max:
        bad("portRangeMin", f"portRangeMin {sub.port_range_min} is above portRangeMax "
            f"{sub.port_range_max}")

    if is_unspecified(sub.address):
        if attach_phase(sub.method, sub.address) is None:
            bad("method", f"socket method (bind/connect) for channel {sub.full_name} not "
                f"specified: method is '{sub.method}' and there is no address")
        return problems
    for piece in sub.address.split(","):
        if not piece:
            bad("address", f"empty endpoint in address '{sub.address}'")
            continue
        if piece[0] in MODIFIERS:
            bind = piece[0] == "@"
            endpoint = piece[1:]
        elif sub.method in ("bind", "connect"):
            bind = sub.method == "bind"
            endpoint = piece
        else:
            bad("method", f"socket method (bind/connect) for channel {sub.full_name} not "
                f"specified: method is '{sub.method}' and endpoint '{piece}' has no "
                "@ (bind) or +/> (connect) modifier")
            continue
        problem = _endpoint_problem(endpoint, bind)
        if problem:
            bad("address", problem)
    return problems


def validate_channels(parsed: ParsedChannels) -> None:
    """Raise one :class:`ChannelConfigurationError` listing every problem in ``parsed``."""
    problems: list[str] = []
    for sub in subchannels(parsed.properties):

        def where(key: str, s: SubChannel = sub) -> str:
            return parsed.where(chan_key(s.name, s.index, key))

        problems.extend(subchannel_problems(sub, where))
    if problems:
        raise ChannelConfigurationError(problems)
