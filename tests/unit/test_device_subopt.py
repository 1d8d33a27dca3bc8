"""--channel-config strings: the SuboptParser forms named in FAIRMQ.md §2 and the examples."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zmtp.device.errors import ChannelConfigurationError
from zmtp.device.properties import DEFAULTS, Properties, channel_info, subchannels
from zmtp.device.subopt import SUBOPT_KEYS, parse_channel_config, split_token
from zmtp.device.validate import validate_channels


def parse(*tokens: str) -> tuple[Properties, list[str]]:
    warnings: list[str] = []
    parsed = parse_channel_config(list(tokens), warn=warnings.append)
    validate_channels(parsed)
    return parsed.properties, warnings


def test_copypush_two_addresses_make_two_subchannels() -> None:
    p, warnings = parse("name=data,type=push,method=bind,rateLogging=0,"
                        "address=tcp://*:5555,address=tcp://*:5556")
    assert warnings == []
    chans = subchannels(p)
    assert [c.full_name for c in chans] == ["data[0]", "data[1]"]
    assert [c.address for c in chans] == ["tcp://*:5555", "tcp://*:5556"]
    assert all(c.type == "push" and c.method == "bind" and c.rate_logging == 0 for c in chans)
    assert all(c.snd_buf_size == DEFAULTS["sndBufSize"] for c in chans)


def test_channel_level_keys_apply_wherever_they_appear() -> None:
    p, _ = parse("address=tcp://*:1,name=d,address=tcp://*:2,type=pull,method=bind,sndBufSize=50")
    assert channel_info(p) == {"d": 2}
    assert p["chans.d.0.type"] == p["chans.d.1.type"] == "pull"
    assert p["chans.d.0.sndBufSize"] == p["chans.d.1.sndBufSize"] == 50


def test_name_colon_form() -> None:
    # the form of FairMQ's own parser test: bar-data:address=...,type=pull
    p, _ = parse("bar-data:address=ipc:///tmp/x,type=pull,method=connect")
    assert p["chans.bar-data.0.address"] == "ipc:///tmp/x"
    assert p["chans.bar-data.0.type"] == "pull"
    # a ':' after the first '=' belongs to a value
    name, pairs, addresses = split_token("name=a,address=tcp://h:1", lambda m: None)
    assert (name, pairs, addresses) == ("a", [], ["tcp://h:1"])


def test_no_address_is_one_subchannel_with_defaults() -> None:
    # DDS style: --channel-config name=data1,type=push,method=bind (auto-bind later)
    p, _ = parse("name=data1,type=push,method=bind")
    assert channel_info(p) == {"data1": 1}
    assert p["chans.data1.0.address"] == "unspecified"


def test_several_tokens_are_several_channels() -> None:
    p, _ = parse("name=data-in,type=pull,method=connect,address=tcp://localhost:5555",
                 "name=data-out,type=push,method=bind,address=tcp://*:5556")
    assert channel_info(p) == {"data-in": 1, "data-out": 1}


def test_dpl_proxy_example() -> None:
    p, _ = parse("name=readout-proxy,type=pull,method=bind,address=tcp://localhost:30453,"
                 "rateLogging=1,transport=zeromq")
    assert p["chans.readout-proxy.0.transport"] == "zeromq"
    assert p["chans.readout-proxy.0.rateLogging"] == 1


def test_all_keys_recognised_and_typed() -> None:
    p, warnings = parse("name=c,type=pair,method=connect,address=inproc://x,transport=zeromq,"
                        "sndBufSize=1,rcvBufSize=2,sndKernelSize=3,rcvKernelSize=4,"
                        "sndTimeoutMs=5,rcvTimeoutMs=6,linger=7,rateLogging=8,"
                        "portRangeMin=9,portRangeMax=10,autoBind=false")
    assert warnings == []
    c = subchannels(p)[0]
    assert (c.snd_buf_size, c.rcv_buf_size, c.snd_kernel_size, c.rcv_kernel_size) == (1, 2, 3, 4)
    assert (c.snd_timeout_ms, c.rcv_timeout_ms, c.linger, c.rate_logging) == (5, 6, 7, 8)
    assert (c.port_range_min, c.port_range_max, c.auto_bind) == (9, 10, False)


def test_num_sockets() -> None:
    p, _ = parse("name=d,type=push,method=bind,address=tcp://*:1,numSockets=2")
    assert channel_info(p) == {"d": 2}


def test_repeated_channel_key_keeps_the_last_value() -> None:
    p, _ = parse("name=d,type=push,type=pull,method=bind,address=tcp://*:1")
    assert p["chans.d.0.type"] == "pull"


def test_unknown_key_is_warned_and_ignored() -> None:
    p, warnings = parse("name=d,type=push,method=bind,colour=blue,address=tcp://*:1")
    assert warnings == ["Ignoring unknown argument in --channel-config: colour=blue"]
    assert channel_info(p) == {"d": 1}
    # a second endpoint after ',' is an unknown key: one sub-channel cannot get two endpoints
    p, warnings = parse("name=d,type=push,method=bind,address=tcp://*:1,tcp://*:2")
    assert warnings == ["Ignoring unknown argument in --channel-config: tcp://*:2"]
    assert p["chans.d.0.address"] == "tcp://*:1"


def test_key_without_value_is_ignored() -> None:
    p, warnings = parse("name=d,type=push,linger,method=bind,address=tcp://*:1")
    assert warnings == []
    assert p["chans.d.0.linger"] == 500


def test_parsing_stops_at_a_space() -> None:
    p, _ = parse("name=d,type=push,method=bind,address=tcp://*:1, linger=7")
    assert p["chans.d.0.linger"] == 500


def test_missing_name_is_an_error() -> None:
    with pytest.raises(ChannelConfigurationError) as info:
        parse_channel_config(["type=push,method=bind"], warn=lambda m: None)
    assert "missing channel name" in str(info.value)
    assert "'type=push,method=bind'" in str(info.value)
    with pytest.raises(ChannelConfigurationError, match="missing channel name"):
        parse_channel_config([":type=push"], warn=lambda m: None)


def test_bad_values_quote_the_argument() -> None:
    with pytest.raises(ChannelConfigurationError) as info:
        parse_channel_config(["name=d,sndBufSize=lots"], warn=lambda m: None)
    assert str(info.value) == (
        "--channel-config: argument 'name=d,sndBufSize=lots', key 'sndBufSize': invalid value "
        "for 'sndBufSize': expected an integer, got 'lots'"
    )


def test_validation_problems_quote_the_argument() -> None:
    parsed = parse_channel_config(["name=d,type=push,method=bind,address=tcp://*:1",
                                   "name=e,type=bogus,address=tcp://*:2"], warn=lambda m: None)
    with pytest.raises(ChannelConfigurationError) as info:
        validate_channels(parsed)
    problems = info.value.problems
    assert len(problems) == 2
    assert problems[0].startswith("--channel-config: argument 'name=e,type=bogus,address=tcp://*:2'"
                                  ", key 'type' (chans.e.0.type): invalid channel type 'bogus'")
    assert "(default method) (chans.e.0.method)" in problems[1]
    assert "method (bind/connect) for channel e[0] not specified" in problems[1]


def test_shmem_is_refused_with_the_reason() -> None:
    parsed = parse_channel_config(
        ["name=d,type=push,method=bind,address=tcp://*:1,transport=shmem"], warn=lambda m: None
    )
    with pytest.raises(ChannelConfigurationError) as info:
        validate_channels(parsed)
    assert "shmem transport is not supported" in str(info.value)
    assert "ZeroMQ-only" in str(info.value)
    assert "key 'transport'" in str(info.value)


_value = st.text(alphabet=st.characters(blacklist_characters=", ="), max_size=12)


@given(st.lists(st.tuples(st.sampled_from([*SUBOPT_KEYS, "junk"]), _value), max_size=8))
def test_split_token_never_fails_and_counts_addresses(pairs: list[tuple[str, str]]) -> None:
    token = ",".join(f"{k}={v}" for k, v in pairs)
    _, _, addresses = split_token(token, lambda m: None)
    if " " not in token and not token.startswith(":") and ":" not in token.split("=", 1)[0]:
        assert len(addresses) == sum(1 for k, _ in pairs if k == "address")
