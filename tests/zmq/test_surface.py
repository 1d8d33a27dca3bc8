"""zmtp.zmq's API surface against pyzmq's: constants, errors, Frame, versions, utils.

pyzmq (linked to libzmq 4.3.5) is the reference: every public constant must exist with the
same value, the error classes must form the same hierarchy with libzmq's texts, and the
helpers must give the same results.  Tests that exercise behaviour run on both modules, so
a test that is wrong about pyzmq fails too.
"""

from __future__ import annotations

import enum
import json
import struct
import threading
from types import ModuleType

import pytest
import zmq as pyzmq
import zmq.constants as pyzmq_constants
import zmq.utils.z85 as pyzmq_z85
from hypothesis import given
from hypothesis import strategies as st

import zmtp.zmq as zzmq
from zmtp.zmq import constants as zconstants
from zmtp.zmq.utils import jsonapi, monitor, z85

MODULES = [pytest.param(pyzmq, id="pyzmq"), pytest.param(zzmq, id="zmtp")]


def _enum_classes(module: ModuleType) -> dict[str, type[enum.Enum]]:
    return {
        name: obj
        for name, obj in vars(module).items()
        if isinstance(obj, enum.EnumMeta) and obj.__module__ == module.__name__
        and not name.startswith("_")
    }


def test_every_enum_class_and_member_matches_pyzmq() -> None:
    ours = _enum_classes(zconstants)
    theirs = _enum_classes(pyzmq_constants)
    assert set(ours) == set(theirs)
    for name, cls in theirs.items():
        mine = ours[name]
        assert issubclass(mine, int) and issubclass(cls, int)
        assert list(mine.__members__) == list(cls.__members__), name
        for member, value in cls.__members__.items():
            assert int(mine.__members__[member]) == int(value), (name, member)  # type: ignore[call-overload]


def test_every_module_level_constant_matches_pyzmq() -> None:
    names = [n for n in dir(pyzmq) if n.isupper() and isinstance(getattr(pyzmq, n), int)]
    assert len(names) > 240
    for name in names:
        assert getattr(zzmq, name) == getattr(pyzmq, name), name
    assert zzmq.DRAFT_API is False and zzmq.IPC_PATH_MAX_LEN == pyzmq.IPC_PATH_MAX_LEN


def test_option_value_types_match_pyzmq() -> None:
    for option in pyzmq_constants.SocketOption:
        mine = zconstants.SocketOption[option.name]
        assert mine._opt_type.name == option._opt_type.name, option.name


def test_public_names_cover_pyzmq() -> None:
    missing = set(pyzmq.__all__) - set(zzmq.__all__) - {"__revision__", "__version__"}
    assert not missing
    for name in ("Context", "Socket", "Poller", "select", "proxy", "device", "Frame"):
        assert getattr(zzmq, name) is not None


@pytest.mark.parametrize("errno", [int(e) for e in pyzmq_constants.Errno])
def test_error_texts_are_libzmqs(errno: int) -> None:
    assert zzmq.strerror(errno) == pyzmq.strerror(errno)
    assert str(zzmq.ZMQError(errno)) == str(pyzmq.ZMQError(errno))
    assert repr(zzmq.ZMQError(errno)) == repr(pyzmq.ZMQError(errno))


@pytest.mark.parametrize("zmq", MODULES)
def test_error_hierarchy(zmq: ModuleType) -> None:
    again = zmq.Again()
    assert isinstance(again, zmq.ZMQError) and isinstance(again, zmq.ZMQBaseError)
    assert again.errno == zmq.EAGAIN and again.strerror == "Resource temporarily unavailable"
    term = zmq.ContextTerminated()
    assert term.errno == zmq.ETERM and str(term) == "Context was terminated"
    assert issubclass(zmq.InterruptedSystemCall, InterruptedError)
    assert issubclass(zmq.NotDone, zmq.ZMQBaseError) and not issubclass(zmq.NotDone, zmq.ZMQError)
    assert issubclass(zmq.ZMQBindError, zmq.ZMQBaseError)
    assert issubclass(zmq.ZMQVersionError, NotImplementedError)
    custom = zmq.ZMQError(zmq.EINVAL, "my text")
    assert custom.errno == zmq.EINVAL and str(custom) == "my text"
    text_only = zmq.ZMQError("just words")
    assert text_only.errno is None and str(text_only) == "just words"
    version_error = zmq.ZMQVersionError("9.9", "Time travel")
    assert str(version_error) == f"Time travel requires libzmq >= 9.9, have {zmq.zmq_version()}"


def test_versions_are_honest_and_compatible() -> None:
    assert zzmq.zmq_version() == "4.3.5" and zzmq.zmq_version_info() == (4, 3, 5)
    assert "zmtp" in zzmq.pyzmq_version() and "zmtp" in zzmq.__version__
    info = zzmq.pyzmq_version_info()
    assert info[:3] == (27, 3, 0) and info[3] == float("inf")  # pyzmq's form for an extra part
    assert info >= (27,) and info > (26, 2) and info < (28,)
    assert zzmq.IMPLEMENTATION == "zmtp"
    assert zzmq.has("ipc") and not zzmq.has("curve") and not zzmq.has("draft")


