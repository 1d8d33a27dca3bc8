"""``python -m tools.bench``: zmtp and pyzmq side by side, in one run.

Progress goes to stderr; the table (or with ``--json``, the JSON document) to stdout.
Exit status: 0 if every trial succeeded, 1 if any failed (a count mismatch, a timeout,
a crash), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from . import impls as registry
from .pool import Pool
from .scenarios import (
    METRICS,
    SCENARIOS,
    Cell,
    Results,
    Runner,
    Settings,
    fmt,
    log_stderr,
    size_label,
)
from .stats import spread

DESCRIPTIONS = {
    "thr": "PUSH->PULL throughput; sender and receiver in separate processes; the "
    "receiver times from its first message to its last. sender->receiver; mixed pairs "
    "show each side's cost alone.",
    "lat": "REQ/REP round trip, client and server in separate processes (microseconds).",
    "tof": "time of flight through sampler->processor->sink (PUSH/PULL, 3 processes), "
    "paced sampler; send to arrival on the system-wide monotonic clock (microseconds).",
    "fanout": "one PUB to {subs} SUB sockets in {procs} other process(es); messages/s "
    "delivered in total, from the first data message to the end marker; HWMs deep enough "
    "for the burst (lossless, checked) unless --fanout-hwm; loss = PUB drops at HWM.",
    "router": "one ROUTER, {dealers} DEALER sockets (one connection each) in another "
    "process, one request in flight per dealer; round trips/s.",
    "inproc": "PUSH->PULL over inproc:// in one process (pyzmq: sender on a thread; "
    "zmtp: two trio tasks).",
    "mem": "RSS growth: a PULL with rcvhwm messages queued (the sender pushed until it "
    "blocked), and a PULL with idle tcp connections (client RSS: the process holding "
    "the connecting sockets, one socket per connection).",
}


def parse_list(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def parse_size(text: str) -> int:
    t = text.strip().lower().replace(" ", "")
    for suffix, mult in (("kib", 1024), ("k", 1024), ("mib", 1 << 20), ("m", 1 << 20),
                         ("b", 1)):
        if t.endswith(suffix):
            return int(float(t[: -len(suffix)]) * mult)
    return int(t)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.bench",
        description="Benchmark zmtp against pyzmq (libzmq), side by side, in one run.",
        epilog="Scenarios: " + ", ".join(SCENARIOS) + ". Implementations: "
        + ", ".join(registry.REGISTRY) + ". See README.md, section Performance.",
    )
    p.add_argument("--scenario", "-s", action="append", default=None, metavar="NAME[,NAME]",
                   help="scenarios to run (repeatable, comma-separated; default: all)")
    p.add_argument("--impl", default="both", metavar="NAME[,NAME]",
                   help="implementations: 'both' (zmtp,pyzmq; the default), or names from: "
                   + ", ".join(registry.REGISTRY))
    p.add_argument("--runs", type=int, default=None,
                   help="runs per figure; the median is reported (default 5, --quick 1)")
    p.add_argument("--quick", action="store_true",
                   help="smoke mode for CI: tiny counts, every scenario, counts asserted")
    p.add_argument("--transport", default="tcp,ipc", metavar="tcp,ipc",
                   help="transports for the socket scenarios (default: tcp,ipc)")
    p.add_argument("--sizes", default=None, metavar="LIST",
                   help="message sizes for thr/inproc, e.g. 16,256,4k,64k,1m")
    p.add_argument("--count", type=int, default=None,
                   help="thr/inproc messages per trial (capped at 512 MiB of payload)")
    p.add_argument("--lat-count", type=int, default=None, help="lat round trips per trial")
    p.add_argument("--tof-count", type=int, default=None, help="tof messages per trial")
    p.add_argument("--tof-rate", type=float, default=None,
                   help="tof sampler rate in msg/s (default 5000; 0 = flood)")
    p.add_argument("--fanout-procs", type=int, default=None,
                   help="processes the 10 SUB sockets are spread over (default 1)")
    p.add_argument("--fanout-hwm", type=int, default=None,
                   help="PUB sndhwm / SUB rcvhwm for fanout (default: deep enough that "
                   "nothing is dropped; set e.g. 1000 to measure with drops)")
    p.add_argument("--timeout", type=float, default=None,
                   help="base per-trial timeout in seconds (grows with the work)")
    p.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                   help="write the results as JSON to FILE, or to stdout instead of the table")
    p.add_argument("--plot", default=None, metavar="FILE.png",
                   help="plot thr throughput against message size (needs matplotlib)")
    p.add_argument("--list", action="store_true",
                   help="list implementations and whether they can run here, then exit")
    p.add_argument("--quiet", "-q", action="store_true", help="no per-trial progress")
    return p


def resolve_impls(text: str) -> tuple[list[str], list[str]]:
    """(implementations to run, warnings). Raises SystemExit(2) on a bad explicit choice."""
    explicit = text != "both"
    names = list(registry.DEFAULT) if not explicit else parse_list(text)
    out, warnings = [], []
    for n in names:
        spec = registry.REGISTRY.get(n)
        if spec is None:
            raise SystemExit(f"error: unknown implementation {n!r}; "
                             f"choose from {', '.join(registry.REGISTRY)} or 'both'")
        missing = spec.missing()
        if missing:
            if explicit:
                raise SystemExit(f"error: {n} cannot run here: {missing}")
            warnings.append(f"{n}: skipped ({missing})")
            continue
        out.append(n)
    if not out:
        raise SystemExit("error: no implementation can run here")
    return out, warnings


def make_settings(args: argparse.Namespace, impls: list[str], tmpdir: str) -> Settings:
    kw: dict[str, Any] = {"impls": tuple(impls), "tmpdir": tmpdir,
                          "transports": tuple(parse_list(args.transport))}
    for t in kw["transports"]:
        if t not in ("tcp", "ipc"):
            raise SystemExit(f"error: unknown transport {t!r} (tcp, ipc; inproc is its own "
                             "scenario)")
    if args.runs is not None:
        if args.runs < 1:
            raise SystemExit("error: --runs must be at least 1")
        kw["runs"] = args.runs
    if args.sizes:
        kw["sizes"] = tuple(parse_size(x) for x in parse_list(args.sizes))
    for opt, key in (("count", "thr_count"), ("lat_count", "lat_count"),
                     ("tof_count", "tof_count"), ("tof_rate", "tof_rate"),
                     ("fanout_procs", "fanout_procs"), ("fanout_hwm", "fanout_hwm"),
                     ("timeout", "timeout")):
        v = getattr(args, opt)
        if v is not None:
            kw[key] = v
    return Settings.quick_preset(**kw) if args.quick else Settings(**kw)


# --------------------------------------------------------------------------------- output


def arrow(c: Cell, metric: str) -> str:
    hib = METRICS[metric].higher_is_better if metric in METRICS else None
    return {True: "^", False: "v", None: " "}[hib]


def ratio(results: Results, c: Cell, metric: str) -> float | None:
    base = results.baseline(c)
    if base is None or metric not in base.values or metric not in c.values:
        return None
    b = spread(base.values[metric])["median"]
    v = spread(c.values[metric])["median"]
    return v / b if b else None


def table(results: Results, settings: Settings) -> str:
    lines: list[str] = []
    by_scenario: dict[str, list[Cell]] = {}
    for c in results.cells.values():
        by_scenario.setdefault(c.scenario, []).append(c)
    head = ("case", "impl", "metric", "median", f"min .. max ({settings.runs} runs)",
            f"ratio/{registry.BASELINE}")
    for scen, cells in by_scenario.items():
        desc = DESCRIPTIONS[scen].format(subs=settings.fanout_subs,
                                         procs=max(1, settings.fanout_procs),
                                         dealers=settings.router_dealers)
        lines.append("")
        lines.append(f"== {scen}: {desc}")
        rows: list[tuple[str, ...]] = []
        for c in cells:
            if not c.values:
                rows.append((c.case, c.label, "FAILED", "-", f"{len(c.failures)} failed", "-"))
                continue
            for metric, vals in c.values.items():
                if metric not in METRICS:
                    continue
                sp = spread(vals)
                r = ratio(results, c, metric)
                unit = METRICS[metric].unit
                note = f" ({len(c.failures)} failed)" if c.failures else ""
                rows.append((
                    c.case, c.label, f"{arrow(c, metric)} {metric} [{unit}]",
                    fmt(metric, sp["median"]),
                    f"{fmt(metric, sp['min'])} .. {fmt(metric, sp['max'])}{note}",
                    "-" if r is None else f"{r:.2f}",
                ))
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
        right = {3, 5}
        for i, row in enumerate([head, *rows]):
            cells_txt = [s.rjust(w) if j in right else s.ljust(w)
                         for j, (s, w) in enumerate(zip(row, widths, strict=True))]
            lines.append("  " + "  ".join(cells_txt).rstrip())
            if i == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(f"^ higher is better, v lower is better; ratio = median / median of "
                 f"{registry.BASELINE} (->{registry.BASELINE}) in the same case.")
    return "\n".join(lines)


def to_json(results: Results, settings: Settings, versions: dict[str, str],
            started: str, wall: float) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for c in results.cells.values():
        base: dict[str, Any] = {"scenario": c.scenario, "case": c.case, "impl": c.label,
                                "roles": list(c.roles), "params": c.params,
                                "failures": c.failures}
        if not c.values:
            out.append({**base, "metric": None, "ok": False})
        for metric, vals in c.values.items():
            spec = METRICS.get(metric)
            out.append({
                **base, "ok": not c.failures, "metric": metric,
                "unit": spec.unit if spec else "",
                "higher_is_better": spec.higher_is_better if spec else None,
                "runs": vals, **spread(vals), "ratio": ratio(results, c, metric),
            })
    return {
        "tool": "tools.bench", "format": 1, "started": started, "wall_seconds": wall,
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "implementations": versions, "baseline": registry.BASELINE,
        "settings": {k: v for k, v in vars(settings).items() if k != "tmpdir"},
        "trials": results.trials, "failed": len(results.failures), "results": out,
    }


def plot(results: Results, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [c for c in results.cells.values() if c.scenario in ("thr", "inproc")]
    transports = sorted({str(c.params["transport"]) for c in cells},
                        key=["tcp", "ipc", "inproc"].index)
    if not transports:
        log_stderr("plot: no thr/inproc results to plot")
        return
    fig, axes = plt.subplots(2, len(transports), figsize=(5.5 * len(transports), 8),
                             squeeze=False)
    for col, tr in enumerate(transports):
        for row, metric in enumerate(("MB/s", "msg/s")):
            ax = axes[row][col]
            series: dict[str, list[tuple[int, dict[str, float]]]] = {}
            for c in cells:
                if c.params["transport"] == tr and metric in c.values:
                    label = c.label if c.scenario == "thr" else c.label + " (inproc)"
                    series.setdefault(label, []).append(
                        (int(c.params["size"]), spread(c.values[metric])))
            for label, pts in series.items():
                pts.sort()
                xs = [p[0] for p in pts]
                med = [p[1]["median"] for p in pts]
                lo = [p[1]["median"] - p[1]["min"] for p in pts]
                hi = [p[1]["max"] - p[1]["median"] for p in pts]
                style = "-" if len(set(label.split("->"))) == 1 else "--"
                ax.errorbar(xs, med, yerr=[lo, hi], fmt="o" + style, capsize=3, label=label)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            sizes = sorted({int(c.params["size"]) for c in cells})
            ax.set_xticks(sizes, [size_label(s) for s in sizes])
            ax.set_xlabel("message size")
            ax.set_ylabel(metric)
            ax.set_title(f"PUSH->PULL {tr}: {metric}")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize="small")
    fig.suptitle("zmtp vs pyzmq (libzmq): throughput against message size "
                 "(median, bars min..max)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _main(args)
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
            return 2
        raise


def _main(args: argparse.Namespace) -> int:
    if args.list:
        for name, spec in registry.REGISTRY.items():
            missing = spec.missing()
            print(f"{name:17} {spec.description}\n{'':17} "
                  + ("ok" if not missing else f"unavailable: {missing}"))
        return 0
    scenarios = [s for arg in (args.scenario or ["all"]) for s in parse_list(arg)]
    if "all" in scenarios:
        scenarios = list(SCENARIOS)
    for s in scenarios:
        if s not in SCENARIOS:
            raise SystemExit(f"error: unknown scenario {s!r}; choose from "
                             f"{', '.join(SCENARIOS)} or all")
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        raise SystemExit("error: --plot needs matplotlib, which is not installed here: "
                         "pip install matplotlib (or pip install -e '.[plot]'), or drop --plot")
    impls, warnings = resolve_impls(args.impl)
    log = (lambda _line: None) if args.quiet else log_stderr
    for w in warnings:
        log_stderr(f"warning: {w}")
    tmpdir = tempfile.mkdtemp(prefix="zmtp-bench-")
    settings = make_settings(args, impls, tmpdir)
    results = Results()
    pool = Pool()
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    t0 = time.monotonic()
    log(f"zmtp bench: {', '.join(scenarios)}; implementations {', '.join(impls)}; "
        f"{settings.runs} run(s){' (quick)' if settings.quick else ''}")
    try:
        runner = Runner(settings, pool, results, log)
        for s in scenarios:
            runner.run(s)
    except KeyboardInterrupt:
        log_stderr("interrupted; stopping the workers")
        return 130
    finally:
        pool.close()
        shutil.rmtree(tmpdir, ignore_errors=True)
    wall = time.monotonic() - t0
    versions = dict(pool.versions)
    if args.json is not None:
        doc = json.dumps(to_json(results, settings, versions, started, wall), indent=1)
        if args.json == "-":
            print(doc)
        else:
            with open(args.json, "w") as f:
                f.write(doc + "\n")
    if args.json != "-":
        print(f"zmtp bench, {started}, {wall:.0f} s; "
              + "; ".join(f"{k}: {v}" for k, v in versions.items()))
        print(table(results, settings))
    if args.plot:
        plot(results, args.plot)
        log_stderr(f"plot written to {args.plot}")
    failures = results.failures
    if failures:
        log_stderr(f"{len(failures)} of {results.trials} trials FAILED:")
        for c, why in failures:
            log_stderr(f"  {c.scenario} {c.case} {c.label}: {why}")
        return 1
    if settings.quick:
        log_stderr(f"quick: {results.trials} trials, every count matched")
    return 0
