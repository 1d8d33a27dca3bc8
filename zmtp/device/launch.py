"""Start a topology of devices as separate processes from one JSON file, and stop them.

``python -m zmtp.device.launch ex-1-n-1`` (or a path to a topology file) does what
FairMQ's example test scripts do: start every device of the topology in the background
with ``--control static --color false``, wait for those that end by themselves (bounded
``--max-iterations``), then stop the endless ones with SIGINT, collect every exit code,
and print a summary of the messages that went through. Ctrl-C stops everything cleanly
(SIGINT to each child, SIGKILL only to a child that ignores it); only the launcher's own
children are ever signalled, by PID.

A topology file is FairMQ's schema (``fairMQOptions.devices``) plus a ``launch``
section::

    "launch": {"description": "...",
               "processes": [{"device": "ex-1-n-1-sampler", "id": "sampler1",
                              "args": ["--max-iterations", "4"]},
                             {"device": "ex-1-n-1-processor", "id": "processor1",
                              "args": ["--config-key", "processor"], "stop": "signal"}]}

tcp ports in the file are replaced by free ones (``--addresses free``, default) or the
endpoints by ipc paths in a temporary directory (``--addresses ipc``), so that several
topologies can run side by side; ``--addresses keep`` uses the file as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import trio

from .runner import STATS_ENV

__all__ = ["Process", "Topology", "find_topology", "launch", "load_topology", "main",
           "rewrite_addresses", "topology_names"]

TOPOLOGY_DIR = Path(__file__).parent / "topologies"
_TCP = re.compile(r"^(?P<mod>[@+>]?)tcp://(?P<host>[^:/]+):(?P<port>\d+)$")


@dataclass
class Process:
    """One device process of a topology."""

    device: str
    id: str
    args: list[str] = field(default_factory=list)
    #: "self": ends by itself (bounded iterations); "signal": stopped with SIGINT
    stop: str = "self"
    exit_code: int | None = None
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass
class Topology:
    name: str
    description: str
    config: dict[str, Any]
    processes: list[Process]


def topology_names() -> list[str]:
    """The topologies shipped with zmtp (``ex-1-1``, ``ex-1-n-1``...)."""
    return sorted(p.stem for p in TOPOLOGY_DIR.glob("*.json"))


def find_topology(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".json" or path.exists():
        if not path.is_file():
            raise FileNotFoundError(f"no topology file {name_or_path}")
        return path
    shipped = TOPOLOGY_DIR / f"{name_or_path}.json"
    if not shipped.is_file():
        raise FileNotFoundError(f"unknown topology '{name_or_path}' (shipped: "
                                f"{', '.join(topology_names())}; or give a .json path)")
    return shipped


def load_topology(name_or_path: str) -> Topology:
    path = find_topology(name_or_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    launch = data.get("launch")
    if not isinstance(launch, dict) or not isinstance(launch.get("processes"), list):
        raise ValueError(f"{path}: no 'launch.processes' list: not a topology file")
    processes = []
    for i, p in enumerate(launch["processes"]):
        try:
            processes.append(Process(str(p["device"]), str(p["id"]),
                                     [str(a) for a in p.get("args", [])],
                                     str(p.get("stop", "self"))))
        except (KeyError, TypeError) as e:
            raise ValueError(f"{path}: launch.processes[{i}]: missing {e}") from None
    config = {k: v for k, v in data.items() if k != "launch"}
    return Topology(path.stem, str(launch.get("description", "")), config, processes)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rewrite_addresses(config: Any, mode: str, tmpdir: str,
                      free_port: Callable[[], int] = _free_port) -> Any:
    """A copy of ``config`` with every tcp port of every ``address`` replaced
    consistently (``free``: by a free port; ``ipc``: the endpoint by an ipc path in
    ``tmpdir``); ``keep`` returns it unchanged."""
    if mode == "keep":
        return config
    ports: dict[str, str] = {}

    def endpoint(text: str) -> str:
        m = _TCP.match(text)
        if m is None:
            return text
        port = m["port"]
        if mode == "ipc":
            return f"{m['mod']}ipc://{tmpdir}/{port}"
        if port not in ports:
            ports[port] = str(free_port())
        return f"{m['mod']}tcp://{m['host']}:{ports[port]}"

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: (",".join(endpoint(e) for e in v.split(","))
                        if k == "address" and isinstance(v, str) else walk(v))
                    for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(config)


def _with_max_iterations(args: list[str], value: int | None) -> list[str]:
    if value is None:
        return args
    out = list(args)
    for i, a in enumerate(out[:-1]):
        if a == "--max-iterations":
            out[i + 1] = str(value)
    return out


class _Launch:
    def __init__(self, topology: Topology, out: TextIO, *, extra: Sequence[str],
                 addresses: str, timeout: float, max_iterations: int | None,
                 quiet: bool) -> None:
        self.top = topology
        self.out = out
        self.extra = list(extra)
        self.addresses = addresses
        self.timeout = timeout
        self.max_iterations = max_iterations
        self.quiet = quiet
        self.width = max(len(p.id) for p in topology.processes)
        self.procs: dict[str, trio.Process] = {}
        self.exited: dict[str, trio.Event] = {}
        self.timed_out = False
        self.interrupted = False
        self.interrupted_ids: set[str] = set()

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def run(self) -> int:
        tmpdir = tempfile.mkdtemp(prefix="zmtp-launch-")
        try:
            return await self._run(tmpdir)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)

    async def _run(self, tmpdir: str) -> int:
        config = rewrite_addresses(self.top.config, self.addresses, tmpdir)
        config_path = os.path.join(tmpdir, f"{self.top.name}.json")
        with open(config_path, "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2)
        self.say(f"launching {self.top.name}: {self.top.description}")
        started = time.monotonic()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._watch_signals, nursery.cancel_scope)
            async with trio.open_nursery() as children:
                for p in self.top.processes:
                    await children.start(self._child, p, config_path, tmpdir)
                with trio.move_on_after(self.timeout) as deadline:
                    for p in self.top.processes:
                        if p.stop != "signal":
                            await self.exited[p.id].wait()
                if deadline.cancelled_caught:
                    self.timed_out = True
                    self.say(f"timeout: the topology did not end within {self.timeout:g} s")
                await self._stop_all(only_signal=not self.timed_out)
            nursery.cancel_scope.cancel()
        elapsed = time.monotonic() - started
        return self._summary(elapsed)

    async def _child(self, p: Process, config_path: str, tmpdir: str,
                     task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        cmd = [sys.executable, "-m", "zmtp.device", p.device, "--id", p.id,
               "--mq-config", config_path, "--control", "static", "--color", "false",
               *_with_max_iterations(p.args, self.max_iterations), *self.extra]
        stats = os.path.join(tmpdir, f"{p.id}.stats.json")
        env = dict(os.environ, PYTHONUNBUFFERED="1", **{STATS_ENV: stats})
        proc = await trio.lowlevel.open_process(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, start_new_session=True)  # own session: a terminal's Ctrl-C reaches
        # the launcher only, which then signals each child exactly once
        self.procs[p.id] = proc
        self.exited[p.id] = trio.Event()
        self.say(f"{p.id:<{self.width}} | started: {p.device} (pid {proc.pid})")
        task_status.started()
        assert proc.stdout is not None
        buffer = b""
        async with proc.stdout:
            while True:
                chunk = await proc.stdout.receive_some(65536)
                if not chunk:
                    break
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    self._print_line(p.id, line)
        if buffer:
            self._print_line(p.id, buffer)
        p.exit_code = await proc.wait()
        try:
            with open(stats, encoding="utf-8") as f:
                p.stats = json.load(f)
        except (OSError, ValueError):
            p.stats = {}
        self.say(f"{p.id:<{self.width}} | exited with code {p.exit_code}")
        self.exited[p.id].set()

    def _print_line(self, ident: str, line: bytes) -> None:
        if not self.quiet:
            self.say(f"{ident:<{self.width}} | {line.decode(errors='replace').rstrip()}")

    async def _stop_all(self, *, only_signal: bool) -> None:
        """SIGINT to the children still running (the endless ones, or all), SIGKILL to
        those still there 10 s later."""
        running = [p for p in self.top.processes
                   if p.exit_code is None and not self.exited[p.id].is_set()
                   and (p.stop == "signal" or not only_signal)]
        for p in running:
            self._signal(p, signal.SIGINT)
        with trio.move_on_after(10):
            for p in running:
                await self.exited[p.id].wait()
        for p in running:
            if not self.exited[p.id].is_set():
                self._signal(p, signal.SIGKILL)
        for p in self.top.processes:
            await self.exited[p.id].wait()

    def _signal(self, p: Process, signum: int) -> None:
        """Signal one child by PID; SIGINT at most once (a second one would abort it)."""
        proc = self.procs[p.id]
        if signum == signal.SIGINT:
            if p.id in self.interrupted_ids:
                return
            self.interrupted_ids.add(p.id)
        if proc.returncode is None:
            try:
                proc.send_signal(signum)  # by PID: only our own child
            except ProcessLookupError:
                pass

    async def _watch_signals(self, scope: trio.CancelScope) -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            count = 0
            async for _ in signals:
                count += 1
                self.interrupted = True
                if count == 1:
                    self.say("launcher: stopping every device (Ctrl-C again to kill them)")
                    for p in self.top.processes:
                        if p.id in self.procs:
                            self._signal(p, signal.SIGINT)
                else:
                    for p in self.top.processes:
                        if p.id in self.procs:
                            self._signal(p, signal.SIGKILL)

    def _summary(self, elapsed: float) -> int:
        rows: list[tuple[str, ...]] = []
        sent = received = 0
        for p in self.top.processes:
            channels = p.stats.get("channels", {}) if isinstance(p.stats, dict) else {}
            if not channels:
                rows.append((p.id, p.device, str(p.exit_code), "-", "", "", "", ""))
            for i, (name, c) in enumerate(sorted(channels.items())):
                sent += int(c.get("msgs_out", 0))
                received += int(c.get("msgs_in", 0))
                rows.append((p.id if i == 0 else "", p.device if i == 0 else "",
                             str(p.exit_code) if i == 0 else "", name,
                             str(c.get("msgs_in", 0)), str(c.get("msgs_out", 0)),
                             str(c.get("bytes_in", 0)), str(c.get("bytes_out", 0))))
        header = ("process", "device", "exit", "sub-channel", "msgs in", "msgs out",
                  "bytes in", "bytes out")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        self.say("")
        self.say(f"summary of {self.top.name} ({len(self.top.processes)} processes, "
                 f"{elapsed:.1f} s):")
        for r in [header, *rows]:
            cells = [r[i].ljust(widths[i]) if i < 4 else r[i].rjust(widths[i])
                     for i in range(len(r))]
            self.say("  " + "  ".join(cells).rstrip())
        self.say(f"messages through the topology: {sent} sent, {received} received")
        failed = [p for p in self.top.processes if p.exit_code != 0]
        if self.timed_out or failed:
            names = ", ".join(f"{p.id} ({p.exit_code})" for p in failed)
            self.say("FAILED: " + (f"exit codes {names}" if failed else "timeout")
                     + ("; timed out" if self.timed_out and failed else ""))
            return 1
        self.say(f"all {len(self.top.processes)} processes exited with code 0")
        return 130 if self.interrupted else 0


async def launch(topology: Topology, *, out: TextIO | None = None,
                 extra: Sequence[str] = (), addresses: str = "free", timeout: float = 60.0,
                 max_iterations: int | None = None, quiet: bool = False) -> int:
    """Run ``topology`` to its end; 0 if every process exited 0."""
    return await _Launch(topology, out if out is not None else sys.stdout, extra=extra,
                         addresses=addresses, timeout=timeout,
                         max_iterations=max_iterations, quiet=quiet).run()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zmtp.device.launch",
        description="Run a topology of FairMQ-compatible devices, each in its own process, "
                    "until it ends by itself; print a summary.",
        epilog="options after -- are given to every device. shipped topologies: "
               + " ".join(topology_names()))
    parser.add_argument("topology", nargs="?", default="ex-1-n-1",
                        help="a shipped topology name or a topology JSON file")
    parser.add_argument("--addresses", choices=("free", "ipc", "keep"), default="free",
                        help="tcp ports -> free ports (default), endpoints -> ipc paths, "
                             "or keep the file's addresses")
    parser.add_argument("--max-iterations", type=int, default=None,
                        help="override every device's --max-iterations")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds before everything is stopped (default 60)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only the summary, not the devices' output")
    parser.add_argument("--list", action="store_true", help="list shipped topologies")
    args = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in args:  # everything after -- goes to every device
        cut = args.index("--")
        args, extra = args[:cut], args[cut + 1:]
    ns = parser.parse_args(args)
    if ns.list:
        for name in topology_names():
            print(f"{name:24} {load_topology(name).description}")
        return 0
    try:
        topology = load_topology(ns.topology)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return trio.run(lambda: launch(topology, extra=extra, addresses=ns.addresses,
                                   timeout=ns.timeout, max_iterations=ns.max_iterations,
                                   quiet=ns.quiet))


if __name__ == "__main__":
    sys.exit(main())
