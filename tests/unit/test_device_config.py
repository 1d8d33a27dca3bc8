"""--mq-config parsing on every FairMQ example config, plus the schema corner cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zmtp import ZMTPError
from zmtp.device.config import (
    ParsedChannels,
    device_entry_names,
    load_mq_config,
    lookup_id,
    parse_mq_config,
)
from zmtp.device.errors import ChannelConfigurationError
from zmtp.device.properties import (
    CHANNEL_KEYS,
    DEFAULTS,
    Properties,
    SubChannel,
    channel_info,
    convert,
    subchannels,
)
from zmtp.device.validate import validate_channels

CONFIGS = Path(__file__).resolve().parents[1] / "data" / "fairmq-configs"
ALL_FILES = sorted(p.name for p in CONFIGS.glob("*.json"))
REJECTED = {"ex-multiple-transports.json", "testJSON.json"}


def sub(name: str, index: int = 0, **overrides: object) -> Properties:
    """The 15 properties FairMQ builds for one sub-channel: defaults + ``overrides``."""
    values: dict[str, object] = dict(DEFAULTS)
    values.update(overrides)
    assert set(values) == set(CHANNEL_KEYS)
    return {f"chans.{name}.{index}.{k}": v for k, v in values.items()}  # type: ignore[misc]


def merge(*parts: Properties) -> Properties:
    out: Properties = {}
    for p in parts:
        out.update(p)
    return out


def props(file: str, lookup: str) -> Properties:
    warnings: list[str] = []
    parsed = load_mq_config(CONFIGS / file, lookup, warn=warnings.append)
    assert warnings == []
    validate_channels(parsed)
    return parsed.properties


HWM = {"sndBufSize": 1000, "rcvBufSize": 1000}

# Every (file, device entry) FairMQ accepts, with exactly the chans.* it builds.
EXPECTED: dict[tuple[str, str], Properties] = {
    ("benchmark.json", "bsampler1"): sub(
        "data", type="push", method="bind", address="tcp://127.0.0.1:5555", rateLogging=1, **HWM
    ),
    ("benchmark.json", "sink1"): sub(
        "data", type="pull", method="connect", address="tcp://127.0.0.1:5555", rateLogging=1, **HWM
    ),
    ("ex-1-n-1.json", "sampler1"): sub(
        "data1", type="push", method="bind", address="tcp://*:5555", rateLogging=0, **HWM
    ),
    ("ex-1-n-1.json", "processor"): merge(
        sub("data1", type="pull", method="connect", address="tcp://localhost:5555",
            rateLogging=0, **HWM),
        sub("data2", type="push", method="connect", address="tcp://localhost:5556",
            rateLogging=0, **HWM),
    ),
    ("ex-1-n-1.json", "sink1"): sub(
        "data2", type="pull", method="bind", address="tcp://*:5556", rateLogging=0, **HWM
    ),
    ("ex-multipart-multiple-endpoints.json", "sampler1"): sub(
        "data", type="push", method="connect",
        address="tcp://localhost:5555,tcp://localhost:5556", rateLogging=0, **HWM
    ),
    ("ex-multipart-multiple-endpoints.json", "sink1"): sub(
        "data", type="pull", method="bind", address="tcp://*:5555", rateLogging=0, **HWM
    ),
    ("ex-multipart-multiple-endpoints.json", "sink2"): sub(
        "data", type="pull", method="connect", address="@tcp://*:5556", rateLogging=0, **HWM
    ),
    ("ex-multiple-transports.json", "sampler1"): merge(
        sub("data1", type="push", method="bind", address="tcp://127.0.0.1:5555"),
        sub("ack", type="sub", method="bind", address="tcp://127.0.0.1:5557", transport="zeromq"),
    ),
    ("ex-multiple-transports.json", "sampler2"): sub(
        "data2", type="push", method="bind", address="tcp://127.0.0.1:5556"
    ),
    ("ex3-dds.json", "sampler"): sub("data1", type="push", method="bind"),
    ("ex3-dds.json", "processor"): merge(
        sub("data1", type="pull", method="connect"), sub("data2", type="push", method="connect")
    ),
    ("ex3-dds.json", "sink"): sub("data2", type="pull", method="bind"),
    ("ex4-copypush.json", "sampler1"): merge(
        sub("data", 0, type="push", method="bind", address="tcp://*:5555", rateLogging=0, **HWM),
        sub("data", 1, type="push", method="bind", address="tcp://*:5556", rateLogging=0, **HWM),
    ),
    ("ex4-copypush.json", "sink1"): sub(
        "data", type="pull", method="connect", address="tcp://localhost:5555", rateLogging=0, **HWM
    ),
    ("ex4-copypush.json", "sink2"): sub(
        "data", type="pull", method="connect", address="tcp://localhost:5556", rateLogging=0, **HWM
    ),
    ("ex5-req-rep.json", "client"): sub(
        "data", type="req", method="connect", address="tcp://localhost:5005", rateLogging=0, **HWM
    ),
    ("ex5-req-rep.json", "server"): sub(
        "data", type="rep", method="bind", address="tcp://*:5005", rateLogging=0, **HWM
    ),
    ("ex6-multiple-channels.json", "sampler1"): merge(
        sub("data", type="push", method="bind", address="tcp://*:5555", rateLogging=0, **HWM),
        sub("broadcast", type="sub", method="connect", address="tcp://localhost:5005",
            rateLogging=0, **HWM),
    ),
    ("ex6-multiple-channels.json", "sink1"): merge(
        sub("data", type="pull", method="connect", address="tcp://localhost:5555",
            rateLogging=0, **HWM),
        sub("broadcast", type="sub", method="connect", address="tcp://localhost:5005",
            rateLogging=0, **HWM),
    ),
    ("ex6-multiple-channels.json", "broadcaster1"): sub(
        "broadcast", type="pub", method="bind", address="tcp://*:5005", rateLogging=0, **HWM
    ),
    ("shm-prototype.json", "sampler1"): sub(
        "meta", type="push", method="bind", address="tcp://127.0.0.1:5555",
        sndBufSize=10, rcvBufSize=10, rateLogging=0,
    ),
    ("shm-prototype.json", "sink1"): sub(
        "meta", type="pull", method="connect", address="tcp://127.0.0.1:5555",
        sndBufSize=10, rcvBufSize=10, rateLogging=0,
    ),
    ("testJSON.json", "sink1"): sub(
        "one_input", type="pull", method="bind", address="tcp://localhost:5571",
        rateLogging=1, **HWM
    ),
}


def test_every_example_file_is_covered() -> None:
    assert ALL_FILES, f"no example configs in {CONFIGS}"
    covered = {f for f, _ in EXPECTED}
    assert covered == set(ALL_FILES)
    for file in ALL_FILES:
        names = device_entry_names((CONFIGS / file).read_bytes(), source=file)
        accepted = {n for f, n in EXPECTED if f == file}
        if file in REJECTED:
            assert accepted < set(names)
        else:
            assert accepted == set(names), file


@pytest.mark.parametrize(("file", "lookup"), sorted(EXPECTED))
def test_example_config_properties(file: str, lookup: str) -> None:
    assert props(file, lookup) == EXPECTED[(file, lookup)]


def test_copypush_builds_two_subchannels() -> None:
    chans = subchannels(props("ex4-copypush.json", "sampler1"))
    assert [c.full_name for c in chans] == ["data[0]", "data[1]"]
    assert [c.address for c in chans] == ["tcp://*:5555", "tcp://*:5556"]


def test_processor_key_is_shared_through_config_key() -> None:
    # --id processor1 --config-key processor: the key wins for the lookup
    assert lookup_id("processor1", "processor") == "processor"
    assert lookup_id("processor1", None) == "processor1"
    assert lookup_id("processor1", "") == "processor1"
    assert lookup_id(None, None) == ""
    assert channel_info(props("ex-1-n-1.json", lookup_id("processor2", "processor"))) == {
        "data1": 1, "data2": 1,
    }


def test_multiple_transports_is_rejected_for_its_nanomsg_channel() -> None:
    with pytest.raises(ChannelConfigurationError) as info:
        props("ex-multiple-transports.json", "sink1")
    message = str(info.value)
    assert "ex-multiple-transports.json" in message
    assert "fairMQOptions.devices[2].channels[1].transport" in message
    assert "chans.data2.0.transport" in message
    assert "nanomsg" in message and "no longer exists" in message
    assert isinstance(info.value, ZMTPError)


def test_test_json_is_rejected_for_its_empty_method() -> None:
    with pytest.raises(ChannelConfigurationError) as info:
        props("testJSON.json", "merger1")
    message = str(info.value)
    assert "testJSON.json" in message
    assert "fairMQOptions.devices[0].channels[0].sockets[0].method" in message
    assert "chans.two_inputs_channel.0.method" in message
    assert "method (bind/connect) for channel two_inputs_channel[0] not specified" in message
    # the connect to tcp://*:5571 is reported in the same error
    assert "chans.one_output_channel.0.address" in message
    assert len(info.value.problems) == 2


def test_unknown_id_gives_no_channels_and_a_warning() -> None:
    warnings: list[str] = []
    parsed = load_mq_config(CONFIGS / "ex5-req-rep.json", "nobody", warn=warnings.append)
    assert parsed.properties == {}
    assert parsed.matched_entries == 0
    assert "nobody" in warnings[0]


# ---------------------------------------------------------------------------- schema corners


def doc(*channels: object, device: dict[str, object] | None = None) -> str:
    entry: dict[str, object] = {"id": "dev", "channels": list(channels)}
    if device:
        entry.update(device)
    return json.dumps({"fairMQOptions": {"devices": [entry]}})


def parse(text: str, lookup: str = "dev") -> ParsedChannels:
    return parse_mq_config(text, lookup, source="t.json", warn=lambda m: None)


def test_string_typed_numbers_and_bools() -> None:
    text = doc({"name": "d", "type": "push", "method": "bind", "address": "tcp://*:1",
                "sndBufSize": "10", "linger": " 250 ", "autoBind": "false",
                "rateLogging": "0", "rcvTimeoutMs": "-1"})
    p = parse(text).properties
    assert p["chans.d.0.sndBufSize"] == 10
    assert p["chans.d.0.linger"] == 250
    assert p["chans.d.0.autoBind"] is False
    assert p["chans.d.0.rcvTimeoutMs"] == -1
    assert parse(doc({"name": "d", "autoBind": "1"})).properties["chans.d.0.autoBind"] is True
    assert parse(doc({"name": "d", "autoBind": 0})).properties["chans.d.0.autoBind"] is False


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("sndBufSize", "1e3", "expected an integer"),
        ("sndBufSize", 1.5, "expected an integer"),
        ("linger", "ten", "expected an integer"),
        ("rcvBufSize", 2**40, "32 bits"),
        ("autoBind", "yes", "expected true/false"),
        ("type", {"a": 1}, "expected a single value"),
        ("address", ["tcp://*:1"], "expected a single value"),
    ],
)
def test_bad_values_name_file_path_and_reason(key: str, value: object, reason: str) -> None:
    with pytest.raises(ChannelConfigurationError) as info:
        parse(doc({"name": "d", "sockets": [{key: value}]}))
    message = str(info.value)
    assert message.startswith("t.json: fairMQOptions.devices[0].channels[0].sockets[0]." + key)
    assert reason in message


def test_channel_level_properties_are_inherited_and_overridden() -> None:
    text = doc({
        "name": "data", "type": "push", "method": "connect", "sndBufSize": 5, "transport": "zeromq",
        "sockets": [{"address": "tcp://a:1"}, {"address": "tcp://b:2", "type": "pull",
                                                "sndBufSize": 7, "method": "bind"}],
    })
    assert parse(text).properties == merge(
        sub("data", 0, type="push", method="connect", address="tcp://a:1", sndBufSize=5,
            transport="zeromq"),
        sub("data", 1, type="pull", method="bind", address="tcp://b:2", sndBufSize=7,
            transport="zeromq"),
    )


def test_num_sockets_copies_the_common_set_and_ignores_sockets() -> None:
    warnings: list[str] = []
    text = doc({"name": "d", "type": "push", "method": "bind", "address": "tcp://*:1",
                "numSockets": "3", "sockets": [{"address": "tcp://ignored:9"}]})
    p = parse_mq_config(text, "dev", warn=warnings.append).properties
    assert channel_info(p) == {"d": 3}
    assert {p[f"chans.d.{i}.address"] for i in range(3)} == {"tcp://*:1"}
    assert any("numSockets" in w for w in warnings)
    # numSockets 0 or negative: sockets are used
    p = parse(doc({"name": "d", "numSockets": -1, "sockets": [{"type": "pull"}]})).properties
    assert channel_info(p) == {"d": 1}


def test_empty_sockets_gives_one_subchannel() -> None:
    assert channel_info(parse(doc({"name": "d", "sockets": []})).properties) == {"d": 1}


def test_key_wins_over_id_for_entry_selection() -> None:
    text = json.dumps({"fairMQOptions": {"devices": [
        {"id": "proc1", "key": "processor", "channels": [{"name": "a"}]},
    ]}})
    assert parse(text, "processor").properties
    assert parse(text, "proc1").properties == {}


def test_first_definition_wins_across_entries_and_duplicate_json_keys() -> None:
    text = json.dumps({"fairMQOptions": {"devices": [
        {"id": "dev", "channels": [{"name": "d", "type": "push"}]},
        {"id": "dev", "channels": [{"name": "d", "type": "pull"}, {"name": "e"}]},
    ]}})
    warnings: list[str] = []
    parsed = parse_mq_config(text, "dev", warn=warnings.append)
    assert parsed.properties["chans.d.0.type"] == "push"
    assert "chans.e.0.type" in parsed.properties
    assert parsed.matched_entries == 2
    assert any("already defined" in w for w in warnings)
    # duplicate keys in one object: Boost.PropertyTree returns the first
    dup = ('{"fairMQOptions": {"devices": [{"id": "dev", "channels": [{"name": "d", '
           '"sockets": [{"address": "tcp://a:1", "address": "tcp://b:2"}]}]}]}}')
    warnings.clear()
    parsed = parse_mq_config(dup, "dev", warn=warnings.append)
    assert parsed.properties["chans.d.0.address"] == "tcp://a:1"
    assert any("more than once" in w for w in warnings)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "not valid JSON"),
        ("[]", "top level must be a JSON object"),
        ('{"devices": []}', "no 'fairMQOptions'"),
        ('{"fairMQOptions": {"devices": {"id": 1}}}', None),
        ('{"fairMQOptions": {"devices": 5}}', "'devices' must be an array"),
        ('{"fairMQOptions": {"devices": [{"id": "dev", "channels": [{"type": "push"}]}]}}',
         "channel has no 'name'"),
        ('{"fairMQOptions": {"devices": [{"id": "dev", "channels": [{"name": ""}]}]}}',
         "channel name is empty"),
        ('{"fairMQOptions": {"devices": [{"id": "dev", "channels": [5]}]}}',
         "a channel must be a JSON object"),
        ('{"fairMQOptions": {"devices": [{"id": "dev", "channels": [{"name": "a", '
         '"sockets": 3}]}]}}', "must be an array"),
        ('{"fairMQOptions": {"devices": [{"id": "dev", "channels": [{"name": "a", '
         '"sockets": [1]}]}]}}', "a socket must be a JSON object"),
    ],
)
def test_schema_errors(text: str, reason: str | None) -> None:
    if reason is None:  # an object where an array is expected: iterated like PropertyTree
        parse(text)
        return
    with pytest.raises(ChannelConfigurationError, match=reason.replace("(", r"\(")) as info:
        parse(text)
    assert str(info.value).startswith("t.json")


def test_no_lookup_id_is_an_error() -> None:
    with pytest.raises(ChannelConfigurationError, match="--id"):
        parse(doc({"name": "d"}), "")


def test_historic_singular_schema_is_explained() -> None:
    warnings: list[str] = []
    text = json.dumps({"fairMQOptions": {"device": {"id": "dev"}}})
    assert parse_mq_config(text, "dev", warn=warnings.append).properties == {}
    assert any("'devices' array" in w for w in warnings)


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(ChannelConfigurationError, match=r"nope\.json: cannot read"):
        load_mq_config(missing, "dev")


def test_subchannel_roundtrip_through_properties() -> None:
    p = props("ex4-copypush.json", "sampler1")
    chans = subchannels(p)
    rebuilt: Properties = {}
    for c in chans:
        rebuilt.update(c.to_properties())
    assert rebuilt == p
    assert chans[1].get("address") == "tcp://*:5556"
    assert SubChannel.from_properties({}, "x", 0) == SubChannel("x", 0)


@given(st.integers(-(2**31), 2**31 - 1))
def test_int_conversion_accepts_numbers_and_their_text(n: int) -> None:
    assert convert("linger", n) == n
    assert convert("linger", str(n)) == n


@given(st.text())
def test_int_conversion_never_raises_anything_but_value_error(text: str) -> None:
    try:
        value = convert("sndBufSize", text)
    except ValueError:
        return
    assert isinstance(value, int)
    assert int(text) == value
