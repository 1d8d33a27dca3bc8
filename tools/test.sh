#!/usr/bin/env bash
# Installs what the tests need (from PyPI) and runs every check: ruff, mypy --strict, pytest.
# This is the README's test command and exactly what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -m pip install --quiet --disable-pip-version-check --no-input --prefer-binary -e '.[test]'
# A real ZMTP/2.0 peer for the downgrade interop test: JeroMQ 0.3.6 from Debian (needs a
# JDK, which this machine image ships). Best effort: without it that one test skips.
if [ ! -e /usr/share/java/jeromq.jar ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing libjeromq-java (ZMTP/2.0 peer for interop tests)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjeromq-java; } \
        >/dev/null 2>&1 || echo "   (could not install libjeromq-java; the JeroMQ test will skip)"
fi
if ! command -v javac >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jdk-headless; } \
        >/dev/null 2>&1 || echo "   (no JDK; the JeroMQ test will skip)"
fi
echo "== ruff"
"$PY" -m ruff check zmtp tests tools examples
echo "== mypy --strict"
"$PY" -m mypy
echo "== pytest"
"$PY" -m pytest -q "$@"
