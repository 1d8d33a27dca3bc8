#!/usr/bin/env bash
# The README's demo command: installs zmtp from this checkout and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -m pip install --quiet --disable-pip-version-check --no-input -e .
exec "$PY" examples/demo.py "$@"
