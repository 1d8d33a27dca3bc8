"""PUBHandler: a logging.Handler that publishes each record as ``[topic, text]`` on PUB.

The topic is ``root_topic.LEVEL`` plus an optional subtopic taken from a message written
as ``"sub.topic::the message"``; subscribers filter by prefix (``b"app.ERROR"``).  The text
is formatted per level: INFO as the bare message, other levels with level name, file and
line (ERROR also with the exception info) — the same defaults as pyzmq.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from zmtp.zmq.constants import PUB

__all__ = ["TOPIC_DELIM", "PUBHandler", "TopicLogger"]

#: Separates a subtopic from the message text in a log call ("sub.topic::message").
TOPIC_DELIM = "::"

_WHERE = "%(levelname)s %(filename)s:%(lineno)d - %(message)s"


def _default_formatters() -> dict[int, logging.Formatter]:
    return {
        logging.DEBUG: logging.Formatter(_WHERE + "\n"),
        logging.INFO: logging.Formatter("%(message)s\n"),
        logging.WARNING: logging.Formatter(_WHERE + "\n"),
        logging.ERROR: logging.Formatter(_WHERE + " - %(exc_info)s\n"),
        logging.CRITICAL: logging.Formatter(_WHERE + "\n"),
    }


class PUBHandler(logging.Handler):
    """Publish log records on a PUB socket, or on a new one bound to an address.

    ``PUBHandler(interface_or_socket, context=None, root_topic="")``: given an address, the
    handler makes a PUB socket in ``context`` (a new Context if None) and binds it.
    """

    def __init__(
        self, interface_or_socket: Any, context: Any = None, root_topic: str = ""
    ) -> None:
        super().__init__()
        self._root_topic = ""
        self.root_topic = root_topic
        self.formatters = _default_formatters()
        if isinstance(interface_or_socket, (str, bytes)):
            if context is None:
                from zmtp.zmq.context import Context

                context = Context()
            self.ctx = context
            self.socket = context.socket(PUB)
            address = interface_or_socket
            self.socket.bind(address.decode() if isinstance(address, bytes) else address)
        else:
            self.socket = interface_or_socket
            self.ctx = interface_or_socket.context

    @property
    def root_topic(self) -> str:
        """First part of every topic ("" for none: topics then start with the level)."""
        return self._root_topic

    @root_topic.setter
    def root_topic(self, value: str | bytes) -> None:
        self.setRootTopic(value)

    def setRootTopic(self, root_topic: str | bytes) -> None:
        """Set the root topic (bytes are taken as UTF-8)."""
        if isinstance(root_topic, bytes):
            root_topic = root_topic.decode("utf8")
        self._root_topic = root_topic

    def setFormatter(self, fmt: logging.Formatter | None, level: int = logging.NOTSET) -> None:
        """Use ``fmt`` for ``level``, or for every level when ``level`` is NOTSET."""
        if fmt is None:
            return
        if level == logging.NOTSET:
            for known in self.formatters:
                self.formatters[known] = fmt
        else:
            self.formatters[level] = fmt

    def format(self, record: logging.LogRecord) -> str:
        formatter = self.formatters.get(record.levelno)
        if formatter is None:
            formatter = self.formatters[logging.INFO]
        return formatter.format(record)

    def emit(self, record: logging.LogRecord) -> None:
        """Send ``[topic, formatted text]``, both UTF-8."""
        subtopic = ""
        text = str(record.msg)
        if TOPIC_DELIM in text:
            subtopic, text = text.split(TOPIC_DELIM, 1)
            record = copy.copy(record)  # the record is shared with other handlers
            record.msg = text
        try:
            body = self.format(record).encode("utf8")
        except Exception:
            self.handleError(record)
            return
        parts = [p for p in (self.root_topic, record.levelname, subtopic) if p]
        self.socket.send_multipart([".".join(parts).encode("utf8", "replace"), body])


class TopicLogger(logging.Logger):
    """A Logger whose calls take a topic before the message: ``log.info("db.conn", "up")``
    logs ``"db.conn::up"``, which PUBHandler publishes under ``<root>.INFO.db.conn``."""

    def log(self, level: int, topic: str, msg: Any = "", *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().log(level, f"{topic}{TOPIC_DELIM}{msg}", *args, **kwargs)

    def debug(self, topic: str, msg: Any = "", *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self.log(logging.DEBUG, topic, msg, *args, **kwargs)

    def info(self, topic: str, msg: Any = "", *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self.log(logging.INFO, topic, msg, *args, **kwargs)

    def warning(self, topic: str, msg: Any = "", *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self.log(logging.WARNING, topic, msg, *args, **kwargs)

    warn = warning  # type: ignore[assignment]

    def error(self, topic: str, msg: Any = "", *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self.log(logging.ERROR, topic, msg, *args, **kwargs)

    def critical(self, topic: str, msg: Any = "", *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self.log(logging.CRITICAL, topic, msg, *args, **kwargs)

    fatal = critical  # type: ignore[assignment]
