"""``--mq-config`` JSON -> flat ``chans.*`` properties, with FairMQ's selection and inheritance.

What FairMQ does (``JSONParser.cxx``, FAIRMQ.md §1), reproduced here:

* only ``fairMQOptions.devices[]`` is read; an entry's name is its ``key`` if present, else
  its ``id``; entries whose name differs from the lookup id (``--config-key`` else
  ``--id``) are skipped;
* each channel builds a *common* set from its own keys and the built-in defaults;
  ``numSockets > 0`` makes that many identical sub-channels (``sockets`` ignored),
  otherwise every ``sockets`` element overrides the common set for one sub-channel, and no
  sockets at all means one sub-channel with the common set;
* properties are inserted "first one wins", so a channel or device repeated later cannot
  overwrite an earlier one; duplicate JSON keys resolve to the *first* occurrence, as
  Boost.PropertyTree does (Python's ``json`` would keep the last).

Where FairMQ silently degrades (a JSON or type error only logs and leaves the device without
channels), we raise :class:`ChannelConfigurationError` naming the file, the JSON path and
the ``chans.*`` key, and the reason: a device that starts without its channels is worse
than one that refuses to start.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from os import PathLike, fspath
from typing import TypeAlias

from .errors import ChannelConfigurationError
from .properties import CHANNEL_KEYS, DEFAULTS, Properties, PropertyValue, chan_key, convert

__all__ = [
    "JsonObject",
    "Locator",
    "ParsedChannels",
    "Warn",
    "device_entry_names",
    "load_mq_config",
    "lookup_id",
    "parse_channel",
    "parse_mq_config",
    "parse_options_tree",
]

log = logging.getLogger("zmtp.device.config")

Warn: TypeAlias = Callable[[str], None]


def _default_warn(message: str) -> None:
    log.warning(message)


class JsonObject:
    """A JSON object that keeps every key/value pair in order, duplicates included.

    Boost.PropertyTree, which FairMQ parses with, keeps duplicate keys: ``get`` returns the
    first, and iterating visits all (so two ``"channels"`` arrays in one device are both
    read). Python dicts cannot express that.
    """

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, object]]) -> None:
        self.pairs = pairs

    def first(self, key: str) -> tuple[bool, object]:
        for k, v in self.pairs:
            if k == key:
                return True, v
        return False, None

    def all(self, key: str) -> Iterator[object]:
        return (v for k, v in self.pairs if k == key)

    def has(self, key: str) -> bool:
        return any(k == key for k, _ in self.pairs)

    def duplicates(self) -> list[str]:
        seen: set[str] = set()
        dups: list[str] = []
        for k, _ in self.pairs:
            if k in seen and k not in dups:
                dups.append(k)
            seen.add(k)
        return dups


def _loads(text: str | bytes, source: str) -> object:
    try:
        return json.loads(text, object_pairs_hook=JsonObject)
    except json.JSONDecodeError as e:
        raise ChannelConfigurationError(
            f"{source}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    except (UnicodeDecodeError, RecursionError) as e:
        raise ChannelConfigurationError(f"{source}: cannot be read as JSON: {e}") from None


@dataclass
class ParsedChannels:
    """Result of parsing: flat properties plus, per property, where its value came from.

    ``origins[key]`` is a human-readable location (``fairMQOptions.devices[1].channels[0]
    .sockets[0].type`` or ``... (default)``) so that later validation can point at the line
    the user has to change.
    """

    source: str
    properties: Properties = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    matched_entries: int = 0

    def put(self, key: str, value: PropertyValue, origin: str) -> bool:
        """Insert if absent (FairMQ's ``emplace``); False if an earlier value won."""
        if key in self.properties:
            return False
        self.properties[key] = value
        self.origins[key] = origin
        return True

    def where(self, key: str) -> str:
        """``<source>: <origin> (<key>)`` for error messages."""
        origin = self.origins.get(key)
        return f"{self.source}: {origin} ({key})" if origin else f"{self.source}: {key}"


def lookup_id(device_id: str | None, config_key: str | None) -> str:
    """The name a device looks for in ``devices[]``: ``--config-key`` if given, else ``--id``."""
    if config_key:
        return config_key
    return device_id or ""


def entry_name(entry: JsonObject) -> str:
    """A device entry's name: ``key`` if present (even when ``id`` is too), else ``id``."""
    for field_name in ("key", "id"):
        found, value = entry.first(field_name)
        if found and not isinstance(value, JsonObject | list):
            text = convert("type", value)  # 'type': any string-typed key
            assert isinstance(text, str)
            return text
    return ""


def _scalar(key: str, raw: object, where: str, source: str) -> PropertyValue:
    try:
        return convert(key, raw)
    except ValueError as e:
        message = f"{source}: {where}: invalid value for '{key}': {e}"
        raise ChannelConfigurationError(message) from None


class Locator:
    """Says where a value sits, for messages: JSON paths by default.

    ``--channel-config`` uses a subclass so that its messages quote the argument instead
    of a JSON path that the user never wrote.
    """

    def __init__(self, where: str) -> None:
        self.where = where

    def channel(self) -> str:
        return self.where

    def key(self, key: str) -> str:
        return f"{self.where}.{key}"

    def default(self, key: str) -> str:
        return f"{self.where} (default {key})"

    def socket(self, i: int) -> str:
        return f"{self.where}.sockets[{i}]"

    def socket_key(self, i: int, key: str) -> str:
        return f"{self.where}.sockets[{i}].{key}"


def _channel_common(
    channel: JsonObject, loc: Locator, source: str
) -> tuple[dict[str, PropertyValue], dict[str, str]]:
    common: dict[str, PropertyValue] = {}
    origins: dict[str, str] = {}
    for key in CHANNEL_KEYS:
        found, raw = channel.first(key)
        if found:
            common[key] = _scalar(key, raw, loc.key(key), source)
            origins[key] = loc.key(key)
        else:
            common[key] = DEFAULTS[key]
            origins[key] = loc.default(key)
    return common, origins


def _socket_list(channel: JsonObject, loc: Locator, source: str) -> list[JsonObject]:
    sockets: list[JsonObject] = []
    for value in channel.all("sockets"):
        if isinstance(value, list):
            elems = value
        elif isinstance(value, JsonObject):  # PropertyTree iterates object children too
            elems = [v for _, v in value.pairs]
        else:
            raise ChannelConfigurationError(f"{source}: {loc.key('sockets')}: must be an array")
        for sock in elems:
            if not isinstance(sock, JsonObject):
                raise ChannelConfigurationError(
                    f"{source}: {loc.socket(len(sockets))}: a socket must be a JSON object"
                )
            sockets.append(sock)
    return sockets


def parse_channel(channel: object, loc: Locator, result: ParsedChannels, warn: Warn) -> None:
    """Add the sub-channels of one channel object to ``result``."""
    source = result.source
    if not isinstance(channel, JsonObject):
        raise ChannelConfigurationError(
            f"{source}: {loc.channel()}: a channel must be a JSON object"
        )
    for dup in channel.duplicates():
        warn(f"{source}: {loc.channel()}: key '{dup}' given more than once; the first one is used")
    found, raw_name = channel.first("name")
    if not found:
        raise ChannelConfigurationError(f"{source}: {loc.channel()}: channel has no 'name'")
    name = _scalar("type", raw_name, loc.key("name"), source)  # 'type': any string key
    assert isinstance(name, str)
    if not name:
        raise ChannelConfigurationError(f"{source}: {loc.key('name')}: channel name is empty")
    common, common_origins = _channel_common(channel, loc, source)

    num_sockets = 0
    num_found, raw_num = channel.first("numSockets")
    if num_found:
        num = _scalar("sndBufSize", raw_num, loc.key("numSockets"), source)  # any int key
        assert isinstance(num, int)
        num_sockets = num
    sockets = _socket_list(channel, loc, source)

    before = len(result.properties)
    if num_sockets > 0:
        if sockets:
            warn(f"{source}: {loc.channel()}: numSockets={num_sockets} given, "
                 "so the sockets list is ignored")
        for i in range(num_sockets):
            for key in CHANNEL_KEYS:
                result.put(chan_key(name, i, key), common[key], common_origins[key])
    elif sockets:
        for i, sock in enumerate(sockets):
            for dup in sock.duplicates():
                warn(f"{source}: {loc.socket(i)}: key '{dup}' given more than once; "
                     "the first one is used")
            for key in CHANNEL_KEYS:
                found, raw = sock.first(key)
                if found:
                    value = _scalar(key, raw, loc.socket_key(i, key), source)
                    result.put(chan_key(name, i, key), value, loc.socket_key(i, key))
                else:
                    result.put(chan_key(name, i, key), common[key], common_origins[key])
    else:
        for key in CHANNEL_KEYS:
            result.put(chan_key(name, 0, key), common[key], common_origins[key])
    if len(result.properties) == before:
        warn(f"{source}: {loc.channel()}: channel '{name}' was already defined; "
             "this definition is ignored")


def parse_options_tree(
    tree: object, lookup: str, source: str, warn: Warn = _default_warn
) -> ParsedChannels:
    """Parse an already-decoded document (``{"fairMQOptions": {...}}``) for one device."""
    result = ParsedChannels(source)
    if not isinstance(tree, JsonObject):
        raise ChannelConfigurationError(f"{source}: the top level must be a JSON object")
    found, options = tree.first("fairMQOptions")
    if not found:
        raise ChannelConfigurationError(f"{source}: no 'fairMQOptions' object at the top level")
    if not isinstance(options, JsonObject):
        raise ChannelConfigurationError(f"{source}: 'fairMQOptions' must be a JSON object")
    if not lookup:
        raise ChannelConfigurationError(
            f"{source}: no device id to look up: give --id (or --config-key)"
        )
    if not options.has("devices") and (options.has("device")):
        warn(f"{source}: 'fairMQOptions.device' is the pre-2016 schema, which FairMQ no longer "
             "reads; use a 'devices' array")
    for d_block, devices in enumerate(options.all("devices")):
        block = "fairMQOptions.devices"
        if d_block:
            block += f"(#{d_block + 1})"
        if isinstance(devices, JsonObject):
            entries = [v for _, v in devices.pairs]
        elif isinstance(devices, list):
            entries = devices
        else:
            raise ChannelConfigurationError(f"{source}: {block}: 'devices' must be an array")
        for d, entry in enumerate(entries):
            if not isinstance(entry, JsonObject) or entry_name(entry) != lookup:
                continue
            result.matched_entries += 1
            for c_block, channels in enumerate(entry.all("channels")):
                cwhere = f"{block}[{d}].channels" + ("" if c_block == 0 else f"(#{c_block + 1})")
                if isinstance(channels, JsonObject):
                    chans = [v for _, v in channels.pairs]
                elif isinstance(channels, list):
                    chans = channels
                else:
                    raise ChannelConfigurationError(
                        f"{source}: {cwhere}: 'channels' must be an array"
                    )
                for c, channel in enumerate(chans):
                    parse_channel(channel, Locator(f"{cwhere}[{c}]"), result, warn)
            if not entry.has("channels") and entry.has("channel"):
                warn(f"{source}: {block}[{d}]: 'channel' is the pre-2016 schema, which FairMQ "
                     "no longer reads; use a 'channels' array")
    if result.matched_entries == 0:
        warn(f"{source}: no entry in fairMQOptions.devices has key or id '{lookup}'; "
             "the device gets no channels from this file")
    return result


def parse_mq_config(
    text: str | bytes, lookup: str, *, source: str = "<mq-config>", warn: Warn = _default_warn
) -> ParsedChannels:
    """Parse JSON text for the device entry named ``lookup`` (see :func:`lookup_id`)."""
    return parse_options_tree(_loads(text, source), lookup, source, warn)


def load_mq_config(
    path: str | PathLike[str], lookup: str, *, warn: Warn = _default_warn
) -> ParsedChannels:
    """Read and parse a ``--mq-config`` file; errors name the file."""
    source = fspath(path)
    try:
        with open(source, "rb") as f:
            data = f.read()
    except OSError as e:
        message = f"{source}: cannot read --mq-config file: {e.strerror}"
        raise ChannelConfigurationError(message) from None
    return parse_mq_config(data, lookup, source=source, warn=warn)


def device_entry_names(text: str | bytes, *, source: str = "<mq-config>") -> list[str]:
    """Names (``key`` else ``id``) of every entry of ``fairMQOptions.devices``, in order."""
    tree = _loads(text, source)
    names: list[str] = []
    if isinstance(tree, JsonObject):
        _, options = tree.first("fairMQOptions")
        if isinstance(options, JsonObject):
            for devices in options.all("devices"):
                entries = devices if isinstance(devices, list) else (
                    [v for _, v in devices.pairs] if isinstance(devices, JsonObject) else []
                )
                names.extend(entry_name(e) for e in entries if isinstance(e, JsonObject))
    return names


def as_mapping(obj: object) -> object:
    """Turn parsed :class:`JsonObject` trees back into plain dicts (first key wins); for tests."""
    if isinstance(obj, JsonObject):
        out: dict[str, object] = {}
        for k, v in obj.pairs:
            out.setdefault(k, as_mapping(v))
        return out
    if isinstance(obj, list):
        return [as_mapping(v) for v in obj]
    return obj

