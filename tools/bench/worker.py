"""``python -m tools.bench.worker IMPL``: a process that serves roles for one implementation.

Started and killed (by PID) by the orchestrator only. It says ``hello``, then runs one
role per ``run`` command until its stdin closes, which ends it at once.
"""

from __future__ import annotations

import os
import sys
import traceback

from .control import Ctl
from .impls import load


def describe(e: BaseException) -> str:
    """``Type: message``, with exception groups (trio nurseries) flattened to their leaves."""
    subs = getattr(e, "exceptions", None)
    if isinstance(subs, (list, tuple)) and subs:
        return "; ".join(describe(x) for x in subs)
    return f"{type(e).__name__}: {e}"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tools.bench.worker IMPL (started by python -m tools.bench)",
              file=sys.stderr)
        return 2
    ctl = Ctl.from_stdio()
    try:
        impl = load(argv[1])
        impl.setup()
        version = impl.version()
    except BaseException as e:
        ctl.emit("error", error=f"cannot start {argv[1]}: {describe(e)}")
        traceback.print_exc()
        return 1
    ctl.emit("hello", impl=argv[1], pid=os.getpid(), version=version)
    while True:
        msg = ctl.next_command()
        if msg.get("cmd") != "run":
            ctl.emit("error", error=f"expected a 'run' command, got {msg!r}")
            continue
        role = str(msg.get("role"))
        try:
            result = impl.run(role, dict(msg.get("args", {})), ctl)
        except BaseException as e:  # reported to the orchestrator, which kills us
            traceback.print_exc()
            ctl.emit("error", error=f"{role}: {describe(e)}")
            if isinstance(e, KeyboardInterrupt):
                return 1
            continue
        ctl.emit("done", **result)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
