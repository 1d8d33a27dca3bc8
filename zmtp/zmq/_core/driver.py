"""Where a context's I/O runs: a background thread with its own loop, or the caller's loop.

``IOThread`` serves the blocking face, as libzmq's I/O thread does: started on first use
(a context that only uses inproc never starts it), a daemon so a forgotten context cannot
hang interpreter exit.  ``LoopDriver`` serves the asyncio face: the running loop itself.
Both answer the one question the hot path asks: am I on the loop thread already (then
``call_soon``), or must I wake it (``call_soon_threadsafe``)?
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Driver", "IOThread", "LoopDriver"]


class Driver:
    loop: asyncio.AbstractEventLoop | None = None
    thread_id = -1
    #: Loop work asked for before a loop could run it (asyncio sockets made outside one).
    pending: list[Callable[[], None]]

    def __init__(self) -> None:
        self.pending = []

    def alive(self) -> bool:
        loop = self.loop
        return loop is not None and not loop.is_closed()

    def ensure(self) -> asyncio.AbstractEventLoop | None:
        """The loop, started if needed; None if it cannot run yet (asyncio, no loop)."""
        raise NotImplementedError

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return  # the loop is gone (asyncio.run returned): nothing left to drive
        if threading.get_ident() == self.thread_id:
            loop.call_soon(fn, *args)
        else:
            loop.call_soon_threadsafe(fn, *args)

    def stop(self) -> None:
        return None


class IOThread(Driver):
    """One asyncio loop in a daemon thread, started lazily."""

    def __init__(self) -> None:
        super().__init__()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def ensure(self) -> asyncio.AbstractEventLoop:
        loop = self.loop
        if loop is not None:
            return loop
        with self._start_lock:
            if self.loop is None:
                ready = threading.Event()
                new_loop = asyncio.new_event_loop()

                def run() -> None:
                    asyncio.set_event_loop(new_loop)
                    self.thread_id = threading.get_ident()
                    ready.set()
                    try:
                        new_loop.run_forever()
                    finally:
                        try:
                            new_loop.run_until_complete(new_loop.shutdown_asyncgens())
                        finally:
                            new_loop.close()

                thread = threading.Thread(target=run, name="zmtp.zmq-io", daemon=True)
                thread.start()
                ready.wait()
                self._thread = thread
                self.loop = new_loop
            return self.loop

    def run_sync(self, fn: Callable[[], Any], timeout: float | None = None) -> Any:
        """Run ``fn`` on the loop thread and wait for its result."""
        loop = self.ensure()
        if threading.get_ident() == self.thread_id:
            return fn()
        done = threading.Event()
        box: list[Any] = []

        def call() -> None:
            try:
                box.append((True, fn()))
            except BaseException as exc:  # handed back to the caller
                box.append((False, exc))
            finally:
                done.set()

        loop.call_soon_threadsafe(call)
        if not done.wait(timeout):
            raise TimeoutError("the I/O thread did not answer")
        ok, value = box[0]
        if not ok:
            raise value
        return value

    def stop(self) -> None:
        loop = self.loop
        thread = self._thread
        if loop is None or thread is None:
            return
        if threading.get_ident() == self.thread_id:
            loop.call_soon(loop.stop)
            return
        try:
            loop.call_soon_threadsafe(loop.stop)
        except RuntimeError:
            pass  # already closed
        thread.join(5.0)
        self.loop = None
        self._thread = None


class LoopDriver(Driver):
    """The asyncio loop running in the caller's thread (found at first use)."""

    #: Called when the sockets must move to a new loop (set by the context).
    on_new_loop: Callable[[], None] | None = None

    def ensure(self) -> asyncio.AbstractEventLoop | None:
        if self.loop is not None and not self.loop.is_closed():
            return self.loop
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        old = self.loop
        self.loop = loop
        self.thread_id = threading.get_ident()
        if old is not None and self.on_new_loop is not None:
            # The loop the sockets ran on is closed (asyncio.run returned) and another
            # runs now: move listeners and connections over, as pyzmq's sockets, whose
            # I/O never depended on the loop, simply carry on.
            self.on_new_loop()
        return loop
