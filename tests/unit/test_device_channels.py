"""From options to channels: source choice, attach plan, socket settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from zmtp.device.channels import (
    load_channels,
    plan_attach,
    socket_identity,
    socket_options,
    transport_id,
)
from zmtp.device.errors import ChannelConfigurationError
from zmtp.device.options import parse_args
from zmtp.device.properties import SubChannel, channel_info

CONFIGS = Path(__file__).resolve().parents[1] / "data" / "fairmq-configs"


def test_mq_config_wins_over_channel_config() -> None:
    warnings: list[str] = []
    opts = parse_args(["--id", "sink2", "--mq-config",
                       str(CONFIGS / "ex-multipart-multiple-endpoints.json"),
                       "--channel-config", "name=other,type=push,method=bind"])
    parsed = load_channels(opts, warn=warnings.append)
    assert channel_info(parsed.properties) == {"data": 1}
    assert any("--channel-config is ignored" in w for w in warnings)


def test_config_key_selects_the_shared_entry() -> None:
    opts = parse_args(["--id", "processor1", "--config-key", "processor", "--mq-config",
                       str(CONFIGS / "ex-1-n-1.json")])
    assert channel_info(load_channels(opts).properties) == {"data1": 1, "data2": 1}


def test_channel_config_needs_an_id() -> None:
    opts = parse_args(["--channel-config", "name=d,type=push,method=bind,address=tcp://*:1"])
    with pytest.raises(ChannelConfigurationError, match="no device id"):
        load_channels(opts)
    opts = parse_args(["--id", "s", "--channel-config",
                       "name=d,type=push,method=bind,address=tcp://*:1"])
    assert channel_info(load_channels(opts).properties) == {"d": 1}


def test_no_configuration_is_no_channels() -> None:
    assert load_channels(parse_args(["--id", "x"])).properties == {}


def test_shmem_device_transport_is_refused() -> None:
    with pytest.raises(ChannelConfigurationError, match="shmem transport is not supported"):
        load_channels(parse_args(["--id", "x", "--transport", "shmem"]))


def test_rejected_files_are_rejected_through_the_options_path() -> None:
    path = str(CONFIGS / "ex-multiple-transports.json")
    opts = parse_args(["--id", "sink1", "--mq-config", path])
    with pytest.raises(ChannelConfigurationError, match="nanomsg"):
        load_channels(opts)


def test_attach_plan_sorts_and_fills_bind_addresses() -> None:
    opts = parse_args(["--id", "s", "--channel-config",
                       "name=in,type=pull,method=bind",
                       "name=out,type=push,method=connect,address=tcp://localhost:5",
                       "name=odd,type=pull,method=connect,address=@tcp://*:6",
                       "name=mod,type=push,address=+tcp://localhost:7"])
    plan = plan_attach(load_channels(opts), lambda: "10.1.2.3")
    assert [s.full_name for s in plan.binding] == ["in[0]"]
    assert plan.binding[0].address == "tcp://10.1.2.3:1"
    assert plan.updates == {"chans.in.0.address": "tcp://10.1.2.3:1"}
    assert [s.full_name for s in plan.connecting] == ["out[0]", "odd[0]", "mod[0]"]
    plan = plan_attach(load_channels(opts))
    assert plan.binding[0].address == "tcp://*:1"


def test_socket_settings_match_fairmq() -> None:
    sub = SubChannel("data", 0, type="push", method="bind", address="tcp://*:5555")
    assert socket_identity("sampler1", sub) == b"sampler1.data[0].push"
    assert socket_options("sampler1", sub) == {
        "routing_id": b"sampler1.data[0].push", "sndhwm": 1000, "rcvhwm": 1000, "linger": 0.5,
    }
    tuned = SubChannel("d", 2, type="dealer", snd_buf_size=50, rcv_buf_size=60,
                       snd_kernel_size=65536, rcv_kernel_size=32768, linger=-1)
    assert socket_options("x", tuned) == {
        "routing_id": b"x.d[2].dealer", "sndhwm": 50, "rcvhwm": 60, "linger": -1.0,
        "sndbuf": 65536, "rcvbuf": 32768,
    }


def test_transport_id() -> None:
    assert transport_id("sampler1") == "sampler1"
    generated = transport_id("")
    assert len(generated) == 36 and generated.count("-") == 4
    assert transport_id("") != generated
