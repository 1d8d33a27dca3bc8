"""Endpoint rules: modifiers, bind/connect phase, IPv4 resolution, write-back, auto-bind."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zmtp.device.endpoints import (
    Endpoint,
    attach_phase,
    auto_bind,
    auto_bind_candidates,
    default_route_interface,
    interface_ipv4,
    parse_endpoints,
    resolve_endpoint,
    resolve_ipv4,
    rewrite_address,
    split_tcp,
    unspecified_bind_address,
)


def test_modifiers_override_the_method() -> None:
    assert parse_endpoints("@tcp://*:5556", "connect") == [Endpoint("tcp://*:5556", True, True)]
    assert parse_endpoints("+tcp://h:1,>tcp://h:2,tcp://h:3", "bind") == [
        Endpoint("tcp://h:1", False, True),
        Endpoint("tcp://h:2", False, True),
        Endpoint("tcp://h:3", True, False),
    ]
    assert parse_endpoints("tcp://localhost:5555,tcp://localhost:5556", "connect") == [
        Endpoint("tcp://localhost:5555", False), Endpoint("tcp://localhost:5556", False),
    ]
    # the abstract-socket '@' is not at position 0: no modifier
    assert parse_endpoints("ipc://@name", "bind") == [Endpoint("ipc://@name", True, False)]


def test_attach_phase_follows_fairmq_sorting() -> None:
    assert attach_phase("bind", "tcp://*:1") == "bind"
    assert attach_phase("bind", "+tcp://h:1") == "bind"
    assert attach_phase("connect", "@tcp://*:5556") == "connect"  # binds during CONNECTING
    assert attach_phase("", "@tcp://*:1") == "connect"
    assert attach_phase("unspecified", "ipc://@x") == "connect"  # '@' anywhere counts
    assert attach_phase("", "tcp://*:1") is None
    assert attach_phase("unspecified", "unspecified") is None


def test_split_tcp() -> None:
    assert split_tcp("tcp://localhost:5555") == ("localhost", "5555")
    assert split_tcp("tcp://*:*") == ("*", "*")
    assert split_tcp("tcp://host") is None
    assert split_tcp("ipc:///tmp/x") is None


def fake_resolver(host: str) -> str | None:
    return {"localhost": "127.0.0.1", "node7": "10.0.0.7", "127.0.0.1": "127.0.0.1"}.get(host)


def test_resolution_to_ipv4() -> None:
    assert resolve_endpoint(Endpoint("tcp://localhost:5555", False), fake_resolver) == (
        "tcp://127.0.0.1:5555")
    assert resolve_endpoint(Endpoint("tcp://localhost:5555", True), fake_resolver) == (
        "tcp://127.0.0.1:5555")
    assert resolve_endpoint(Endpoint("tcp://*:5555", True), fake_resolver) == "tcp://*:5555"
    assert resolve_endpoint(Endpoint("tcp://*:5555", False), fake_resolver) is None
    assert resolve_endpoint(Endpoint("tcp://nowhere:1", False), fake_resolver) is None
    assert resolve_endpoint(Endpoint("ipc:///tmp/x", False), fake_resolver) == "ipc:///tmp/x"
    assert resolve_endpoint(Endpoint("inproc://a", True), fake_resolver) == "inproc://a"


def test_real_resolver_maps_localhost_to_127_0_0_1() -> None:
    assert resolve_ipv4("localhost") == "127.0.0.1"
    assert resolve_ipv4("127.0.0.1") == "127.0.0.1"
    assert resolve_ipv4("") is None or resolve_ipv4("") == "127.0.0.1"
    assert resolve_ipv4("no-such-host.invalid") is None


def test_rewrite_after_attach() -> None:
    eps = parse_endpoints("@tcp://*:5556,>tcp://localhost:1,tcp://localhost:2", "connect")
    used = ["tcp://*:22123", "tcp://127.0.0.1:1", "tcp://127.0.0.1:2"]
    assert rewrite_address(list(zip(eps, used, strict=True))) == (
        "@tcp://*:22123,+tcp://127.0.0.1:1,tcp://127.0.0.1:2")
    # unchanged address: caller compares and does not write back
    eps = parse_endpoints("tcp://*:5555", "bind")
    assert rewrite_address([(eps[0], "tcp://*:5555")]) == "tcp://*:5555"


def test_auto_bind_tries_random_ports_in_range() -> None:
    tried: list[str] = []

    def try_bind(ep: str) -> bool:
        tried.append(ep)
        return len(tried) == 4

    got = auto_bind("tcp://*:5555", try_bind, port_min=22000, port_max=22010,
                    rng=random.Random(1))
    assert got == tried[-1]
    assert tried[0] == "tcp://*:5555"
    for ep in tried[1:]:
        assert ep.startswith("tcp://*:") and 22000 <= int(ep.rsplit(":", 1)[1]) <= 22010


def test_auto_bind_gives_up() -> None:
    calls = 0

    def never(ep: str) -> bool:
        nonlocal calls
        calls += 1
        return False

    assert auto_bind("tcp://127.0.0.1:1", never, attempts=1000) is None
    assert calls == 1 + 1000
    calls = 0
    assert auto_bind("tcp://127.0.0.1:1", never, auto_bind=False) is None
    assert calls == 1
    calls = 0
    assert auto_bind("ipc:///tmp/x", never) is None  # tcp only
    assert calls == 1


def test_auto_bind_first_try_wins() -> None:
    assert auto_bind("tcp://*:5555", lambda ep: True) == "tcp://*:5555"


@given(st.integers(0, 65535), st.integers(0, 200), st.integers(0, 2**32))
def test_candidates_stay_in_range(lo: int, width: int, seed: int) -> None:
    hi = min(lo + width, 65535)
    cands = list(auto_bind_candidates("tcp://10.0.0.1:1", lo, hi, rng=random.Random(seed),
                                      attempts=20))
    assert len(cands) == 20
    assert all(lo <= int(c.rsplit(":", 1)[1]) <= hi for c in cands)
    assert all(c.startswith("tcp://10.0.0.1:") for c in cands)


def test_candidates_empty_range_or_non_tcp() -> None:
    assert list(auto_bind_candidates("tcp://*:1", 5, 4)) == []
    assert list(auto_bind_candidates("inproc://x", 1, 4)) == []


def test_unspecified_bind_address() -> None:
    assert unspecified_bind_address("192.168.1.5") == "tcp://192.168.1.5:1"
    assert unspecified_bind_address(None) == "tcp://*:1"


def test_default_route_interface() -> None:
    table = (
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n"
        "eth1\t0010A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n"
        "eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\n"
    )
    assert default_route_interface(table) == "eth0"
    assert default_route_interface(table.splitlines()[0]) is None


def test_interface_ipv4_of_loopback() -> None:
    ip = interface_ipv4("lo")
    if ip is None:
        pytest.skip("no loopback interface named 'lo' here")
    assert ip == "127.0.0.1"
    assert interface_ipv4("no-such-if0") is None
