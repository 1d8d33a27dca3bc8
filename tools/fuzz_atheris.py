#!/usr/bin/env python3
"""Coverage-guided fuzzing of the sans-IO core with atheris, for long runs outside CI.

The hypothesis suite (tests/fuzz) runs in CI in seconds; this entry point lets libFuzzer
grind for hours.  Each input is split into a few control octets (which connection to
build, where to cut the stream) and the bytes fed to it.  Anything other than
``ProtocolError`` escaping, or the input buffer outgrowing its bound, is a crash.

Usage (atheris needs clang/libFuzzer wheels; it is not a project dependency)::

    python3 -m pip install atheris
    mkdir -p /tmp/zmtp-corpus
    python3 tools/fuzz_atheris.py /tmp/zmtp-corpus -max_total_time=3600 -jobs=2
    python3 tools/fuzz_atheris.py crash-<hash>        # replay one crashing input

Seed the corpus with valid transcripts for faster progress::

    python3 tools/fuzz_atheris.py --write-seeds /tmp/zmtp-corpus
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def _import_zmtp() -> None:
    """Import the code under test (under atheris, inside its instrumentation)."""
    from zmtp.errors import ProtocolError
    from zmtp.protocol import (
        LARGE_FRAME,
        Connection,
        Mechanism,
        NullMechanism,
        PlainClientMechanism,
        PlainServerMechanism,
        SocketType,
    )

    globals().update(
        ProtocolError=ProtocolError, LARGE_FRAME=LARGE_FRAME, Connection=Connection,
        Mechanism=Mechanism, NullMechanism=NullMechanism,
        PlainClientMechanism=PlainClientMechanism,
        PlainServerMechanism=PlainServerMechanism, SocketType=SocketType,
        _TYPES=[SocketType.DEALER, SocketType.ROUTER, SocketType.PUB, SocketType.SUB,
                SocketType.PULL, SocketType.REP],
    )


if TYPE_CHECKING:
    from zmtp.errors import ProtocolError
    from zmtp.protocol import (
        LARGE_FRAME,
        Connection,
        Mechanism,
        NullMechanism,
        PlainClientMechanism,
        PlainServerMechanism,
        SocketType,
    )

_TYPES: list[SocketType] = []


def _mechanism(selector: int) -> Mechanism:
    if selector % 3 == 0:
        return NullMechanism()
    if selector % 3 == 1:
        return PlainClientMechanism(b"user", b"pw")
    return PlainServerMechanism(lambda user, password: password == b"pw")


def test_one_input(data: bytes) -> None:
    if len(data) < 4:
        return
    conn = Connection(
        _TYPES[data[0] % len(_TYPES)],
        mechanism=_mechanism(data[1]),
        maxmsgsize=-1 if data[2] & 1 else 1000,
        batch_messages=bool(data[2] & 2),
    )
    step = 1 + data[3]
    payload = data[4:]
    bound = LARGE_FRAME + 9 if conn.maxmsgsize < 0 else conn.maxmsgsize + 9
    try:
        for i in range(0, len(payload), step):
            conn.receive_data(payload[i : i + step])
            conn.data_to_send()
            if conn.maxmsgsize >= 0 and conn.buffered > max(bound, 64):
                raise AssertionError(f"buffered {conn.buffered} > {bound}")
            if conn.allocated > max(2 * conn.buffered, 1 << 20) + LARGE_FRAME + 9:
                raise AssertionError(f"allocated {conn.allocated} for {conn.buffered} octets")
            view = conn.pending_frame_buffer()
            if view is not None and len(view) > 1 << 21:
                raise AssertionError("oversized pending frame buffer")
        conn.receive_data(b"")
    except ProtocolError:
        if not conn.closed:
            raise AssertionError("ProtocolError left the connection open") from None


def _write_seeds(directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    a = Connection(SocketType.DEALER, routing_id=b"id")
    b = Connection(SocketType.ROUTER)
    sent_a = bytearray()
    for _ in range(10):
        da = b"".join(bytes(c) for c in a.data_to_send())
        db = b"".join(bytes(c) for c in b.data_to_send())
        sent_a += da
        if da:
            b.receive_data(da)
        if db:
            a.receive_data(db)
    a.send_message([b"hello", b"", b"x" * 300])
    sent_a += b"".join(bytes(c) for c in a.data_to_send())
    # control octets: ROUTER, NULL, no limit, 16-octet steps
    with open(os.path.join(directory, "null-dealer"), "wb") as f:
        f.write(bytes([1, 0, 1, 15]) + sent_a)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--write-seeds":
        _import_zmtp()
        _write_seeds(sys.argv[2])
        return
    import atheris  # lazily: only long fuzzing runs need it

    atheris_any: Any = atheris
    # Instrument zmtp's bytecode only (not the whole standard library: seconds, not a
    # minute, before the first input runs), so libFuzzer gets coverage of what matters.
    with atheris_any.instrument_imports(include=["zmtp"]):
        _import_zmtp()
    atheris_any.Setup(sys.argv, test_one_input)
    atheris_any.Fuzz()


if __name__ == "__main__":
    main()
