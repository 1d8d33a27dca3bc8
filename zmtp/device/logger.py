"""FairLogger's console format on top of Python's ``logging``.

A FairMQ user greps device output (``IDLE ---> INITIALIZING DEVICE``, ``[STATE]``, rate
lines), and test scripts compare it; so the line layout, the severity names and the
``--severity``/``--verbosity``/``--color`` handling follow FairLogger (FAIRMQ.md §3.1):

* verylow ``msg``; low ``[SEV] msg``; medium ``[HH:MM:SS][SEV] msg``; high
  ``[proc][HH:MM:SS][SEV] msg``; veryhigh ``[proc][HH:MM:SS.uuuuuu][SEV][file:line:function]
  msg``; user1..user4 like low;
* severities, low to high: TRACE DEBUG4 DEBUG3 DEBUG2 DEBUG1 DEBUG DETAIL INFO STATE WARN
  IMPORTANT ALARM ERROR CRITICAL FATAL, plus ``nolog`` that silences the console;
* colour: severity in bold colour, timestamp cyan, process name and file/function blue,
  line yellow (FairLogger's ANSI codes).

FairLogger severities are registered as Python levels between the standard ones
(``STATE`` = 25 sits between INFO and WARNING) so that ``logger.log(STATE, ...)`` works and
foreign libraries' records get the nearest FairLogger name.
"""

from __future__ import annotations

import enum
import logging
import os
import sys
import time
from collections.abc import Mapping
from typing import Final, TextIO

from .rates import format_rate_line

__all__ = [
    "ALARM",
    "CRITICAL",
    "DEBUG",
    "DEBUG1",
    "DEBUG2",
    "DEBUG3",
    "DEBUG4",
    "DETAIL",
    "ERROR",
    "FATAL",
    "IMPORTANT",
    "INFO",
    "NOLOG",
    "SEVERITIES",
    "STATE",
    "TRACE",
    "WARN",
    "FairFormatter",
    "Verbosity",
    "format_rate_line",
    "install",
    "parse_severity",
    "parse_verbosity",
    "severity_name",
]

TRACE: Final = 5
DEBUG4: Final = 6
DEBUG3: Final = 7
DEBUG2: Final = 8
DEBUG1: Final = 9
DEBUG: Final = logging.DEBUG  # 10
DETAIL: Final = 15
INFO: Final = logging.INFO  # 20
STATE: Final = 25
WARN: Final = logging.WARNING  # 30
IMPORTANT: Final = 33
ALARM: Final = 36
ERROR: Final = logging.ERROR  # 40
CRITICAL: Final = logging.CRITICAL  # 50
FATAL: Final = 55
#: Threshold that lets nothing through (FairLogger's ``nolog`` as console severity).
NOLOG: Final = 1000

#: FairLogger severity name -> Python level, lowest first.
SEVERITIES: Final[Mapping[str, int]] = {
    "TRACE": TRACE,
    "DEBUG4": DEBUG4,
    "DEBUG3": DEBUG3,
    "DEBUG2": DEBUG2,
    "DEBUG1": DEBUG1,
    "DEBUG": DEBUG,
    "DETAIL": DETAIL,
    "INFO": INFO,
    "STATE": STATE,
    "WARN": WARN,
    "IMPORTANT": IMPORTANT,
    "ALARM": ALARM,
    "ERROR": ERROR,
    "CRITICAL": CRITICAL,
    "FATAL": FATAL,
}

#: Accepted ``--severity`` spellings (FairLogger's table: lower case, and upper case for
#: some; ``warning`` too).
_SEVERITY_WORDS: Final[Mapping[str, int]] = {
    **{name.lower(): level for name, level in SEVERITIES.items()},
    **{name: level for name, level in SEVERITIES.items()},
    "warning": WARN,
    "WARNING": WARN,
    "nolog": NOLOG,
    "NOLOG": NOLOG,
}

_COLORS: Final[Mapping[str, int]] = {
    "TRACE": 36, "DEBUG4": 34, "DEBUG3": 34, "DEBUG2": 34, "DEBUG1": 34, "DEBUG": 34,
    "DETAIL": 32, "INFO": 32, "STATE": 35, "WARN": 33, "IMPORTANT": 32, "ALARM": 33,
    "ERROR": 31, "CRITICAL": 31, "FATAL": 31,
}
_BLUE, _YELLOW, _CYAN = 34, 33, 36

for _name, _level in SEVERITIES.items():
    if logging.getLevelName(_level) == f"Level {_level}":
        logging.addLevelName(_level, _name)


class Verbosity(enum.Enum):
    """FairLogger verbosities: how much goes in front of the message."""

    VERYLOW = "verylow"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERYHIGH = "veryhigh"
    USER1 = "user1"
    USER2 = "user2"
    USER3 = "user3"
    USER4 = "user4"


