"""The device runner's command line: FairMQ names, defaults, syntax, print formats."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zmtp.device.errors import OptionError
from zmtp.device.options import (
    OptionGroup,
    common_parser,
    format_print_channels,
    normalize_control,
    parse_args,
)


def custom(g: OptionGroup) -> None:
    g.add("max-iterations", "unsigned long",
          "Maximum number of iterations of Run/ConditionalRun/OnData (0 - infinite)", 0)
    g.add("text", "string", "Text to send out", "Hello")
    g.add("msg-size", "int", "Message size in bytes", 1000)


def test_fairmq_defaults() -> None:
    o = parse_args([])
    expected = {
        "severity": "", "file-severity": "debug", "verbosity": "medium", "color": True,
        "log-to-file": "", "id": "", "io-threads": 1, "transport": "zeromq",
        "network-interface": "default", "init-timeout": 120, "rate": 0.0, "session": "default",
        "control": "dynamic", "catch-signals": 1, "shm-segment-size": 2147483648,
    }
    for name, value in expected.items():
        assert o[name] == value, name
        assert o.origin(name) == "[default]"
    for absent in ("mq-config", "config-key", "channel-config", "print-options",
                   "print-channels", "help", "version", "plugin"):
        assert absent not in o
        assert o.origin(absent) == "[empty]"
    assert o.unregistered == []


def test_groups_in_fairmq_order() -> None:
    p = common_parser(custom)
    assert [g.title for g in p.groups] == [
        "FairMQ Command Line Options", "FairMQ device options", "Control (builtin) Plugin",
        "Plugin Manager", "Custom options",
    ]
    assert "Custom options" not in [g.title for g in common_parser().groups]


def test_typical_example_command_line() -> None:
    argv = ["--id", "sampler1", "--channel-config",
            "name=data,type=push,method=bind,address=tcp://*:5555,rateLogging=0",
            "--control", "static", "--color", "false", "--verbosity", "veryhigh",
            "--severity", "debug", "--session", "123", "--shm-segment-size", "100000000",
            "--shm-monitor", "true", "--max-iterations", "1", "--rate", "1"]
    o = parse_args(argv, custom)
    assert o.get_str("id") == "sampler1"
    assert o.get_strings("channel-config") == [
        "name=data,type=push,method=bind,address=tcp://*:5555,rateLogging=0"]
    assert o["control"] == "static"
    assert o.get_bool("color") is False
    assert o.get_int("max-iterations") == 1
    assert o.get_float("rate") == 1.0
    assert o.get_str("text") == "Hello"
    assert o.origin("id") == "[provided]"
    assert o.unregistered == []


def test_equals_form_and_short_options() -> None:
    o = parse_args(["--id=a", "--init-timeout=5", "-P", "dds", "-Podc", "-S", "/x", "-h", "-v"])
    assert o["id"] == "a" and o["init-timeout"] == 5
    assert o.get_strings("plugin") == ["dds", "odc"]
    assert o.get_strings("plugin-search-path") == ["/x"]
    assert o["help"] is True and o["version"] is True


def test_channel_config_is_multitoken_and_composing() -> None:
    o = parse_args(["--channel-config", "name=a", "name=b", "--id", "x",
                    "--channel-config", "name=c", "--channel-config=name=d"])
    assert o.get_strings("channel-config") == ["name=a", "name=b", "name=c", "name=d"]
    with pytest.raises(OptionError, match="required argument for option '--channel-config'"):
        parse_args(["--channel-config", "--id", "x"])


@pytest.mark.parametrize(
    ("word", "value"),
    [("true", True), ("false", False), ("1", True), ("0", False), ("yes", True), ("no", False),
     ("on", True), ("off", False), ("TRUE", True)],
)
def test_bool_words(word: str, value: bool) -> None:
    assert parse_args(["--color", word])["color"] is value


def test_implicit_bools_do_not_swallow_the_next_token() -> None:
    o = parse_args(["--print-options", "--id", "x"])
    assert o["print-options"] is True and o["id"] == "x"
    o = parse_args(["--print-channels=false"])
    assert o["print-channels"] is False
    o = parse_args(["--print-options", "later"])
    assert o.unregistered == ["later"]


def test_unknown_options_are_collected() -> None:
    o = parse_args(["--bogus", "1", "--id", "x", "--other=2", "-q", "stray", "--", "--id"])
    assert o["id"] == "x"
    assert o.unregistered == ["--bogus", "1", "--other=2", "-q", "stray", "--id"]


def test_negative_numbers_are_values() -> None:
    o = parse_args(["--catch-signals", "-1", "--bad-alloc-max-attempts=-5"])
    assert o["catch-signals"] == -1
    assert o["bad-alloc-max-attempts"] == -5


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--id", "a", "--id", "b"], "'--id' cannot be specified more than once"),
        (["--init-timeout", "soon"], "('soon') for option '--init-timeout' is invalid"),
        (["--color", "maybe"], "for option '--color' is invalid"),
        (["--rate", "fast"], "for option '--rate' is invalid"),
        (["--shm-segment-size", "-1"], "is invalid"),
        (["--shm-segment-id", "70000"], "is invalid"),
        (["--id"], "required argument for option '--id' is missing"),
        (["--id", "--color", "true"], "required argument for option '--id' is missing"),
        (["--help=1"], "does not take any arguments"),
    ],
)
def test_option_errors(argv: list[str], message: str) -> None:
    with pytest.raises(OptionError) as info:
        parse_args(argv)
    assert message in str(info.value)


def test_custom_options_and_print_options() -> None:
    o = parse_args(["--id", "s", "--text", "Hi", "--print-options"], custom)
    lines = o.print_options_lines()
    assert lines[0] == "help::<unknown>:Print this help and exit"
    assert "severity::string:" in "\n".join(lines)
    assert any(line.startswith("color:true:bool:") for line in lines)
    assert any(line.startswith("id:s:string:") for line in lines)
    assert any(line.startswith("rate:0:float:") for line in lines)
    assert any(line.startswith("print-options:true:bool:") for line in lines)
    assert any(line.startswith("mq-config::<unknown>:") for line in lines)
    assert any(line.startswith("shm-segment-size:2147483648:unsigned long:") for line in lines)
    assert lines[-3:] == [
        "max-iterations:0:unsigned long:Maximum number of iterations of "
        "Run/ConditionalRun/OnData (0 - infinite)",
        "text:Hi:string:Text to send out",
        "msg-size:1000:int:Message size in bytes",
    ]
    o = parse_args(["--channel-config", "name=a", "name=b", "-P", "x"])
    lines = o.print_options_lines()
    assert "channel-config:name=a, name=b:vector<string>:" in "\n".join(lines)
    assert all(line.count(":") >= 3 for line in lines)


def test_help_text_lists_every_option() -> None:
    text = common_parser(custom).format_help()
    assert text.startswith("FairMQ Command Line Options:\n  -h [ --help ]")
    for needle in ("--mq-config arg", "--control arg (=dynamic)", "--color arg (=1)",
                   "--print-options [=arg(=1)]", "Custom options:", "--max-iterations arg (=0)",
                   "-P [ --plugin ] arg"):
        assert needle in text


def test_duplicate_registration_is_refused() -> None:
    def clash(g: OptionGroup) -> None:
        g.add("id", "string", "again")

    with pytest.raises(OptionError, match="registered twice"):
        parse_args([], clash)


def test_control_modes() -> None:
    assert normalize_control("static") == ("static", None)
    for same in ("dynamic", "interactive", "external"):
        assert normalize_control(same) == ("interactive", None)
    assert normalize_control("none") == ("none", None)
    assert normalize_control("gui") == ("gui", None)
    mode, problem = normalize_control("dds")
    assert mode == "static" and problem and "'dds'" in problem


def test_print_channels_format() -> None:
    assert format_print_channels({}) == ["no channels registered."]
    assert format_print_channels({"data": (1, 1), "broadcast": (0, 2)}) == [
        "data:1:1", "broadcast:0:2"]


@given(st.lists(st.text(alphabet="abc-=,:", max_size=8), max_size=10))
def test_parser_only_raises_option_error(argv: list[str]) -> None:
    try:
        parse_args(argv, custom)
    except OptionError:
        pass
