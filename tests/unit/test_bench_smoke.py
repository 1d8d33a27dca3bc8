"""Smoke tests for the benchmark harness (``python -m tools.bench --quick``).

``--quick`` runs every scenario with tiny counts and fails (exit 1) when a count does
not match; no timing is asserted. The zmtp run waits for the trio socket layer.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

needs_pyzmq = pytest.mark.skipif(
    importlib.util.find_spec("zmq") is None, reason="pyzmq is not installed"
)
# zmtp resolves Socket lazily (module __getattr__), so hasattr() would import it: look
# for the module instead.
needs_zmtp_sockets = pytest.mark.skipif(
    importlib.util.find_spec("zmtp.socket") is None,
    reason="the zmtp socket layer (zmtp.socket) is not there yet",
)


def run_bench(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-m", "tools.bench", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


ALL = ["thr", "lat", "tof", "fanout", "router", "inproc", "mem"]


def assert_quick_ok(
    proc: subprocess.CompletedProcess[str], impls: list[str], scenarios: list[str] = ALL
) -> None:
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "every count matched" in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["failed"] == 0
    seen = {(r["scenario"], role) for r in doc["results"] for role in r["roles"]}
    for scenario in scenarios:
        for impl in impls:
            assert (scenario, impl) in seen, (scenario, impl, sorted(seen))
    for r in doc["results"]:
        assert r["ok"], r
        assert r["median"] >= 0, r


def test_every_registered_impl_serves_every_role() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tools.bench.impls import REGISTRY, ROLES, Impl

    assert set(REGISTRY) >= {"zmtp", "pyzmq"}
    assert len(ROLES) == len(set(ROLES))
    for name, spec in REGISTRY.items():
        # Importing an implementation module must not import its library (setup() does).
        module = importlib.import_module(f"tools.bench.impls.{spec.module}")
        impl = module.IMPL
        assert isinstance(impl, Impl), name
        assert impl.missing_roles() == [], name


def test_usage_errors_exit_2() -> None:
    proc = run_bench("--scenario", "nope", "--impl", "pyzmq")
    assert proc.returncode == 2
    assert "unknown scenario" in proc.stderr
    proc = run_bench("--impl", "libzmq-in-rust")
    assert proc.returncode == 2
    assert "unknown implementation" in proc.stderr


@needs_pyzmq
@pytest.mark.timeout(120)
def test_quick_pyzmq() -> None:
    assert_quick_ok(run_bench("--quick", "--impl", "pyzmq", "--json", "-q"), ["pyzmq"])


@needs_pyzmq
@pytest.mark.timeout(120)
def test_quick_pyzmq_asyncio() -> None:
    """The asyncio roles, which zmtp.zmq.asyncio will reuse unchanged."""
    proc = run_bench("--quick", "--impl", "pyzmq.asyncio", "--json", "-q")
    assert_quick_ok(proc, ["pyzmq.asyncio"])


@needs_zmtp_sockets
@pytest.mark.timeout(180)
def test_quick_zmtp() -> None:
    assert_quick_ok(run_bench("--quick", "--impl", "zmtp", "--json", "-q"), ["zmtp"])


@needs_pyzmq
@needs_zmtp_sockets
@pytest.mark.timeout(180)
def test_quick_both_with_mixed_pairs() -> None:
    """The default run: zmtp and pyzmq, and in thr the mixed pairs talking to each other."""
    proc = run_bench("--quick", "--json", "-q")
    assert_quick_ok(proc, ["zmtp", "pyzmq"])
    doc = json.loads(proc.stdout)
    pairs = {r["impl"] for r in doc["results"] if r["scenario"] == "thr"}
    assert pairs == {"pyzmq->pyzmq", "zmtp->zmtp", "zmtp->pyzmq", "pyzmq->zmtp"}
