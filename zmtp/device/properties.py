"""The flat channel property model: ``chans.<name>.<index>.<key>``.

FairMQ stores every sub-channel setting as a flat configuration property (e.g.
``chans.data.0.address``); plugins read and overwrite them, and the device builds its
channels from them. Keeping the same model lets us print, compare and patch channels the
way a FairMQ user expects, and keeps the JSON and ``--channel-config`` parsers trivially
equivalent (both only produce properties).

This module knows the 15 keys, their types and defaults (FairMQ ``Channel.h``), how text
and JSON scalars convert to those types (Boost.PropertyTree's rules: ``"1000"`` and
``1000`` are the same int, ``"false"`` and ``false`` the same bool), and how to read a
sub-channel back out of the flat dictionary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Final

__all__ = [
    "BOOL_KEYS",
    "CHANNEL_KEYS",
    "DEFAULTS",
    "INT_KEYS",
    "STRING_KEYS",
    "Properties",
    "PropertyValue",
    "SubChannel",
    "channel_info",
    "chan_key",
    "convert",
    "subchannels",
]

PropertyValue = str | int | bool
Properties = dict[str, PropertyValue]

STRING_KEYS: Final = ("type", "method", "address", "transport")
INT_KEYS: Final = (
    "sndBufSize",
    "rcvBufSize",
    "sndKernelSize",
    "rcvKernelSize",
    "sndTimeoutMs",
    "rcvTimeoutMs",
    "linger",
    "rateLogging",
    "portRangeMin",
    "portRangeMax",
)
BOOL_KEYS: Final = ("autoBind",)
#: Every property a channel or socket object may carry, in FairMQ's documentation order.
CHANNEL_KEYS: Final = (*STRING_KEYS, *INT_KEYS, *BOOL_KEYS)

#: FairMQ's built-in defaults (``Channel::Default*``), applied when a key is given nowhere.
DEFAULTS: Final[Mapping[str, PropertyValue]] = {
    "type": "unspecified",
    "method": "unspecified",
    "address": "unspecified",
    "transport": "default",
    "sndBufSize": 1000,
    "rcvBufSize": 1000,
    "sndKernelSize": 0,
    "rcvKernelSize": 0,
    "sndTimeoutMs": -1,
    "rcvTimeoutMs": -1,
    "linger": 500,
    "rateLogging": 1,
    "portRangeMin": 22000,
    "portRangeMax": 23000,
    "autoBind": True,
}

_INT_RE = re.compile(r"\s*[+-]?\d+\s*")
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def chan_key(name: str, index: int, key: str) -> str:
    """The flat property name of one sub-channel setting, e.g. ``chans.data.0.address``."""
    return f"chans.{name}.{index}.{key}"


def _as_text(raw: object) -> str | None:
    """JSON scalar -> the text Boost.PropertyTree would have stored (None for containers)."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if raw is None:
        return "null"
    if isinstance(raw, str | int | float):
        return str(raw)
    return None


def convert(key: str, raw: object) -> PropertyValue:
    """Convert one JSON/subopt value to the type of ``key``; ``ValueError`` says why not.

    The accepted spellings are those of FairMQ (Boost.PropertyTree stores text and
    converts on read): ints as JSON numbers or decimal strings, bools as JSON booleans or
    ``"true"``/``"false"``/``"1"``/``"0"``. Objects and arrays are refused for every key.
    """
    text = _as_text(raw)
    if text is None:
        kind = "an object" if isinstance(raw, Mapping | list) else type(raw).__name__
        raise ValueError(f"expected a single value, got {kind}")
    if key in STRING_KEYS:
        return text
    if key in INT_KEYS:
        if isinstance(raw, float) or not _INT_RE.fullmatch(text):
            raise ValueError(f"expected an integer, got {_show(raw)}")
        value = int(text)
        if not _INT32_MIN <= value <= _INT32_MAX:
            raise ValueError(f"integer {value} does not fit in 32 bits")
        return value
    if key in BOOL_KEYS:
        word = text.strip()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ValueError(f"expected true/false (or 1/0), got {_show(raw)}")
    raise KeyError(key)


def _show(raw: object) -> str:
    return f"'{raw}'" if isinstance(raw, str) else repr(raw)


def channel_info(props: Mapping[str, object]) -> dict[str, int]:
    """Channel name -> number of sub-channels, counted from ``chans.<name>.*.type`` keys.

    Same rule as FairMQ's ``ProgOptions::GetChannelInfo``; insertion order follows the
    first appearance of each channel, which keeps printed output stable.
    """
    info: dict[str, int] = {}
    for key in props:
        if key.startswith("chans.") and key.endswith(".type"):
            name = key[len("chans.") :].split(".", 1)[0]
            info[name] = info.get(name, 0) + 1
    return info


@dataclass(frozen=True)
class SubChannel:
    """One sub-channel (one socket), FairMQ's ``Channel`` object ``<name>[<index>]``."""

    name: str
    index: int
    type: str = "unspecified"
    method: str = "unspecified"
    address: str = "unspecified"
    transport: str = "default"
    snd_buf_size: int = 1000
    rcv_buf_size: int = 1000
    snd_kernel_size: int = 0
    rcv_kernel_size: int = 0
    snd_timeout_ms: int = -1
    rcv_timeout_ms: int = -1
    linger: int = 500
    rate_logging: int = 1
    port_range_min: int = 22000
    port_range_max: int = 23000
    auto_bind: bool = True

    @property
    def full_name(self) -> str:
        """``data[0]``: how FairMQ names the sub-channel in logs and socket identities."""
        return f"{self.name}[{self.index}]"

    def prefix(self) -> str:
        return f"chans.{self.name}.{self.index}."

    @classmethod
    def from_properties(cls, props: Mapping[str, object], name: str, index: int) -> SubChannel:
        """Read ``chans.<name>.<index>.*``; missing keys take FairMQ's defaults."""
        values: dict[str, object] = {}
        for key, attr in _KEY_TO_ATTR.items():
            full = chan_key(name, index, key)
            if full in props:
                values[attr] = convert(key, props[full])
        return cls(name, index, **values)  # type: ignore[arg-type]

    def to_properties(self) -> Properties:
        return {
            chan_key(self.name, self.index, k): getattr(self, a) for k, a in _KEY_TO_ATTR.items()
        }

    def get(self, key: str) -> PropertyValue:
        """Value by FairMQ key name (``sndBufSize``...)."""
        value: PropertyValue = getattr(self, _KEY_TO_ATTR[key])
        return value


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


_KEY_TO_ATTR: Final[dict[str, str]] = {k: _snake(k) for k in CHANNEL_KEYS}
assert set(_KEY_TO_ATTR.values()) == {f.name for f in fields(SubChannel)} - {"name", "index"}


def subchannels(
    props: Mapping[str, object], names: Iterable[str] | None = None
) -> list[SubChannel]:
    """Every sub-channel described by ``props`` (channels in first-seen order, then index)."""
    info = channel_info(props)
    wanted = list(info) if names is None else [n for n in names if n in info]
    return [SubChannel.from_properties(props, n, i) for n in wanted for i in range(info[n])]
