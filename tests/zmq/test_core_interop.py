"""zmtp.zmq sockets against pyzmq (libzmq) sockets: every pattern pair, either side being
zmtp, either side binding, over tcp and ipc."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import zmtp.zmq as zzmq


def _sibling(name: str) -> Any:
    """The blocking tests' helpers (loaded by path: this directory may or may not be a
    package)."""
    spec = importlib.util.spec_from_file_location(f"_zmtp_{name}", Path(__file__).with_name(
        f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_blocking = _sibling("test_core_blocking")
PAIRS = _blocking.PAIRS
_endpoint = _blocking._endpoint
_exchange = _blocking._exchange

pyzmq = pytest.importorskip("zmq")


@pytest.fixture
def contexts() -> Iterator[tuple[Any, Any]]:
    ours = zzmq.Context()
    theirs = pyzmq.Context()
    yield ours, theirs
    ours.destroy(linger=0)
    theirs.destroy(linger=0)


def _sock(ctx: Any, module: Any, kind: str) -> Any:
    s = ctx.socket(getattr(module, kind))
    s.linger = 0
    s.rcvtimeo = 5000
    s.sndtimeo = 5000
    return s


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("a_binds", [True, False], ids=["a-binds", "b-binds"])
@pytest.mark.parametrize("zmtp_side", ["a", "b"], ids=["zmtp-a", "zmtp-b"])
@pytest.mark.parametrize(("a_type", "b_type"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_pattern_pairs_with_libzmq(contexts: tuple[Any, Any], tmp_path: Path, transport: str,
                                   a_binds: bool, zmtp_side: str, a_type: str,
                                   b_type: str) -> None:
    ours, theirs = contexts
    a_mod, a_ctx = (zzmq, ours) if zmtp_side == "a" else (pyzmq, theirs)
    b_mod, b_ctx = (pyzmq, theirs) if zmtp_side == "a" else (zzmq, ours)
    a = _sock(a_ctx, a_mod, a_type)
    b = _sock(b_ctx, b_mod, b_type)
    binder, connecter = (a, b) if a_binds else (b, a)
    binder.bind(_endpoint(transport, tmp_path))
    endpoint = binder.last_endpoint
    connecter.connect(endpoint.decode() if isinstance(endpoint, bytes) else endpoint)
    _exchange(a, b, a_type, b_type)


def test_large_and_many_with_libzmq(contexts: tuple[Any, Any]) -> None:
    ours, theirs = contexts
    push = _sock(ours, zzmq, "PUSH")
    pull = _sock(theirs, pyzmq, "PULL")
    pull.bind("tcp://127.0.0.1:*")
    push.connect(pull.last_endpoint.decode())
    payload = b"\x5a" * (1 << 20)
    push.send(payload)
    for i in range(5000):
        push.send(b"%d" % i)
    assert pull.recv() == payload
    assert [pull.recv() for _ in range(5000)] == [b"%d" % i for i in range(5000)]
    back = _sock(ours, zzmq, "PULL")
    sender = _sock(theirs, pyzmq, "PUSH")
    back.bind("ipc://*")
    sender.connect(back.last_endpoint.decode())
    sender.send_multipart([payload, b"tail"])
    assert back.recv_multipart() == [payload, b"tail"]