def severity_name(level: int) -> str:
    """FairLogger name for a Python level: exact, or the nearest severity below it."""
    name = "TRACE"
    for candidate, value in SEVERITIES.items():
        if level >= value:
            name = candidate
    return name


def parse_severity(text: str) -> tuple[int, str | None]:
    """``--severity`` value -> (level, error message or None).

    Empty means FairLogger's default, ``info``; an unknown word falls back to ``info`` with
    an error line, as FairLogger does.
    """
    if text == "":
        return INFO, None
    if text in _SEVERITY_WORDS:
        return _SEVERITY_WORDS[text], None
    return INFO, f"Unknown severity setting: '{text}', setting to default 'info'."


def parse_verbosity(text: str) -> tuple[Verbosity, str | None]:
    """``--verbosity`` value -> (verbosity, error message or None); unknown -> ``low``."""
    word = text.lower() if text.isupper() else text
    try:
        verbosity = Verbosity(word)
    except ValueError:
        return Verbosity.LOW, f"Unknown verbosity setting: '{text}', setting to default 'low'."
    if word.startswith("user") and text != word:
        return Verbosity.LOW, f"Unknown verbosity setting: '{text}', setting to default 'low'."
    return verbosity, None


def _paint(code: int, text: str) -> str:
    return f"\033[01;{code}m{text}\033[0m"


class FairFormatter(logging.Formatter):
    """Formats records as FairLogger prints them on the console."""

    def __init__(
        self,
        verbosity: Verbosity = Verbosity.MEDIUM,
        *,
        color: bool = False,
        process_name: str | None = None,
    ) -> None:
        super().__init__()
        self.verbosity = verbosity
        self.color = color
        self.process_name = process_name if process_name is not None else _short_program_name()

    def prefix(self, record: logging.LogRecord) -> str:
        v = self.verbosity
        if v is Verbosity.VERYLOW:
            return ""
        sev = severity_name(record.levelno)
        sev_text = _paint(_COLORS[sev], sev) if self.color else sev
        if v in (Verbosity.LOW, Verbosity.USER1, Verbosity.USER2, Verbosity.USER3,
                 Verbosity.USER4):
            return f"[{sev_text}] "
        seconds, micros = divmod(round(record.created * 1_000_000), 1_000_000)
        stamp = time.strftime("%H:%M:%S", time.localtime(seconds))
        if v is Verbosity.VERYHIGH:
            stamp += f".{micros:06d}"
        if self.color:
            stamp = f"\033[01;{_CYAN}m{stamp}\033[0m"
        if v is Verbosity.MEDIUM:
            return f"[{stamp}][{sev_text}] "
        proc = _paint(_BLUE, self.process_name) if self.color else self.process_name
        if v is Verbosity.HIGH:
            return f"[{proc}][{stamp}][{sev_text}] "
        file, line, func = record.filename, str(record.lineno), record.funcName
        if self.color:
            file, line, func = _paint(_BLUE, file), _paint(_YELLOW, line), _paint(_BLUE, func)
        return f"[{proc}][{stamp}][{sev_text}][{file}:{line}:{func}] "

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            message = f"{message}\n{record.exc_text}"
        return self.prefix(record) + message


def _short_program_name() -> str:
    """Like glibc's ``program_invocation_short_name``: the basename of ``argv[0]``."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "python"
    return os.path.basename(argv0)


_HANDLER_MARK = "_zmtp_fairlogger"


def install(
    severity: str = "",
    verbosity: str = "medium",
    color: bool = True,
    *,
    stream: TextIO | None = None,
    logger: logging.Logger | None = None,
    environ: Mapping[str, str] | None = None,
    process_name: str | None = None,
) -> logging.Handler:
    """Send ``logger`` (default: the root logger) to the console in FairLogger's format.

    ``FAIRMQ_SEVERITY`` in the environment overrides ``severity``, as in FairMQ's device
    runner. Calling again replaces the handler installed before. Bad values are reported
    at ERROR through the new handler and replaced by FairLogger's defaults.
    """
    env = os.environ if environ is None else environ
    target = logger if logger is not None else logging.getLogger()
    chosen = env.get("FAIRMQ_SEVERITY") or severity
    level, sev_error = parse_severity(chosen)
    verb, verb_error = parse_verbosity(verbosity)
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(FairFormatter(verb, color=color, process_name=process_name))
    handler.setLevel(level)
    setattr(handler, _HANDLER_MARK, True)
    for old in list(target.handlers):
        if getattr(old, _HANDLER_MARK, False):
            target.removeHandler(old)
    target.addHandler(handler)
    target.setLevel(min(level, TRACE) if level != NOLOG else NOLOG)
    for problem in (sev_error, verb_error):
        if problem:
            target.error(problem)
    return handler