@pytest.mark.parametrize("zmq", MODULES)
def test_frame_basics(zmq: ModuleType) -> None:
    frame = zmq.Frame(b"abc")
    assert len(frame) == 3 and bytes(frame) == b"abc" and frame.bytes == b"abc"
    assert frame.buffer.tobytes() == b"abc" and not frame.more
    assert frame.get(zmq.MORE) == 0 and frame.tracker is None
    assert zmq.Frame().bytes == b""
    assert zmq.Message is zmq.Frame
    with pytest.raises(TypeError):
        zmq.Frame("text")
    with pytest.raises(zmq.ZMQError):
        frame.get("No-Such-Property")


@pytest.mark.parametrize("zmq", MODULES)
def test_frame_shares_or_copies_buffers(zmq: ModuleType) -> None:
    data = bytearray(b"x" * 100_000)
    shared = zmq.Frame(data, copy=False)
    copied = zmq.Frame(data, copy=True)
    data[0:1] = b"y"
    assert shared.buffer[0:1].tobytes() == b"y"
    assert copied.bytes[0:1] == b"x"


@pytest.mark.parametrize("zmq", MODULES)
def test_message_tracker(zmq: ModuleType) -> None:
    tracked = zmq.Frame(b"abc", track=True)
    assert isinstance(tracked.tracker, zmq.MessageTracker)
    assert zmq._FINISHED_TRACKER.done
    event = threading.Event()
    tracker = zmq.MessageTracker(event)
    assert not tracker.done
    with pytest.raises(zmq.NotDone):
        tracker.wait(0.01)
    event.set()
    tracker.wait()
    assert tracker.done
    combined = zmq.MessageTracker(tracker, zmq._FINISHED_TRACKER)
    assert combined.done
    with pytest.raises(TypeError):
        zmq.MessageTracker("nonsense")


@given(st.binary(max_size=64).map(lambda b: b[: len(b) - len(b) % 4]))
def test_z85_agrees_with_pyzmq(raw: bytes) -> None:
    encoded = z85.encode(raw)
    assert encoded == pyzmq_z85.encode(raw)
    assert z85.decode(encoded) == raw
    assert z85.decode(encoded.decode()) == raw


def test_z85_rejects_bad_lengths() -> None:
    with pytest.raises(ValueError):
        z85.encode(b"abc")
    with pytest.raises(ValueError):
        z85.decode(b"abcd")


def test_jsonapi_round_trip() -> None:
    obj = {"a": [1, 2.5, None], "é": "ü"}
    assert jsonapi.dumps(obj) == json.dumps(obj).encode()
    assert jsonapi.loads(jsonapi.dumps(obj)) == obj
    assert jsonapi.loads(json.dumps(obj)) == obj


@pytest.mark.parametrize(
    "msg",
    [
        [struct.pack("=hi", 1, 7), b"tcp://127.0.0.1:5555"],
        [struct.pack("=hi", 4096, 12), b"ipc://x"],
        [struct.pack("=hi", 512, 0), b""],
    ],
)
def test_parse_monitor_message_agrees_with_pyzmq(msg: list[bytes]) -> None:
    from zmq.utils.monitor import parse_monitor_message as reference

    assert monitor.parse_monitor_message(msg) == reference(msg)


@pytest.mark.parametrize("bad", [[b"x"], [b"short", b"ep"], [b"123456"], []])
def test_parse_monitor_message_rejects_garbage(bad: list[bytes]) -> None:
    with pytest.raises(RuntimeError):
        monitor.parse_monitor_message(bad)


def test_stopwatch_measures_microseconds() -> None:
    with pytest.warns(DeprecationWarning):
        watch = zzmq.Stopwatch()
    with pytest.raises(zzmq.ZMQError):
        watch.stop()
    watch.start()
    assert watch.stop() >= 0


def test_curve_is_reported_unsupported() -> None:
    with pytest.raises(zzmq.ZMQError) as info:
        zzmq.curve_keypair()
    assert info.value.errno == zzmq.ENOTSUP


def test_errno_of_last_error_is_per_thread() -> None:
    zzmq.ZMQError(zzmq.EFSM)
    assert zzmq.zmq_errno() == zzmq.EFSM
    seen: list[int] = []
    worker = threading.Thread(target=lambda: seen.append(zzmq.zmq_errno()))
    worker.start()
    worker.join()
    assert seen == [0]
    assert str(zzmq.ZMQError()) == "Operation cannot be accomplished in current state"


@pytest.mark.parametrize("error", [zzmq.ZMQError(zzmq.EINVAL, "custom"), zzmq.Again(),
                                   zzmq.ContextTerminated(), zzmq.ZMQError("text only")])
def test_errors_survive_pickling(error: Exception) -> None:
    import pickle

    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error)
    assert (clone.errno, str(clone)) == (error.errno, str(error))  # type: ignore[attr-defined]
