#!/usr/bin/env python3
"""Run pyzmq's own test suite against zmtp.zmq (``zmq`` aliased to it) and count the results.

    python tools/pyzmq_suite.py                   # the default groups, against zmtp.zmq
    python tools/pyzmq_suite.py --impl pyzmq      # the same tests against real pyzmq
    python tools/pyzmq_suite.py --groups poll error --extra -k "not large"

What it does:
1. fetches pyzmq's source distribution (the installed pyzmq's version unless --version is
   given; from PyPI's simple index, hash-checked, or ``pip download`` as a fallback, or a
   local file with --sdist) into a cache directory, and extracts its ``tests/``;
2. installs pytest-asyncio (pyzmq's asyncio tests need it) into that cache with
   ``pip install --target`` — nothing is added to the running environment;
3. runs pytest on the chosen test files in a subprocess whose first plugin puts
   ``zmtp.zmq`` (and each of its submodules) into ``sys.modules`` as ``zmq``, so pyzmq's
   tests import zmtp.zmq unchanged;
4. prints pass/fail/error/skip counts per file and in total, and the most frequent failure
   messages (the "main causes").

Not part of the CI's default run: it needs the network once and takes minutes.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import re
import subprocess
import sys
import tarfile
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

GROUPS: dict[str, list[str]] = {
    "pattern": ["test_pair.py", "test_pubsub.py", "test_reqrep.py"],
    "multipart": ["test_multipart.py"],
    "poll": ["test_poll.py"],
    "proxy": ["test_device.py", "test_proxy_steerable.py", "test_monqueue.py"],
    "error": ["test_error.py"],
    "context": ["test_context.py"],
    "monitor": ["test_monitor.py"],
    "asyncio": ["test_asyncio.py"],
}
#: Further files with --extra: sockets, messages, constants, versions, z85, imports,
#: decorators, log.
EXTRA = [
    "test_socket.py",
    "test_message.py",
    "test_constants.py",
    "test_version.py",
    "test_z85.py",
    "test_imports.py",
    "test_decorators.py",
    "test_log.py",
]

ALIAS_PLUGIN = '''"""pytest plugin (loaded first): make ``import zmq`` give zmtp.zmq."""
import importlib
import pkgutil
import sys

import zmtp.zmq

sys.modules["zmq"] = zmtp.zmq
for _info in pkgutil.walk_packages(zmtp.zmq.__path__, "zmtp.zmq."):
    try:
        _module = importlib.import_module(_info.name)
    except Exception as _exc:  # a submodule that cannot load is reported, not fatal
        print(f"zmtp alias: cannot import {_info.name}: {_exc!r}", file=sys.stderr)
        continue
    sys.modules["zmq" + _info.name[len("zmtp.zmq"):]] = _module
'''

PYTEST_INI = """[pytest]
addopts = --import-mode=importlib
pythonpath = tests
testpaths = tests
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
markers =
    large: these tests use a lot of memory
    new_console: these tests create a new console
    wheel: these tests are for installs from a wheel, not dev-installs
"""


def _default_version() -> str:
    try:
        return importlib.metadata.version("pyzmq")
    except importlib.metadata.PackageNotFoundError:
        return "27.1.0"


def _fetch_from_index(version: str, dest: Path) -> Path:
    """Download the sdist from PyPI's simple index, checking the sha256 the index gives."""
    name = f"pyzmq-{version}.tar.gz"
    with urllib.request.urlopen("https://pypi.org/simple/pyzmq/", timeout=60) as page:
        html = page.read().decode()
    links = [u.replace("&amp;", "&") for u in re.findall(r'href="([^"]+)"', html) if name in u]
    if not links:
        raise RuntimeError(f"{name} is not on PyPI's index")
    url, _, fragment = links[0].partition("#")
    target = dest / name
    urllib.request.urlretrieve(url, target)
    if fragment.startswith("sha256="):
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        if digest != fragment[len("sha256="):]:
            target.unlink()
            raise RuntimeError(f"sha256 mismatch for {name}")
    return target


def _fetch_with_pip(version: str, dest: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
         f"pyzmq=={version}", "-d", str(dest)],
        check=True,
        timeout=900,
    )
    return dest / f"pyzmq-{version}.tar.gz"


def fetch_sdist(version: str, cache: Path) -> Path:
    target = cache / f"pyzmq-{version}.tar.gz"
    if target.exists():
        return target
    try:
        return _fetch_from_index(version, cache)
    except Exception as exc:  # network shapes vary; pip knows the configured indexes
        print(f"simple index download failed ({exc!r}); trying pip download", file=sys.stderr)
        return _fetch_with_pip(version, cache)


def extract_tests(sdist: Path, cache: Path) -> Path:
    """Unpack only tests/ (and the ini) of the sdist; return the root holding tests/."""
    root = cache / sdist.name.removesuffix(".tar.gz")
    if not (root / "tests").is_dir():
        with tarfile.open(sdist) as tar:
            members = [m for m in tar.getmembers() if "/tests/" in m.name and m.isfile()]
            if hasattr(tarfile, "data_filter"):
                tar.extractall(cache, members=members, filter="data")
            else:  # older Pythons: the member list above already holds plain files only
                tar.extractall(cache, members=members)
    (root / "pytest.ini").write_text(PYTEST_INI)
    return root


