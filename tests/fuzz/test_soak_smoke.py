"""tools/soak.py, briefly: ten seconds of churning PUB/SUB and PUSH/PULL must lose no
PUSH message, reorder nothing, and end with the descriptors and tasks it started with."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "soak.py"


@pytest.mark.timeout(90)
def test_soak_smoke() -> None:
    run = subprocess.run(
        [sys.executable, str(TOOL), "--duration", "10", "--report", "2", "--churn", "0.3"],
        capture_output=True, text=True, timeout=80,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    lines = run.stdout.splitlines()
    reports = [line for line in lines if line.startswith("t=")]
    assert len(reports) >= 5, run.stdout
    summary = next(line for line in lines if line.startswith("summary:"))
    assert " lost=0 " in summary and "order errors=0" in summary, summary
    checked = int(re.search(r"push sessions checked=(\d+)", summary).group(1))  # type: ignore[union-attr]
    assert checked >= 5, summary
    received = int(re.search(r"sub_received=(\d+)", reports[-1]).group(1))  # type: ignore[union-attr]
    assert received > 0, reports[-1]
    # After the run every peer is gone: back to the listeners' descriptors and no tasks
    # but the runner's own.
    assert re.search(r"tasks=[1-4] ", reports[-1]), reports[-1]
