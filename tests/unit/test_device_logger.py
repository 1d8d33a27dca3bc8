"""FairLogger line format, severities, --severity/--verbosity/--color, rate lines."""

from __future__ import annotations

import io
import logging
import time

import pytest

from zmtp.device import logger as fl
from zmtp.device.logger import FairFormatter, Verbosity
from zmtp.device.rates import Counters, RateLogger, format_number, format_rate_line

# 12:00:01.000042 local time today: the formatter prints local time, like FairLogger.
_T = time.mktime(time.strptime("2026-01-02 12:00:01", "%Y-%m-%d %H:%M:%S")) + 0.000042


def record(level: int = fl.STATE, msg: str = "IDLE ---> INITIALIZING DEVICE") -> logging.LogRecord:
    r = logging.LogRecord("x", level, "/src/zmtp/device/states.py", 194, msg, None, None,
                          func="process")
    r.created = _T
    return r


@pytest.mark.parametrize(
    ("verbosity", "line"),
    [
        (Verbosity.VERYLOW, "IDLE ---> INITIALIZING DEVICE"),
        (Verbosity.LOW, "[STATE] IDLE ---> INITIALIZING DEVICE"),
        (Verbosity.MEDIUM, "[12:00:01][STATE] IDLE ---> INITIALIZING DEVICE"),
        (Verbosity.HIGH, "[sampler][12:00:01][STATE] IDLE ---> INITIALIZING DEVICE"),
        (Verbosity.VERYHIGH,
         "[sampler][12:00:01.000042][STATE][states.py:194:process] IDLE ---> INITIALIZING DEVICE"),
        (Verbosity.USER1, "[STATE] IDLE ---> INITIALIZING DEVICE"),
        (Verbosity.USER4, "[STATE] IDLE ---> INITIALIZING DEVICE"),
    ],
)
def test_line_formats(verbosity: Verbosity, line: str) -> None:
    assert FairFormatter(verbosity, process_name="sampler").format(record()) == line


def test_colored_medium_and_veryhigh() -> None:
    f = FairFormatter(Verbosity.MEDIUM, color=True, process_name="p")
    assert f.format(record(fl.ERROR, "boom")) == (
        "[\033[01;36m12:00:01\033[0m][\033[01;31mERROR\033[0m] boom")
    f = FairFormatter(Verbosity.VERYHIGH, color=True, process_name="p")
    assert f.format(record(fl.INFO, "m")) == (
        "[\033[01;34mp\033[0m][\033[01;36m12:00:01.000042\033[0m][\033[01;32mINFO\033[0m]"
        "[\033[01;34mstates.py\033[0m:\033[01;33m194\033[0m:\033[01;34mprocess\033[0m] m")
    assert FairFormatter(Verbosity.LOW, color=True).format(record()) == (
        "[\033[01;35mSTATE\033[0m] IDLE ---> INITIALIZING DEVICE")


def test_severity_names_and_order() -> None:
    names = list(fl.SEVERITIES)
    assert names == ["TRACE", "DEBUG4", "DEBUG3", "DEBUG2", "DEBUG1", "DEBUG", "DETAIL", "INFO",
                     "STATE", "WARN", "IMPORTANT", "ALARM", "ERROR", "CRITICAL", "FATAL"]
    levels = list(fl.SEVERITIES.values())
    assert levels == sorted(levels) and len(set(levels)) == len(levels)
    assert fl.severity_name(logging.WARNING) == "WARN"
    assert fl.severity_name(logging.CRITICAL) == "CRITICAL"
    assert fl.severity_name(27) == "STATE"  # foreign level: nearest below
    assert fl.severity_name(1) == "TRACE"


@pytest.mark.parametrize(
    ("text", "level", "error"),
    [
        ("", fl.INFO, False),
        ("info", fl.INFO, False),
        ("debug", fl.DEBUG, False),
        ("DEBUG", fl.DEBUG, False),
        ("state", fl.STATE, False),
        ("warn", fl.WARN, False),
        ("warning", fl.WARN, False),
        ("trace", fl.TRACE, False),
        ("debug4", fl.DEBUG4, False),
        ("nolog", fl.NOLOG, False),
        ("fatal", fl.FATAL, False),
        ("loud", fl.INFO, True),
    ],
)
def test_parse_severity(text: str, level: int, error: bool) -> None:
    got, problem = fl.parse_severity(text)
    assert got == level
    assert (problem is not None) is error
    if problem:
        assert problem == "Unknown severity setting: 'loud', setting to default 'info'."


