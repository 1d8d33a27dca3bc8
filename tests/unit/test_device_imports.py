"""The pure device modules must not pull in trio or the socket layer."""

from __future__ import annotations

import subprocess
import sys


def test_pure_modules_import_without_trio() -> None:
    code = (
        "import sys\n"
        "import zmtp.device, zmtp.device.channels, zmtp.device.dpl, zmtp.device.logger\n"
        "bad = [m for m in ('trio', 'zmtp.socket') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
