#!/usr/bin/env bash
# The README's demo command: installs zmtp from this checkout and runs FairMQ's 1-n-1
# example (sampler -> 2 processors -> sink) from its JSON topology, each device in its own
# process; it ends by itself and prints a summary of the messages that went through.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -m pip install --quiet --disable-pip-version-check --no-input -e .
exec "$PY" -m zmtp.device.launch ex-1-n-1 "$@"
