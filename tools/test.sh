#!/usr/bin/env bash
# Installs what the tests need (from PyPI) and runs every check: ruff, mypy --strict, pytest.
# This is the README's test command and exactly what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -m pip install --quiet --disable-pip-version-check --no-input -e '.[test]'
echo "== ruff"
"$PY" -m ruff check zmtp tests tools examples
echo "== mypy --strict"
"$PY" -m mypy
echo "== pytest"
"$PY" -m pytest -q "$@"
