"""Channel::Validate rules, the method check and the transport refusals."""

from __future__ import annotations

import pytest

from zmtp.device.errors import ChannelConfigurationError
from zmtp.device.properties import SubChannel
from zmtp.device.validate import (
    SOCKET_TYPES,
    check_device_transport,
    subchannel_problems,
)


def problems(**fields: object) -> list[str]:
    values: dict[str, object] = {"type": "push", "method": "bind", "address": "tcp://*:1"}
    values.update(fields)
    name = str(values.pop("name", "data"))
    sub = SubChannel(name, 0, **values)  # type: ignore[arg-type]
    return subchannel_problems(sub, lambda key: f"<{key}>")


def test_valid_subchannels() -> None:
    for t in SOCKET_TYPES:
        assert problems(type=t) == []
    assert problems(address="ipc:///tmp/x") == []
    assert problems(address="inproc://x", method="connect") == []
    assert problems(address="tcp://localhost:5555", method="connect") == []
    assert problems(address="tcp://*:*") == []
    assert problems(address="@tcp://*:5556", method="connect") == []
    assert problems(address="@tcp://*:1,+tcp://h:2", method="") == []
    assert problems(name="a-Z_0[1]#") == []
    assert problems(address="unspecified") == []  # bind: auto-address later
    assert problems(address="", method="connect") == []  # filled in later (init-timeout)
    assert problems(transport="zeromq") == []


@pytest.mark.parametrize(
    ("fields", "key", "reason"),
    [
        ({"name": "da ta"}, "name", "illegal character ' '"),
        ({"name": "d.x"}, "name", "illegal character '.'"),
        ({"type": "unspecified"}, "type", "no channel type given"),
        ({"type": "bus"}, "type", "invalid channel type 'bus'"),
        ({"transport": "shmem"}, "transport", "shmem transport is not supported"),
        ({"transport": "nanomsg"}, "transport", "nanomsg transport no longer exists"),
        ({"transport": "ofi"}, "transport", "ofi transport no longer exists"),
        ({"transport": "carrier-pigeon"}, "transport", "unknown transport 'carrier-pigeon'"),
        ({"snd_buf_size": -1}, "sndBufSize", "cannot be negative: -1"),
        ({"rcv_buf_size": -2}, "rcvBufSize", "cannot be negative"),
        ({"snd_kernel_size": -1}, "sndKernelSize", "cannot be negative"),
        ({"rcv_kernel_size": -1}, "rcvKernelSize", "cannot be negative"),
        ({"rate_logging": -1}, "rateLogging", "cannot be negative"),
        ({"port_range_min": 5, "port_range_max": 4}, "portRangeMin", "above portRangeMax"),
        ({"method": ""}, "method", "method (bind/connect) for channel data[0] not specified"),
        ({"method": "bnd"}, "method", "method is 'bnd'"),
        ({"method": "", "address": "unspecified"}, "method", "there is no address"),
        ({"method": "", "address": "@tcp://*:1,tcp://h:2"}, "method", "endpoint 'tcp://h:2'"),
        ({"address": "tcp://host"}, "address", "missing port"),
        ({"address": "tcp://:5"}, "address", "missing host"),
        ({"address": "tcp://*:port"}, "address", "port 'port' is not a number"),
        ({"address": "tcp://*:70000"}, "address", "from 0 to 65535"),
        ({"address": "tcp://[::1]:5"}, "address", "IPv6"),
        ({"address": "tcp://*:5", "method": "connect"}, "address", "cannot connect to host '*'"),
        ({"address": "ipc://"}, "address", "empty ipc address"),
        ({"address": "inproc://"}, "address", "empty inproc address"),
        ({"address": "verbs://x"}, "address", "verbs://"),
        ({"address": "udp://x:1"}, "address", "missing protocol"),
        ({"address": "tcp://*:1,"}, "address", "empty endpoint"),
    ],
)
def test_invalid_subchannels(fields: dict[str, object], key: str, reason: str) -> None:
    found = problems(**fields)
    assert len(found) == 1, found
    assert found[0].startswith(f"<{key}>: ")
    assert reason in found[0]


def test_all_problems_reported_together() -> None:
    found = problems(type="x", snd_buf_size=-1, address="foo")
    assert len(found) == 3


def test_device_transport() -> None:
    check_device_transport("zeromq")
    with pytest.raises(ChannelConfigurationError, match="--transport shmem: the shmem"):
        check_device_transport("shmem")
    with pytest.raises(ChannelConfigurationError, match="unknown transport 'default'"):
        check_device_transport("default")
