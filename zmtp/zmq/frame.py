"""Frame (alias Message) and MessageTracker, as pyzmq's ``copy=False`` / ``track=`` API has them.

A Frame wraps one message part without copying it where Python allows: bytes are kept as
they are (immutable), other buffers are referenced unless ``copy=True`` is asked for.
``more`` is set by the receiving socket; ``get(name)`` answers ZMQ_MORE and the connection
metadata properties ("Socket-Type", "Identity", "Peer-Address", ...) the socket attaches.
"""

from __future__ import annotations

import builtins
import threading
import time
import weakref
from typing import Any

from zmtp.zmq.constants import MessageOption
from zmtp.zmq.error import NotDone, ZMQError

__all__ = ["Frame", "Message", "MessageTracker", "_FINISHED_TRACKER"]

#: Below this size, ``copy=None`` copies a non-bytes buffer (as pyzmq's default threshold).
COPY_THRESHOLD = 65536


class MessageTracker:
    """Tells when ZeroMQ is done with one or more sent messages.

    It watches threading.Events (set by the socket when the frames have been handed to the
    transport or dropped), Frames, and other trackers; ``done`` is true once all are.
    """

    def __init__(self, *towatch: MessageTracker | threading.Event | Frame) -> None:
        self.events: set[threading.Event] = set()
        self.peers: set[MessageTracker] = set()
        for obj in towatch:
            if isinstance(obj, threading.Event):
                self.events.add(obj)
            elif isinstance(obj, MessageTracker):
                self.peers.add(obj)
            elif isinstance(obj, Frame):
                if obj.tracker is None:
                    raise ValueError("Not a tracked message")
                self.peers.add(obj.tracker)
            else:
                raise TypeError(f"Require Events or Message Frames, not {type(obj)}")

    @property
    def done(self) -> bool:
        """True when every watched message has been sent (or dropped)."""
        return all(ev.is_set() for ev in self.events) and all(p.done for p in self.peers)

    def wait(self, timeout: float | int = -1) -> None:
        """Block until done; raise NotDone if ``timeout`` seconds (-1: forever) pass first."""
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout
        for ev in self.events:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not ev.wait(left):
                raise NotDone()
        for peer in self.peers:
            left = -1 if deadline is None else max(0.0, deadline - time.monotonic())
            peer.wait(left)
        if not self.done:
            raise NotDone()


def _finished() -> MessageTracker:
    ev = threading.Event()
    ev.set()
    return MessageTracker(ev)


#: The tracker of messages that were never tracked (already done), as pyzmq has it.
_FINISHED_TRACKER = _finished()

_BufferLike = Any  # bytes, bytearray, memoryview, or anything with the buffer protocol


