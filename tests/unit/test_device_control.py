"""Controllers in process (interactive keys from a list, gui, none), sync hooks,
frame-by-frame receive, serialised OnData handlers, the device registry, the launcher's
address rewriting."""

from __future__ import annotations

import io
import json
import logging
import uuid
from pathlib import Path

import pytest
import trio

import zmtp
from zmtp.device.control import run_device
from zmtp.device.device import INTERRUPTED, Device, Parts
from zmtp.device.examples import DEVICES, load_device
from zmtp.device.launch import load_topology, rewrite_addresses, topology_names
from zmtp.device.options import parse_args
from zmtp.device.states import State

pytestmark = pytest.mark.skipif(not hasattr(zmtp, "Socket"), reason="needs zmtp.Socket")


def make(cls: type[Device], *argv: str) -> Device:
    dev = cls()
    dev.options = parse_args(list(argv), cls.add_custom_options)
    return dev


def inproc() -> str:
    return f"inproc://ctl-{uuid.uuid4().hex}"


class Idle(Device):
    """Runs until told to stop."""

    async def run(self) -> None:
        while await self.wait_for(1.0):
            pass


async def test_interactive_keys_in_process(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    dev = make(Idle, "--id", "i", "--channel-config",
               f"name=data,type=pull,method=bind,address={inproc()},rateLogging=0")
    keys = iter("c\nsrxszsdibxjrq")
    out = io.StringIO()
    ran: list[State] = []

    async def read_key() -> str | None:
        # one key per state reached, so each acts on a settled state
        await trio.sleep(0.02)
        ran.append(dev.state)
        return next(keys, None)

    with trio.fail_after(20):
        assert await run_device(dev, "interactive", catch_signals=False, keys=read_key,
                                out=out) == 0
    text = out.getvalue()
    assert "Following control commands are available:" in text
    for echo in ("--> [c] check current state", "--> [s] stop", "--> [r] run",
                 "--> [x] connect", "--> [d] reset device", "--> [i] init device",
                 "--> [q] end", "Invalid input: [z]."):
        assert echo in text
    states = [r.getMessage() for r in caplog.records if r.name == "zmtp.device.states"]
    assert "No transition from state RUNNING on transition CONNECT" in states
    assert "No transition from state READY on transition STOP" in states
    assert states.count("READY ---> RUNNING") == 3
    assert "RESETTING DEVICE ---> IDLE" in states and states[-1] == "Exiting FairMQ state machine"


async def test_gui_and_none_wait_for_a_shutdown() -> None:
    for mode, reached in (("gui", State.RUNNING), ("none", State.IDLE)):
        dev = make(Idle, "--id", "g", "--channel-config",
                   f"name=data,type=pull,method=bind,address={inproc()},rateLogging=0")
        with trio.fail_after(10):
            async with trio.open_nursery() as n:
                codes: list[int] = []

                async def go(d: Device, m: str, into: list[int]) -> None:
                    into.append(await run_device(d, m, catch_signals=False))

                n.start_soon(go, dev, mode, codes)
                while dev.state is not reached:
                    await trio.sleep(0.01)
                await trio.sleep(0.05)
                assert not codes  # still waiting
                n.cancel_scope.cancel()


class SyncPair(Device):
    """Plain-def hooks: a worker thread with the *_sync calls."""

    def __init__(self) -> None:
        super().__init__()
        self.got: list[object] = []

    def init_task(self) -> None:
        self.left = self.get_channel("left")
        self.right = self.get_channel("right")

    def run(self) -> None:
        assert self.left.send_sync([b"a", b"", b"c"]) == 2
        assert self.left.send_sync(b"") == 0
        self.got.append(self.right.receive_sync(2000))  # frame by frame
        self.got.append(self.right.receive_sync(2000))
        self.got.append(self.right.receive_parts_sync(2000))  # the rest of the message
        self.got.append(self.right.receive_parts_sync(2000))
        self.got.append(self.right.receive_sync(0))
        self.got.append(self.wait_for_sync(0.01))


async def test_sync_hooks_and_frame_by_frame_receive() -> None:
    addr = inproc()
    dev = make(SyncPair, "--id", "s", "--channel-config",
               f"name=left,type=pair,method=bind,address={addr},rateLogging=0",
               f"name=right,type=pair,method=connect,address={addr},rateLogging=0")
    assert isinstance(dev, SyncPair)
    with trio.fail_after(10):
        assert await run_device(dev, "static", catch_signals=False) == 0
    assert dev.got == [b"a", b"", [b"c"], [b""], -2, True]
    totals = dev.transfer_totals()
    assert totals["left[0]"].msgs_out == 2 and totals["left[0]"].bytes_out == 2
    assert totals["right[0]"].msgs_in == 4  # two frames, then two whole messages


class TwoInputs(Device):
    def __init__(self) -> None:
        super().__init__()
        self.active = 0
        self.overlap = False
        self.seen: list[tuple[str, object]] = []
        self.on_data("a", self.on_a)
        self.on_data("b", self.on_b)

    async def pre_run(self) -> None:
        await self.send(b"1", "out_a")
        await self.send([b"2", b"3"], "out_b")
        await self.send(b"4", "out_a")

    async def _enter(self, name: str, data: object) -> bool:
        self.active += 1
        self.overlap |= self.active > 1
        await trio.sleep(0.01)
        self.seen.append((name, data))
        self.active -= 1
        return len(self.seen) < 3

    async def on_a(self, msg: bytes, index: int) -> bool:
        return await self._enter("a", msg)

    async def on_b(self, parts: Parts, index: int) -> bool:  # Parts: whole messages
        return await self._enter("b", parts)


async def test_on_data_handlers_are_serialised_and_typed_by_annotation() -> None:
    a, b = inproc(), inproc()
    dev = make(TwoInputs, "--id", "t", "--channel-config",
               f"name=a,type=pull,method=bind,address={a},rateLogging=0",
               f"name=b,type=pull,method=bind,address={b},rateLogging=0",
               f"name=out_a,type=push,method=connect,address={a},rateLogging=0",
               f"name=out_b,type=push,method=connect,address={b},rateLogging=0")
    assert isinstance(dev, TwoInputs)
    with trio.fail_after(10):
        assert await run_device(dev, "static", catch_signals=False) == 0
    assert not dev.overlap
    assert sorted(dev.seen, key=str) == sorted(
        [("a", b"1"), ("a", b"4"), ("b", [b"2", b"3"])], key=str)


async def test_interrupted_code_when_a_transition_is_pending() -> None:
    class Blocked(Device):
        code: object = None

        async def run(self) -> None:
            self.change_state("STOP")
            Blocked.code = await self.receive("data", 0, -1)

    dev = make(Blocked, "--id", "b", "--channel-config",
               f"name=data,type=pull,method=bind,address={inproc()},rateLogging=0")
    with trio.fail_after(10):
        assert await run_device(dev, "static", catch_signals=False) == 0
    assert Blocked.code == INTERRUPTED


def test_registry_and_console_scripts_match() -> None:
    tomllib = pytest.importorskip("tomllib")
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    scripts = pyproject["project"]["scripts"]
    for name in DEVICES:
        assert scripts[f"zmtp-{name}"] == f"zmtp.device.scripts:{name.replace('-', '_')}"
        assert issubclass(load_device(f"fairmq-{name}"), Device)
    with pytest.raises(KeyError):
        load_device("ex-nothing")


def test_shipped_topologies_parse_and_name_known_devices() -> None:
    from zmtp.device.config import parse_mq_config

    for name in topology_names():
        top = load_topology(name)
        assert top.processes and top.description
        for p in top.processes:
            load_device(p.device)
            lookup = p.args[p.args.index("--config-key") + 1] if "--config-key" in p.args \
                else p.id
            parsed = parse_mq_config(json.dumps(top.config), lookup)
            assert parsed.properties, (name, p.id)


def test_rewrite_addresses_is_consistent() -> None:
    config = {"a": [{"address": "tcp://*:5555"}, {"address": "@tcp://localhost:5555,"
                                                              "tcp://localhost:5556"}],
              "b": {"address": "ipc:///tmp/x"}}
    ports = iter([40001, 40002])
    free = rewrite_addresses(config, "free", "/t", lambda: next(ports))
    assert free == {"a": [{"address": "tcp://*:40001"},
                          {"address": "@tcp://localhost:40001,tcp://localhost:40002"}],
                    "b": {"address": "ipc:///tmp/x"}}
    ipc = rewrite_addresses(config, "ipc", "/t")
    assert ipc["a"][1]["address"] == "@ipc:///t/5555,ipc:///t/5556"
    assert rewrite_addresses(config, "keep", "/t") is config


def test_console_script_entry_points_run_the_device(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from zmtp.device import scripts
    from zmtp.device.__main__ import _cli

    ignored: list[bool] = []  # keep this process's own signal handlers
    monkeypatch.setattr(scripts, "ignore_late_signals", lambda: ignored.append(True))
    monkeypatch.setattr("sys.argv", ["zmtp-ex-1-1-sampler", "--print-options"])
    with pytest.raises(SystemExit) as exit_info:
        scripts.ex_1_1_sampler()
    assert exit_info.value.code == 0 and ignored == [True]
    out = capsys.readouterr().out
    assert "text:Hello:string:" in out and "max-iterations:0:unsigned long:" in out
    assert _cli(["--list"]) == 0 and "bsampler" in capsys.readouterr().out
    assert _cli(["nothing-here"]) == 1


async def test_change_state_from_a_sync_hook_thread() -> None:
    class Stopper(Device):
        def run(self) -> None:
            assert self.change_state("STOP")
            assert self.new_state_pending()

    dev = make(Stopper, "--id", "st", "--channel-config",
               f"name=data,type=pull,method=bind,address={inproc()},rateLogging=0")
    with trio.fail_after(10):
        assert await run_device(dev, "static", catch_signals=False) == 0
    assert State.READY in dev.history


async def test_get_property_and_connected_peers() -> None:
    addr = inproc()

    seen: dict[str, object] = {}

    class Props(Device):
        async def run(self) -> None:
            seen.update({
                "address": self.get_property("chans.a.0.address"),
                "linger": self.get_property("chans.a.0.linger"),
                "rate": self.get_property("rate"),
                "missing": self.get_property("nothing", "dflt"),
                "peers": self.get_number_of_connected_peers("a"),
            })

    dev = make(Props, "--id", "p", "--rate", "5", "--channel-config",
               f"name=a,type=pair,method=bind,address={addr},rateLogging=0",
               f"name=b,type=pair,method=connect,address={addr},rateLogging=0")
    with trio.fail_after(10):
        assert await run_device(dev, "static", catch_signals=False) == 0
    assert seen == {"address": addr, "linger": 500, "rate": 5.0, "missing": "dflt",
                          "peers": 1}