def ensure_deps(cache: Path) -> Path:
    deps = cache / "deps"
    if not (deps / "pytest_asyncio").is_dir():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
             str(deps), "pytest-asyncio"],
            check=True,
            timeout=600,
        )
    return deps


def run_suite(root: Path, files: list[str], impl: str, cache: Path, deps: Path,
              timeout: int, keyword: str | None, wall: int, markers: str) -> Path:
    plugin_dir = cache / "plugin"
    plugin_dir.mkdir(exist_ok=True)
    (plugin_dir / "zmtp_pyzmq_alias.py").write_text(ALIAS_PLUGIN)
    report = cache / f"junit-{impl}.xml"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(plugin_dir), str(deps), env.get("PYTHONPATH", "")) if p
    )
    cmd = [sys.executable, "-m", "pytest", "-c", str(root / "pytest.ini"), "--rootdir",
           str(root), "-p", "no:cacheprovider", "-p", "no:trio", "-p", "pytest_asyncio",
           f"--timeout={timeout}", f"--junitxml={report}", "-q", "-rN"]
    if impl == "zmtp":
        cmd[3:3] = ["-p", "zmtp_pyzmq_alias"]
    if keyword:
        cmd += ["-k", keyword]
    if markers:
        cmd += ["-m", markers]
    cmd += [f"tests/{f}" for f in files if (root / "tests" / f).exists()]
    log = cache / f"pytest-{impl}.log"
    if report.exists():
        report.unlink()
    with log.open("w") as out:
        try:
            subprocess.run(cmd, cwd=root, env=env, timeout=wall, check=False, stdout=out,
                           stderr=subprocess.STDOUT)
        except subprocess.TimeoutExpired:
            print(f"the suite did not finish within {wall} s", file=sys.stderr)
    print(f"pytest output: {log}")
    return report


def _normalise(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else "(no message)"
    line = re.sub(r"0x[0-9a-f]+", "0x…", line)
    line = re.sub(r"\d+", "N", line)
    return line[:160]


def summarise(report: Path) -> int:
    if not report.exists():
        print("no report written (pytest crashed?)")
        return 2
    tree = ET.parse(report)
    per_file: dict[str, Counter[str]] = {}
    causes: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for case in tree.iter("testcase"):
        name = case.get("classname", "") or ""
        parts = name.split(".")
        file = next((p for p in parts if p.startswith("test_")), parts[0] or "?")
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "error"
                cause = _normalise(child.get("message") or child.text or "")
                causes[cause] += 1
                examples.setdefault(cause, f"{name}::{case.get('name')}")
            elif child.tag == "skipped":
                outcome = "skipped"
        per_file.setdefault(file, Counter())[outcome] += 1
    total: Counter[str] = Counter()
    print(f"{'file':<28} {'passed':>7} {'failed':>7} {'error':>7} {'skipped':>8}")
    for file in sorted(per_file):
        c = per_file[file]
        total.update(c)
        print(f"{file:<28} {c['passed']:>7} {c['failed']:>7} {c['error']:>7} {c['skipped']:>8}")
    print(f"{'TOTAL':<28} {total['passed']:>7} {total['failed']:>7} {total['error']:>7} "
          f"{total['skipped']:>8}")
    if causes:
        print("\nmost frequent failure messages:")
        for cause, count in causes.most_common(20):
            print(f"  {count:>4}  {cause}\n        e.g. {examples[cause]}")
    return 0 if not (total["failed"] or total["error"]) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default=_default_version(), help="pyzmq sdist version")
    parser.add_argument("--sdist", type=Path, help="use this local pyzmq sdist")
    parser.add_argument("--cache", type=Path,
                        default=Path.home() / ".cache" / "zmtp-pyzmq-suite")
    parser.add_argument("--impl", choices=["zmtp", "pyzmq"], default="zmtp")
    parser.add_argument("--groups", nargs="*", choices=sorted(GROUPS), default=sorted(GROUPS))
    parser.add_argument("--extra", action="store_true", help="also run " + ", ".join(EXTRA))
    parser.add_argument("--timeout", type=int, default=30, help="per-test timeout, s")
    parser.add_argument("--wall", type=int, default=1800, help="whole-run timeout, s")
    parser.add_argument("-k", dest="keyword", help="pytest -k expression")
    parser.add_argument("-m", dest="markers", default="not large",
                        help='pytest -m expression (default "not large": no 2 GiB messages)')
    args = parser.parse_args(argv)

    cache: Path = args.cache
    cache.mkdir(parents=True, exist_ok=True)
    sdist = args.sdist or fetch_sdist(args.version, cache)
    root = extract_tests(sdist, cache)
    deps = ensure_deps(cache)
    files = [f for g in args.groups for f in GROUPS[g]] + (EXTRA if args.extra else [])
    report = run_suite(root, files, args.impl, cache, deps, args.timeout, args.keyword,
                       args.wall, args.markers)
    print(f"pyzmq {args.version} test suite against {args.impl}: {', '.join(files)}\n")
    return summarise(report)


if __name__ == "__main__":
    sys.exit(main())
