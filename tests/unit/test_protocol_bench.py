"""Smoke test of tools/bench_protocol.py: it runs and reports every figure (timings are
not asserted: they mean nothing on a shared CI machine)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_protocol_reports_every_figure() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "bench_protocol.py"), "--sizes", "16", "70000",
         "--seconds", "0", "--count", "50"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    rows = [line.split() for line in out.splitlines()[1:]]
    labels = {(row[0], " ".join(row[1:-2])) for row in rows}
    for size in ("16", "70000"):
        for label in ("decode 64K Message", "decode 1-call Message", "decode 64K batch",
                      "decode 1-call batch", "encode"):
            assert (size, label) in labels
    for row in rows:
        assert float(row[-2].replace(",", "")) > 0  # frames/s