def test_parse_verbosity() -> None:
    assert fl.parse_verbosity("veryhigh") == (Verbosity.VERYHIGH, None)
    assert fl.parse_verbosity("VERYHIGH") == (Verbosity.VERYHIGH, None)
    assert fl.parse_verbosity("user2") == (Verbosity.USER2, None)
    v, problem = fl.parse_verbosity("chatty")
    assert v is Verbosity.LOW
    assert problem == "Unknown verbosity setting: 'chatty', setting to default 'low'."


def make_logger(name: str) -> logging.Logger:
    log = logging.getLogger(name)
    log.propagate = False
    log.handlers.clear()
    return log


def test_install_filters_by_severity_and_replaces_itself() -> None:
    out = io.StringIO()
    log = make_logger("test.install")
    fl.install("state", "low", False, stream=out, logger=log, environ={})
    log.info("hidden")
    log.log(fl.STATE, "IDLE ---> INITIALIZING DEVICE")
    log.warning("careful")
    fl.install("debug", "verylow", False, stream=out, logger=log, environ={})
    log.debug("now visible")
    assert out.getvalue().splitlines() == [
        "[STATE] IDLE ---> INITIALIZING DEVICE", "[WARN] careful", "now visible",
    ]
    assert len(log.handlers) == 1


def test_install_environment_overrides_and_nolog() -> None:
    out = io.StringIO()
    log = make_logger("test.install.env")
    fl.install("debug", "low", False, stream=out, logger=log,
               environ={"FAIRMQ_SEVERITY": "error"})
    log.warning("no")
    log.error("yes")
    fl.install("nolog", "low", False, stream=out, logger=log, environ={})
    log.critical("never")
    assert out.getvalue().splitlines() == ["[ERROR] yes"]


def test_install_reports_bad_values() -> None:
    out = io.StringIO()
    log = make_logger("test.install.bad")
    fl.install("loud", "chatty", False, stream=out, logger=log, environ={})
    assert out.getvalue().splitlines() == [
        "[ERROR] Unknown severity setting: 'loud', setting to default 'info'.",
        "[ERROR] Unknown verbosity setting: 'chatty', setting to default 'low'.",
    ]


def test_exception_text_follows_the_message() -> None:
    f = FairFormatter(Verbosity.LOW)
    try:
        raise RuntimeError("bad hook")
    except RuntimeError:
        import sys

        r = logging.LogRecord("x", fl.ERROR, "f.py", 1, "failed", None, sys.exc_info())
    text = f.format(r)
    assert text.startswith("[ERROR] failed\nTraceback")
    assert text.endswith("RuntimeError: bad hook")


# ------------------------------------------------------------------------------- rate lines


def test_number_format_is_iostream_default() -> None:
    assert format_number(0.0) == "0"
    assert format_number(1.0) == "1"
    assert format_number(5e-06) == "5e-06"
    assert format_number(1234567.0) == "1.23457e+06"
    assert format_number(123456.0) == "123456"
    assert format_number(0.1 + 0.2) == "0.3"
    assert format_number(1000.0 / 3) == "333.333"


def test_rate_line() -> None:
    assert format_rate_line("data[0]", 0, 0, 1, 5e-6) == (
        "data[0]: in: 0 (0 MB) out: 1 (5e-06 MB)")
    assert format_rate_line("a[0]", 2.5, 0.0025, 0, 0, width=9) == (
        "     a[0]: in: 2.5 (0.0025 MB) out: 0 (0 MB)")


def test_rate_logger_intervals_and_alignment() -> None:
    rl = RateLogger({"data[0]": 1, "broadcast[0]": 2, "quiet[0]": 0},
                    {"data[0]": Counters(), "broadcast[0]": Counters()})
    assert rl.names == ["data[0]", "broadcast[0]"]
    first = rl.tick(1000, {"data[0]": Counters(bytes_out=5, msgs_out=1),
                           "broadcast[0]": Counters(bytes_in=4, msgs_in=2)})
    assert first == ["     data[0]: in: 0 (0 MB) out: 1 (5e-06 MB)"]
    second = rl.tick(1000, {"data[0]": Counters(bytes_out=5_000_005, msgs_out=3),
                            "broadcast[0]": Counters(bytes_in=8, msgs_in=4)})
    assert second == [
        "     data[0]: in: 0 (0 MB) out: 2 (5 MB)",
        # over 2 s the counters grew by 4 msgs / 8 bytes, but FairMQ divides by the last
        # interval's milliseconds only (its behaviour, reproduced)
        "broadcast[0]: in: 4 (8e-06 MB) out: 0 (0 MB)",
    ]
    assert rl.tick(0, {}) == []  # no time elapsed: nothing logged
