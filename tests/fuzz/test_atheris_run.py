"""A bounded run of the atheris entry point (coverage-guided libFuzzer over the sans-IO
core): a few seconds from the seed corpus must end without a crash.  Long runs are for
tools/fuzz_atheris.py by hand; this keeps the entry point itself from rotting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")

TOOL = Path(__file__).resolve().parents[2] / "tools" / "fuzz_atheris.py"


@pytest.mark.timeout(120)
def test_atheris_bounded_run(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    subprocess.run([sys.executable, str(TOOL), "--write-seeds", str(corpus)], check=True,
                   timeout=60)
    assert any(corpus.iterdir())
    run = subprocess.run(
        [sys.executable, str(TOOL), str(corpus), "-max_total_time=8", "-runs=200000",
         f"-artifact_prefix={tmp_path}/"],
        capture_output=True, text=True, timeout=100,
    )
    tail = run.stderr[-3000:]
    assert run.returncode == 0, tail
    assert "Done" in run.stderr, tail
    assert not list(tmp_path.glob("crash-*")), tail
