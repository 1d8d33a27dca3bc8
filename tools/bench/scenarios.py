"""The scenarios, seen from the orchestrator: which roles run where, in which order.

Each scenario walks its cases (transport, size, ...) and, for every run, every
implementation (or pair of implementations) in turn, so that load from elsewhere on the
machine falls on all of them alike. Every trial is bounded: workers bound their own
receives by the trial's timeout, the orchestrator waits that long plus a grace period
for each step and then kills the trial's workers by PID; the trial counts as failed.
"""

from __future__ import annotations

import itertools
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .control import Worker, WorkerFailed
from .impls import BASELINE
from .pool import Pool, Trial, TrialError

KiB = 1024
MiB = 1024 * 1024
GRACE = 10.0  # orchestrator's patience beyond a worker's own timeout, seconds

SCENARIOS = ("thr", "lat", "tof", "fanout", "router", "inproc", "mem")


@dataclass
class Settings:
    impls: tuple[str, ...] = ("zmtp", "pyzmq")
    runs: int = 5
    quick: bool = False
    transports: tuple[str, ...] = ("tcp", "ipc")
    timeout: float = 20.0  # base per-trial timeout, seconds; grows with the work
    sizes: tuple[int, ...] = (16, 256, 4 * KiB, 64 * KiB, MiB)
    thr_count: int = 100_000
    thr_bytes: int = 512 * MiB  # fewer messages for big sizes: count <= thr_bytes / size
    lat_sizes: tuple[int, ...] = (16, 64 * KiB)
    lat_count: int = 5_000
    tof_sizes: tuple[int, ...] = (16,)
    tof_count: int = 3_000
    tof_rate: float = 5_000.0  # messages/s from the sampler; 0 = as fast as it can
    fanout_subs: int = 10
    fanout_procs: int = 1  # subscriber processes the subs are spread over
    fanout_count: int = 20_000
    fanout_size: int = 16
    fanout_hwm: int = 0  # 0: sndhwm/rcvhwm = count + 1000, nothing dropped (checked)
    router_dealers: int = 200
    router_per_dealer: int = 50
    router_size: int = 16
    mem_hwm: int = 1000
    mem_size: int = MiB
    mem_idle: int = 1000
    tmpdir: str = "/tmp"

    @classmethod
    def quick_preset(cls, **kw: Any) -> Settings:
        """Tiny counts: every scenario in a few seconds, for CI (counts are asserted)."""
        base: dict[str, Any] = dict(
            runs=1,
            quick=True,
            timeout=10.0,
            thr_count=200,
            thr_bytes=4 * MiB,
            lat_count=50,
            tof_count=50,
            tof_rate=2_000.0,
            fanout_count=100,
            router_dealers=20,
            router_per_dealer=2,
            mem_hwm=20,
            mem_idle=50,
        )
        base.update(kw)
        return cls(**base)

    def thr_count_for(self, size: int) -> int:
        return max(4, min(self.thr_count, self.thr_bytes // max(size, 1)))

    def trial_timeout(self, messages: int, nbytes: int = 0) -> float:
        """Generous: 50 us per message and 20 MB/s on top of the base timeout."""
        return self.timeout + messages * 50e-6 + nbytes / 20e6


# ------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class MetricSpec:
    unit: str
    higher_is_better: bool | None  # None: informative only


METRICS: dict[str, MetricSpec] = {
    "msg/s": MetricSpec("msg/s", True),
    "MB/s": MetricSpec("MB/s", True),
    "median": MetricSpec("us", False),
    "p99": MetricSpec("us", False),
    "rt/s": MetricSpec("rt/s", True),
    "delivered": MetricSpec("msg/s", True),
    "loss": MetricSpec("%", False),
    "RSS": MetricSpec("MiB", False),
    "per conn": MetricSpec("KiB", False),
    "client RSS": MetricSpec("MiB", False),
    "sent till full": MetricSpec("msgs", None),
}


@dataclass
class Cell:
    """All runs of one scenario/case/implementation(s)."""

    scenario: str
    case: str
    roles: tuple[str, ...]  # implementation per role, e.g. (sender, receiver)
    params: dict[str, Any]
    values: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return "->".join(self.roles)

    @property
    def is_baseline(self) -> bool:
        return all(r == BASELINE for r in self.roles)


class Results:
    def __init__(self) -> None:
        self.cells: dict[tuple[str, str, tuple[str, ...]], Cell] = {}
        self.trials = 0

    def cell(
        self, scenario: str, case: str, roles: tuple[str, ...], params: dict[str, Any]
    ) -> Cell:
        key = (scenario, case, roles)
        if key not in self.cells:
            self.cells[key] = Cell(scenario, case, roles, params)
        return self.cells[key]

    def baseline(self, c: Cell) -> Cell | None:
        roles = tuple(BASELINE for _ in c.roles)
        return self.cells.get((c.scenario, c.case, roles))

    @property
    def failures(self) -> list[tuple[Cell, str]]:
        return [(c, f) for c in self.cells.values() for f in c.failures]


# ------------------------------------------------------------------------------ the runner


def size_label(n: int) -> str:
    if n >= MiB and n % MiB == 0:
        return f"{n // MiB} MiB"
    if n >= KiB and n % KiB == 0:
        return f"{n // KiB} KiB"
    return f"{n} B"


class Runner:
    def __init__(
        self, settings: Settings, pool: Pool, results: Results, log: Callable[[str], None]
    ) -> None:
        self.s = settings
        self.pool = pool
        self.results = results
        self.log = log

    def endpoint(self, transport: str) -> str:
        if transport == "tcp":
            return "tcp://127.0.0.1:*"
        if transport == "ipc":
            return f"ipc://{os.path.join(self.s.tmpdir, uuid.uuid4().hex[:12])}.sock"
        raise ValueError(f"unknown transport {transport!r}")

    def pure(self) -> list[tuple[str, ...]]:
        """Each implementation against itself, baseline first."""
        return sorted(((i,) for i in self.s.impls), key=lambda r: r[0] != BASELINE)

    def pairs(self) -> list[tuple[str, str]]:
        """Every (sender, receiver) pair: pure pairs first, baseline first, then mixed."""
        ps = [(a, b) for a in self.s.impls for b in self.s.impls]
        return sorted(ps, key=lambda p: (p[0] != p[1], p != (BASELINE, BASELINE)))

    def runs(self) -> Iterator[int]:
        return iter(range(self.s.runs))

    def trial(
        self,
        scenario: str,
        case: str,
        roles: tuple[str, ...],
        params: dict[str, Any],
        run: int,
        body: Callable[[Trial], dict[str, float]],
    ) -> None:
        cell = self.results.cell(scenario, case, roles, params)
        self.results.trials += 1
        tag = f"{scenario:7} {case:24} {cell.label:14} run {run + 1}/{self.s.runs}"
        try:
            with Trial(self.pool) as t:
                values = body(t)
        except (WorkerFailed, TrialError) as e:
            msg = str(e)
            cell.failures.append(msg)
            self.log(f"  {tag}: FAILED: {msg}")
            return
        for k, v in values.items():
            cell.values.setdefault(k, []).append(v)
        shown = ", ".join(f"{k} {fmt(k, v)}" for k, v in values.items() if k in METRICS)
        self.log(f"  {tag}: {shown}")

    # -------------------------------------------------------------------- thr / inproc

    def thr(self) -> None:
        for transport, size in itertools.product(self.s.transports, self.s.sizes):
            count = self.s.thr_count_for(size)
            case = f"{transport} {size_label(size)}"
            tmo = self.s.trial_timeout(count, count * size)
            params = {"transport": transport, "size": size, "count": count}
            for run in self.runs():
                for snd_impl, rcv_impl in self.pairs():

                    def body(t: Trial, snd_impl: str = snd_impl, rcv_impl: str = rcv_impl,
                             transport: str = transport, size: int = size, count: int = count,
                             tmo: float = tmo) -> dict[str, float]:
                        snd, rcv = t.get((snd_impl, "a"), (rcv_impl, "b"))
                        rcv.run("thr_recv", endpoint=self.endpoint(transport), count=count,
                                size=size, timeout=tmo)
                        ep = rcv.expect("bound", GRACE)["endpoint"]
                        snd.run("thr_send", endpoint=ep, count=count, size=size, timeout=tmo)
                        snd.expect("sent", tmo + GRACE)
                        res = rcv.expect("done", tmo + GRACE)
                        snd.send("release")
                        snd.expect("done", GRACE)
                        return throughput(res, count, size)

                    self.trial("thr", case, (snd_impl, rcv_impl), params, run, body)

    def inproc(self) -> None:
        for size in self.s.sizes:
            count = self.s.thr_count_for(size)
            tmo = self.s.trial_timeout(count, count * size)
            params = {"transport": "inproc", "size": size, "count": count}
            for run in self.runs():
                for roles in self.pure():

                    def body(t: Trial, impl: str = roles[0], size: int = size,
                             count: int = count, tmo: float = tmo) -> dict[str, float]:
                        (w,) = t.get((impl, "a"))
                        w.run("inproc", count=count, size=size, timeout=tmo)
                        return throughput(w.expect("done", tmo + GRACE), count, size)

                    self.trial("inproc", size_label(size), roles, params, run, body)

    # -------------------------------------------------------------------------- lat

    def lat(self) -> None:
        for transport, size in itertools.product(self.s.transports, self.s.lat_sizes):
            count = self.s.lat_count
            warmup = max(1, min(count // 10, 200))
            tmo = self.s.trial_timeout(4 * (count + warmup), 2 * (count + warmup) * size)
            params = {"transport": transport, "size": size, "count": count, "warmup": warmup}
            for run in self.runs():
                for roles in self.pure():

                    def body(t: Trial, impl: str = roles[0], transport: str = transport,
                             size: int = size, tmo: float = tmo, count: int = count,
                             warmup: int = warmup) -> dict[str, float]:
                        req, rep = t.get((impl, "a"), (impl, "b"))
                        rep.run("lat_rep", endpoint=self.endpoint(transport),
                                count=count + warmup, timeout=tmo)
                        ep = rep.expect("bound", GRACE)["endpoint"]
                        req.run("lat_req", endpoint=ep, count=count, warmup=warmup, size=size,
                                timeout=tmo)
                        res = req.expect("done", tmo + GRACE)
                        rep.send("release")
                        served = rep.expect("done", GRACE)["served"]
                        check("round trips", res["n"], count)
                        check("requests served", served, count + warmup)
                        return {"median": res["median_us"], "p99": res["p99_us"],
                                "rt/s": count / (res["elapsed_ns"] / 1e9)}

                    self.trial("lat", f"{transport} {size_label(size)}", roles, params, run,
                               body)

    # -------------------------------------------------------------------------- tof

    def tof(self) -> None:
        for transport, size in itertools.product(self.s.transports, self.s.tof_sizes):
            count = self.s.tof_count
            warmup = max(1, min(count // 10, 200))
            total = count + warmup
            rate = self.s.tof_rate
            tmo = self.s.trial_timeout(3 * total, 2 * total * size)
            if rate > 0:
                tmo += total / rate
            params = {"transport": transport, "size": size, "count": count,
                      "warmup": warmup, "rate": rate}
            case = f"{transport} {size_label(size)} @{rate:g}/s" if rate else \
                f"{transport} {size_label(size)} flood"
            for run in self.runs():
                for roles in self.pure():

                    def body(t: Trial, impl: str = roles[0], transport: str = transport,
                             size: int = size, tmo: float = tmo, count: int = count,
                             warmup: int = warmup, total: int = total,
                             rate: float = rate) -> dict[str, float]:
                        src, relay, sink = t.get((impl, "a"), (impl, "b"), (impl, "c"))
                        sink.run("tof_sink", endpoint=self.endpoint(transport), count=count,
                                 warmup=warmup, timeout=tmo)
                        ep_sink = sink.expect("bound", GRACE)["endpoint"]
                        src.run("tof_source", endpoint=self.endpoint(transport), count=total,
                                size=size, rate=rate, timeout=tmo)
                        ep_src = src.expect("bound", GRACE)["endpoint"]
                        relay.run("tof_relay", src=ep_src, dst=ep_sink, count=total,
                                  timeout=tmo)
                        relay.expect("ready", GRACE)
                        src.send("go")
                        src.expect("sent", tmo + GRACE)
                        relay.expect("forwarded", tmo + GRACE)
                        res = sink.expect("done", tmo + GRACE)
                        for w in (src, relay):
                            w.send("release")
                            w.expect("done", GRACE)
                        check("messages at the sink", res["n"], count)
                        return {"median": res["median_us"], "p99": res["p99_us"]}

                    self.trial("tof", case, roles, params, run, body)

    # ----------------------------------------------------------------------- fanout

    def fanout(self) -> None:
        nsubs, nprocs = self.s.fanout_subs, max(1, min(self.s.fanout_procs, self.s.fanout_subs))
        split = [nsubs // nprocs + (1 if i < nsubs % nprocs else 0) for i in range(nprocs)]
        count, size = self.s.fanout_count, self.s.fanout_size
        # Lossless unless --fanout-hwm: queues deep enough for the whole burst, so the
        # figure is what the subscribers can take, not what the PUB drops.
        hwm = self.s.fanout_hwm or count + 1000
        tmo = self.s.trial_timeout(count * nsubs, count * nsubs * size)
        for transport in self.s.transports:
            case = f"{transport} 1->{nsubs} {size_label(size)}"
            params = {"transport": transport, "size": size, "count": count, "subs": nsubs,
                      "sub_processes": nprocs, "hwm": hwm}
            for run in self.runs():
                for roles in self.pure():

                    def body(t: Trial, impl: str = roles[0],
                             transport: str = transport) -> dict[str, float]:
                        pub, *subs = t.get((impl, "a"), *((impl, f"s{i}") for i in range(nprocs)))
                        pub.run("pub", endpoint=self.endpoint(transport), count=count,
                                size=size, hwm=hwm, timeout=tmo)
                        ep = pub.expect("bound", GRACE)["endpoint"]
                        for w, n in zip(subs, split, strict=True):
                            w.run("sub", endpoint=ep, nsocks=n, hwm=hwm, timeout=tmo)
                        for w in subs:
                            w.expect("ready", GRACE + self.s.timeout)
                        pub.send("go")
                        pub.expect("sent", tmo + GRACE)
                        res = [w.expect("done", tmo + GRACE) for w in subs]
                        pub.send("release")
                        pub.expect("done", GRACE)
                        delivered = sum(sum(r["counts"]) for r in res)
                        span = max(r["end_ns"] for r in res) - min(
                            r["first_ns"] for r in res if r["first_ns"])
                        loss = 100.0 * (1 - delivered / (count * nsubs))
                        if self.s.quick or not self.s.fanout_hwm:
                            check("messages delivered to all subscribers", delivered,
                                  count * nsubs)
                        return {"delivered": delivered / (span / 1e9), "loss": loss}

                    self.trial("fanout", case, roles, params, run, body)

    # ----------------------------------------------------------------------- router

    def router(self) -> None:
        nd, per, size = self.s.router_dealers, self.s.router_per_dealer, self.s.router_size
        total = nd * (per + 1)
        tmo = self.s.trial_timeout(4 * total, 2 * total * size) + nd * 0.01
        for transport in self.s.transports:
            case = f"{transport} {nd} dealers"
            params = {"transport": transport, "dealers": nd, "per_dealer": per, "size": size}
            for run in self.runs():
                for roles in self.pure():

                    def body(t: Trial, impl: str = roles[0],
                             transport: str = transport) -> dict[str, float]:
                        dealers, router = t.get((impl, "a"), (impl, "b"))
                        router.run("router", endpoint=self.endpoint(transport), count=total,
                                   timeout=tmo)
                        ep = router.expect("bound", GRACE)["endpoint"]
                        dealers.run("dealers", endpoint=ep, ndealers=nd, per_dealer=per,
                                    size=size, timeout=tmo)
                        dealers.expect("ready", tmo + GRACE)
                        res = dealers.expect("done", tmo + GRACE)
                        router.send("release")
                        served = router.expect("done", GRACE)["served"]
                        check("round trips", res["round_trips"], nd * per)
                        check("requests served", served, total)
                        return {"rt/s": res["round_trips"] / (res["elapsed_ns"] / 1e9)}

                    self.trial("router", case, roles, params, run, body)

    # ---------------------------------------------------------------------------- mem

    def mem(self) -> None:
        hwm, size, n = self.s.mem_hwm, self.s.mem_size, self.s.mem_idle
        sndhwm = 10
        tmo_hold = self.s.trial_timeout(4 * hwm, 4 * hwm * size)
        tmo_idle = self.s.trial_timeout(n) + n * 0.02
        hold_case = f"rcvhwm {hwm} x {size_label(size)}"
        idle_case = f"{n} idle tcp conns"
        for run in self.runs():
            for roles in self.pure():

                def hold(t: Trial, impl: str = roles[0]) -> dict[str, float]:
                    rcv, snd = t.fresh((impl, "hold"), (impl, "fill"))
                    rcv.run("mem_hold", endpoint=self.endpoint("tcp"), rcvhwm=hwm,
                            timeout=tmo_hold)
                    bound = rcv.expect("bound", GRACE)
                    snd.run("mem_fill", endpoint=bound["endpoint"], size=size, sndhwm=sndhwm,
                            timeout=tmo_hold)
                    sent = snd.expect("full", tmo_hold + GRACE)["sent"]
                    rcv.send("measure")
                    rss = rcv.expect("measured", GRACE)["rss"]
                    rcv.send("drain", n=sent)
                    rcv.expect("done", tmo_hold + GRACE)
                    snd.send("release")
                    snd.expect("done", GRACE)
                    if sent < hwm:
                        raise TrialError(f"only {sent} messages went out before the sender "
                                         f"blocked: rcvhwm {hwm} was not reached")
                    return {"RSS": (rss - bound["rss"]) / MiB, "sent till full": float(sent)}

                self.trial("mem", hold_case, roles,
                           {"rcvhwm": hwm, "size": size, "sndhwm": sndhwm}, run, hold)

                def idle(t: Trial, impl: str = roles[0]) -> dict[str, float]:
                    srv, cli = t.fresh((impl, "idle-bind"), (impl, "idle-connect"))
                    srv.run("mem_idle_bind", endpoint=self.endpoint("tcp"), n=n,
                            timeout=tmo_idle)
                    bound = srv.expect("bound", GRACE)
                    cli.run("mem_idle_connect", endpoint=bound["endpoint"], n=n,
                            timeout=tmo_idle)
                    conn = cli.expect("connected", tmo_idle + GRACE)
                    rss = srv.expect("measured", tmo_idle + GRACE)["rss"]
                    for w in (srv, cli):
                        w.send("release")
                    srv.expect("done", GRACE)
                    cli.expect("done", GRACE)
                    delta = rss - bound["rss"]
                    return {"RSS": delta / MiB, "per conn": delta / n / KiB,
                            "client RSS": (conn["rss"] - conn["rss_base"]) / MiB}

                self.trial("mem", idle_case, roles, {"connections": n}, run, idle)

    def run(self, scenario: str) -> None:
        getattr(self, scenario)()


# ------------------------------------------------------------------------------- helpers


def check(what: str, got: Any, want: Any) -> None:
    if got != want:
        raise TrialError(f"{what}: got {got}, expected {want}")


def throughput(res: dict[str, Any], count: int, size: int) -> dict[str, float]:
    check("messages received", res["received"], count + 1)
    check("size of the last message", res["last_len"], size)
    secs = res["elapsed_ns"] / 1e9
    if secs <= 0:
        raise TrialError("no time elapsed: the count is too small to time")
    return {"msg/s": count / secs, "MB/s": count * size / secs / 1e6}


def si(x: float) -> str:
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{suffix}"
    return f"{x:.3g}"


def fmt(metric: str, v: float) -> str:
    unit = METRICS[metric].unit if metric in METRICS else ""
    if unit in ("msg/s", "rt/s", "msgs"):
        return si(v)
    if unit == "%":
        return f"{v:.2f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"


def log_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


__all__ = [
    "SCENARIOS",
    "Cell",
    "METRICS",
    "Results",
    "Runner",
    "Settings",
    "Worker",
    "fmt",
    "log_stderr",
    "size_label",
]