class Frame:
    """One message part.

    ``Frame(data=b"", track=False, copy=None, copy_threshold=None)``: ``data`` is any
    buffer (not str); ``copy`` False keeps a reference to it, True copies it, None copies
    only buffers shorter than ``copy_threshold``.  ``track=True`` gives the frame a
    MessageTracker whose event the sending socket sets (``tracker_event``).
    """

    more: bool
    tracker: MessageTracker | None
    tracker_event: threading.Event | None

    def __init__(
        self,
        data: _BufferLike = None,
        track: bool = False,
        copy: bool | None = None,
        copy_threshold: int | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(data, str):
            raise TypeError("Str objects not allowed. Only: bytes, buffer interfaces.")
        self.more = False
        self._properties: dict[str, str] | None = None
        self._routing_id: int | None = None
        self._group: str = ""
        self._bytes: bytes | None
        self._view: memoryview | None
        if data is None:
            self._bytes, self._view = b"", None
        elif isinstance(data, bytes):
            threshold = COPY_THRESHOLD if copy_threshold is None else copy_threshold
            if copy or (copy is None and len(data) < threshold):
                data = bytes(memoryview(data))  # a copy of its own, as pyzmq makes
            self._bytes, self._view = data, None
        else:
            view = memoryview(data)
            if not view.c_contiguous:
                raise BufferError("a Frame needs a contiguous buffer")
            if view.ndim != 1 or view.format not in ("B", "b", "c"):
                view = view.cast("B")
            threshold = COPY_THRESHOLD if copy_threshold is None else copy_threshold
            if copy or (copy is None and view.nbytes < threshold):
                self._bytes, self._view = view.tobytes(), None
            else:
                self._bytes, self._view = None, view
        self._buffer: memoryview | None = None
        if track:
            # Done once sent (the socket sets the event) or once nobody holds the frame.
            self.tracker_event = threading.Event()
            self.tracker = MessageTracker(self.tracker_event)
            weakref.finalize(self, self.tracker_event.set)
        else:
            self.tracker_event = None
            self.tracker = None

    @classmethod
    def _received(cls, data: builtins.bytes | memoryview, more: bool) -> Frame:
        """Fast constructor for the receiving socket: no checks, no copies."""
        frame = cls.__new__(cls)
        frame.more = more
        frame._properties = None
        frame._routing_id = None
        frame._group = ""
        if isinstance(data, bytes):
            frame._bytes, frame._view = data, None
        else:
            frame._bytes, frame._view = None, data
        frame.tracker = None
        frame.tracker_event = None
        frame._buffer = None
        return frame

    @property
    def bytes(self) -> builtins.bytes:
        """The content as bytes (copied once from a referenced buffer, then cached)."""
        if self._bytes is None:
            assert self._view is not None
            self._bytes = self._view.tobytes()
        return self._bytes

    @property
    def buffer(self) -> memoryview:
        """A memoryview of the content, without copying (the same one on every access)."""
        if self._view is not None:
            return self._view
        if self._buffer is None:
            assert self._bytes is not None
            self._buffer = memoryview(self._bytes)
        return self._buffer

    def __buffer__(self, flags: int) -> memoryview:
        """memoryview(frame) without a copy (the buffer protocol: Python 3.12 and later)."""
        return self.buffer

    def __len__(self) -> int:
        if self._bytes is not None:
            return len(self._bytes)
        assert self._view is not None
        return self._view.nbytes

    def __bytes__(self) -> builtins.bytes:
        return self.bytes

    def __copy__(self) -> Frame:
        return self.fast_copy()

    def fast_copy(self) -> Frame:
        """A new Frame sharing this one's content (no data copy)."""
        other = Frame._received(self._bytes if self._bytes is not None else self.buffer, self.more)
        other._properties = self._properties
        return other

    def __repr__(self) -> str:
        size = len(self)
        if size <= 16:
            return f"<zmq.Frame({self.bytes!r})>"
        head = (self._bytes[:12] if self._bytes is not None else self.buffer[:12].tobytes())
        if size < 1000:
            amount = f"{size}B"
        elif size < 2**20:
            amount = f"{size // 1000}kB"
        elif size < 2**30:
            amount = f"{size // 1_000_000}MB"
        else:
            amount = f"{size // 1_000_000_000}GB"
        return f"<zmq.Frame({head!r}...{amount})>"

    __str__ = __repr__

    def get(self, option: int | str) -> int | str | None:
        """ZMQ_MORE / ZMQ_SHARED / ZMQ_SRCFD by number, or a metadata property by name."""
        if isinstance(option, str):
            props = self._properties or {}
            for key, value in props.items():
                if key.lower() == option.lower():
                    return value
            raise ZMQError(22)  # EINVAL, as zmq_msg_gets for an unknown property
        if option == MessageOption.MORE:
            return int(self.more)
        if option == MessageOption.SHARED:
            return 0
        if option == MessageOption.SRCFD:
            return -1
        raise ZMQError(22)

    def set(self, option: int, value: int) -> None:
        """No settable message options exist in libzmq 4.3 (MORE is read-only): EINVAL."""
        raise ZMQError(22)

    @property
    def routing_id(self) -> int | None:
        """SERVER/CLIENT routing id (draft sockets; kept for API shape)."""
        return self._routing_id

    @routing_id.setter
    def routing_id(self, value: int | None) -> None:
        self._routing_id = value

    @property
    def group(self) -> str:
        """RADIO/DISH group (draft sockets; kept for API shape)."""
        return self._group

    @group.setter
    def group(self, value: str) -> None:
        self._group = value


#: pyzmq's other name for Frame.
Message = Frame
