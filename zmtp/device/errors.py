"""Errors of the FairMQ-compatible device layer, under ``zmtp.ZMTPError``.

A FairMQ user who gets a channel configuration wrong must learn *which file or argument*,
*which key* and *why* from a single message; that is why the configuration error carries
every problem found, not just the first one.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ZMTPError

__all__ = ["ChannelConfigurationError", "OptionError"]


class ChannelConfigurationError(ZMTPError):
    """A channel configuration (``--mq-config`` JSON or ``--channel-config``) is unusable.

    ``problems`` lists every problem found, each naming its source, key and reason; the
    message is those lines joined. Named after FairMQ's own ``ChannelConfigurationError``
    so that people searching logs find the familiar word.
    """

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            message = f"{len(self.problems)} problems in the channel configuration:\n" + "\n".join(
                f"  - {p}" for p in self.problems
            )
        super().__init__(message)


class OptionError(ZMTPError):
    """A command-line option has a value that cannot be used (wrong type, repeated, ...)."""
