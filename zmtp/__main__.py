"""``python -m zmtp --version``: the version and the ZMTP versions spoken."""

from __future__ import annotations

import argparse

from ._version import PROTOCOL_VERSIONS, __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zmtp", description=__doc__)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    args = parser.parse_args(argv)
    if args.version:
        print(f"zmtp {__version__} (ZMTP {', '.join(PROTOCOL_VERSIONS)})")
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
