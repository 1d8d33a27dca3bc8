"""``python -m zmtp.device <device> [options]``: run a device by name, like its console
script ``zmtp-<device>`` (``python -m zmtp.device --list`` names them)."""

from __future__ import annotations

import sys

from .examples import DEVICES, load_device
from .runner import ignore_late_signals, main


def _cli(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "--list"):
        print("usage: python -m zmtp.device <device> [device options]\n"
              "devices: " + " ".join(DEVICES))
        return 0 if argv else 1
    try:
        cls = load_device(argv[0])
    except KeyError as e:
        print(f"error: {e.args[0]}", file=sys.stderr)
        return 1
    name = argv[0] if argv[0].startswith("zmtp-") else f"zmtp-{argv[0]}"
    code = main(cls, argv[1:], prog=name)
    ignore_late_signals()
    return code


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
