"""Run a guide example with ``zmq`` being either pyzmq or zmtp.zmq.

usage: python run.py {pyzmq|zmtp} example.py [args...]

For "zmtp", ``zmq`` (and its submodules the examples may import) are aliased to zmtp.zmq
in sys.modules before the example runs, so the example's own ``import zmq`` is unchanged.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path


def main() -> None:
    impl, script, *args = sys.argv[1:]
    if impl == "zmtp":
        import zmtp.zmq
        import zmtp.zmq.devices
        import zmtp.zmq.utils.monitor

        sys.modules["zmq"] = zmtp.zmq
        sys.modules["zmq.devices"] = zmtp.zmq.devices
        sys.modules["zmq.utils.monitor"] = zmtp.zmq.utils.monitor
    elif impl != "pyzmq":
        raise SystemExit(f"unknown implementation {impl!r}")
    path = Path(__file__).with_name(script)
    sys.argv = [str(path), *args]
    runpy.run_path(str(path), run_name="__main__")


if __name__ == "__main__":
    main()
