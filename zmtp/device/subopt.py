"""``--channel-config`` strings -> the same channel tree the JSON parser reads.

FairMQ's ``SuboptParser`` semantics (FAIRMQ.md §2.1), reproduced:

* each token is one channel, a ``getsubopt(3)`` list of ``key=value`` separated by ``,``;
  text before a ``:`` that comes before the first ``=`` is the channel name
  (``data:type=push,...``), otherwise ``name=`` gives it;
* **every** ``address=`` opens a new sub-channel holding only that address; all other keys
  are channel-level (inherited by every sub-channel, wherever they appear in the token;
  a repeated channel-level key keeps its last value);
* unknown keys are warned about and ignored, a key without ``=value`` is ignored, parsing
  of a token stops at a space;
* the result goes through the JSON path, so defaults and inheritance are identical.

A token without a channel name is an error here (FairMQ logs it and carries on with a
broken tree).
"""

from __future__ import annotations

from collections.abc import Sequence

from .config import JsonObject, Locator, ParsedChannels, Warn, _default_warn, parse_channel
from .errors import ChannelConfigurationError
from .properties import CHANNEL_KEYS

__all__ = ["SUBOPT_KEYS", "parse_channel_config", "split_token"]

#: The keys ``--channel-config`` recognises (``name``, the 15 channel keys, ``numSockets``).
SUBOPT_KEYS = ("name", *CHANNEL_KEYS, "numSockets")


def split_token(token: str, warn: Warn) -> tuple[str | None, list[tuple[str, str]], list[str]]:
    """One token -> (name or None, channel-level pairs in order, addresses in order)."""
    name: str | None = None
    rest = token
    colon, equals = token.find(":"), token.find("=")
    if colon != -1 and (equals == -1 or colon < equals):
        name, rest = token[:colon], token[colon + 1 :]
    pairs: list[tuple[str, str]] = []
    addresses: list[str] = []
    pos = 0
    while pos < len(rest) and rest[pos] != " ":
        end = rest.find(",", pos)
        if end == -1:
            end = len(rest)
        subopt = rest[pos:end]
        pos = end + 1
        key, eq, value = subopt.partition("=")
        if key not in SUBOPT_KEYS:
            warn(f"Ignoring unknown argument in --channel-config: {subopt}")
        elif not eq:
            if key == "address":
                warn(f"Ignoring 'address' without a value in --channel-config: {token}")
        elif key == "name":
            name = value
        elif key == "address":
            addresses.append(value)
        else:
            pairs.append((key, value))
    return name, pairs, addresses


class _ArgLocator(Locator):
    """Locations inside one ``--channel-config`` argument, quoted as the user typed it."""

    def channel(self) -> str:
        return f"argument '{self.where}'"

    def key(self, key: str) -> str:
        return f"argument '{self.where}', key '{key}'"

    def default(self, key: str) -> str:
        return f"argument '{self.where}' (default {key})"

    def socket(self, i: int) -> str:
        return f"argument '{self.where}', address #{i + 1}"

    def socket_key(self, i: int, key: str) -> str:
        return self.socket(i) if key == "address" else self.key(key)


def parse_channel_config(
    tokens: Sequence[str], *, warn: Warn = _default_warn
) -> ParsedChannels:
    """Parse ``--channel-config`` tokens (one channel each) into ``chans.*`` properties."""
    result = ParsedChannels("--channel-config")
    problems: list[str] = []
    for token in tokens:
        name, pairs, addresses = split_token(token, warn)
        if not name:
            problems.append(
                f"--channel-config: argument '{token}': missing channel name "
                "(give name=<name> or start with '<name>:')"
            )
            continue
        channel: dict[str, str] = {"name": name}
        for key, value in pairs:
            channel.pop(key, None)
            channel[key] = value  # last one wins, like ptree::put
        channel_pairs: list[tuple[str, object]] = list(channel.items())
        sockets = [JsonObject([("address", a)]) for a in addresses]
        channel_pairs.append(("sockets", sockets))
        try:
            parse_channel(JsonObject(channel_pairs), _ArgLocator(token), result, warn)
        except ChannelConfigurationError as e:
            problems.extend(e.problems)
    if problems:
        raise ChannelConfigurationError(problems)
    return result
