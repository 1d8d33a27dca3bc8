"""Roles written against pyzmq's blocking API, for any module that offers it.

``ZmqApiImpl("zmq")`` is pyzmq; ``ZmqApiImpl("zmtp.zmq")`` is zmtp's pyzmq-compatible
face, same code. Only calls that face promises are used: ``Context``, ``socket``,
``bind``/``connect``, ``send``/``recv``(``_multipart``), ``NOBLOCK``, ``Again``,
``Poller``, option attributes and ``last_endpoint``.

Receives are bounded by ``RCVTIMEO`` (and sends by ``SNDTIMEO``), both set to the
trial's timeout: libzmq checks them only when a call would block, so they are free.
"""

from __future__ import annotations

import importlib
import threading
import time
from contextlib import ExitStack
from types import ModuleType
from typing import Any

from ..control import Ctl
from ..stats import latency_summary_us, raise_fd_limit, rss_bytes
from .base import DATA, END, WARM, Impl


class TrialTimeout(Exception):
    pass


class ZmqApiImpl(Impl):
    def __init__(self, module: str = "zmq") -> None:
        self.module = module
        self.name = module
        self._zmq: ModuleType | None = None
        self._ctx: Any = None
        self._inproc_seq = 0

    # ------------------------------------------------------------------------ plumbing

    @property
    def zmq(self) -> Any:
        assert self._zmq is not None, "setup() first"
        return self._zmq

    def setup(self) -> None:
        raise_fd_limit()
        self._zmq = importlib.import_module(self.module)
        self._ctx = self._zmq.Context()

    def version(self) -> str:
        zmq = self.zmq
        v = getattr(zmq, "__version__", "?")
        libv = zmq.zmq_version() if hasattr(zmq, "zmq_version") else "?"
        return f"{self.module} {v} (libzmq {libv})"

    def run(self, role: str, args: dict[str, Any], ctl: Ctl) -> dict[str, Any]:
        fn = getattr(self, f"role_{role}")
        with ExitStack() as stack:
            self._stack = stack
            result: dict[str, Any] = fn(ctl, **args)
            return result

    def _sock(self, kind: str, timeout: float, **opts: Any) -> Any:
        """A socket that is closed (linger 0) when the role ends."""
        zmq = self.zmq
        s = self._ctx.socket(getattr(zmq, kind))
        self._stack.callback(s.close, 0)
        s.linger = 0
        ms = max(1, int(timeout * 1000))
        s.rcvtimeo = ms
        s.sndtimeo = ms
        for k, v in opts.items():
            setattr(s, k, v)
        return s

    @staticmethod
    def _bind(s: Any, endpoint: str) -> str:
        s.bind(endpoint)
        ep = s.last_endpoint
        return ep.decode() if isinstance(ep, bytes) else str(ep)

    def _timed_out(self, what: str, done: int, total: int) -> TrialTimeout:
        return TrialTimeout(f"{what} timed out after {done} of {total}")

    # ------------------------------------------------------------------------ thr

    def role_thr_recv(
        self, ctl: Ctl, endpoint: str, count: int, size: int, timeout: float
    ) -> dict[str, Any]:
        s = self._sock("PULL", timeout)
        ctl.emit("bound", endpoint=self._bind(s, endpoint))
        recv = s.recv
        i = 0
        try:
            m = recv()
            pc = time.perf_counter_ns
            t0 = pc()
            for i in range(count):  # noqa: B007 - i is read on timeout
                m = recv()
            t1 = pc()
        except self.zmq.Again:
            raise self._timed_out("receive", i, count + 1) from None
        return {"received": count + 1, "elapsed_ns": t1 - t0, "last_len": len(m)}

    def role_thr_send(
        self, ctl: Ctl, endpoint: str, count: int, size: int, timeout: float
    ) -> dict[str, Any]:
        s = self._sock("PUSH", timeout)
        s.connect(endpoint)
        payload = b"x" * size
        send = s.send
        try:
            for _ in range(count + 1):
                send(payload)
        except self.zmq.Again:
            raise TrialTimeout("send blocked longer than the timeout") from None
        ctl.emit("sent", sent=count + 1)
        ctl.expect("release", timeout)
        return {}

    # ------------------------------------------------------------------------ lat

    def role_lat_rep(self, ctl: Ctl, endpoint: str, count: int, timeout: float) -> dict[str, Any]:
        s = self._sock("REP", timeout)
        ctl.emit("bound", endpoint=self._bind(s, endpoint))
        recv, send = s.recv, s.send
        i = 0
        try:
            for i in range(count):  # noqa: B007
                send(recv())
        except self.zmq.Again:
            raise self._timed_out("receive", i, count) from None
        ctl.expect("release", timeout)
        return {"served": count}

    def role_lat_req(
        self, ctl: Ctl, endpoint: str, count: int, warmup: int, size: int, timeout: float
    ) -> dict[str, Any]:
        s = self._sock("REQ", timeout)
        s.connect(endpoint)
        payload = b"x" * size
        recv, send = s.recv, s.send
        samples = [0] * count
        pc = time.perf_counter_ns
        i = 0
        try:
            for _ in range(warmup):
                send(payload)
                recv()
            t_start = pc()
            for i in range(count):
                t = pc()
                send(payload)
                m = recv()
                samples[i] = pc() - t
            t_end = pc()
        except self.zmq.Again:
            raise self._timed_out("round trip", i, count) from None
        if len(m) != size:
            raise ValueError(f"reply of {len(m)} bytes, expected {size}")
        return {**latency_summary_us(samples), "elapsed_ns": t_end - t_start}

    # ------------------------------------------------------------------------ tof

    def role_tof_sink(
        self, ctl: Ctl, endpoint: str, count: int, warmup: int, timeout: float
    ) -> dict[str, Any]:
        s = self._sock("PULL", timeout)
        ctl.emit("bound", endpoint=self._bind(s, endpoint))
        recv = s.recv_multipart
        now = time.monotonic_ns
        from_bytes = int.from_bytes
        samples = [0] * count
        i = 0
        try:
            for i in range(warmup):  # noqa: B007
                recv()
            for i in range(count):
                frames = recv()
                samples[i] = now() - from_bytes(frames[0], "little")
        except self.zmq.Again:
            raise self._timed_out("receive", i, count) from None
        return latency_summary_us(samples)

    def role_tof_source(
        self, ctl: Ctl, endpoint: str, count: int, size: int, rate: float, timeout: float
    ) -> dict[str, Any]:
        s = self._sock("PUSH", timeout)
        ctl.emit("bound", endpoint=self._bind(s, endpoint))
        ctl.expect("go", timeout)
        payload = b"x" * size
        send = s.send_multipart
        now = time.monotonic_ns
        sleep = time.sleep
        interval = int(1e9 / rate) if rate > 0 else 0
        try:
            start = now()
            for i in range(count):
                if interval:
                    wait = start + i * interval - now()
                    if wait > 0:
                        sleep(wait / 1e9)
                send([now().to_bytes(8, "little"), payload])
        except self.zmq.Again:
            raise TrialTimeout("send blocked longer than the timeout") from None
        ctl.emit("sent", sent=count)
        ctl.expect("release", timeout)
        return {}

    def role_tof_relay(
        self, ctl: Ctl, src: str, dst: str, count: int, timeout: float
    ) -> dict[str, Any]:
        pull = self._sock("PULL", timeout)
        push = self._sock("PUSH", timeout)
        pull.connect(src)
        push.connect(dst)
        ctl.emit("ready")
        recv, send = pull.recv_multipart, push.send_multipart
        i = 0
        try:
            for i in range(count):  # noqa: B007
                send(recv())
        except self.zmq.Again:
            raise self._timed_out("relay", i, count) from None
        ctl.emit("forwarded", forwarded=count)
        ctl.expect("release", timeout)
        return {}

    # ------------------------------------------------------------------------ fanout

    def role_pub(
        self, ctl: Ctl, endpoint: str, count: int, size: int, hwm: int, timeout: float
    ) -> dict[str, Any]:
        s = self._sock("PUB", timeout, sndhwm=hwm)
        ctl.emit("bound", endpoint=self._bind(s, endpoint))
        send = s.send
        deadline = time.monotonic() + timeout
        while True:  # warm-up: until every subscriber has seen one
            send(WARM)
            msg = ctl.poll(0.01)
            if msg is not None:
                if msg.get("cmd") != "go":
                    raise ValueError(f"expected 'go', got {msg!r}")
                break
            if time.monotonic() > deadline:
                raise TrialTimeout("subscribers never became ready")
        data = DATA + b"x" * max(size - 1, 0)
        pc = time.perf_counter_ns
        t0 = pc()
        for _ in range(count):
            send(data)
        t1 = pc()
        ctl.emit("sent", sent=count, elapsed_ns=t1 - t0)
        while True:  # end markers, repeated: PUB may drop any one of them at HWM
            send(END)
            msg = ctl.poll(0.01)
            if msg is not None:
                if msg.get("cmd") != "release":
                    raise ValueError(f"expected 'release', got {msg!r}")
                return {}
            if time.monotonic() > deadline + timeout:
                raise TrialTimeout("never released")

    def role_sub(
        self, ctl: Ctl, endpoint: str, nsocks: int, hwm: int, timeout: float
    ) -> dict[str, Any]:
        zmq = self.zmq
        socks = []
        for _ in range(nsocks):
            s = self._sock("SUB", timeout, rcvhwm=hwm)
            s.subscribe(b"")
            s.connect(endpoint)
            socks.append(s)
        try:
            for s in socks:  # each has seen the publisher: subscribed and connected
                s.recv()
        except zmq.Again:
            raise TrialTimeout("no warm-up message from the publisher") from None
        ctl.emit("ready")
        poller = zmq.Poller()
        for s in socks:
            poller.register(s, zmq.POLLIN)
        counts = dict.fromkeys(socks, 0)
        live = set(socks)
        ends: list[int] = []
        first = 0
        ms = int(timeout * 1000)
        noblock = zmq.NOBLOCK
        again = zmq.Again
        d, e = DATA[0], END[0]
        now = time.monotonic_ns
        while live:
            ready = poller.poll(ms)
            if not ready:
                raise TrialTimeout(f"receive timed out; {len(live)} of {nsocks} not finished")
            for s, _ in ready:
                recv = s.recv
                n = 0
                try:
                    while True:
                        c = recv(noblock)[0]
                        if c == d:
                            n += 1
                        elif c == e:
                            ends.append(now())
                            live.discard(s)
                            poller.unregister(s)
                            break
                except again:
                    pass
                if n:
                    if not first:
                        first = now()
                    counts[s] += n
        return {"counts": list(counts.values()), "first_ns": first, "end_ns": max(ends)}

    # ------------------------------------------------------------------------ router

    def role_router(self, ctl: Ctl, endpoint: str, count: int, timeout: float) -> dict[str, Any]:
        s = self._sock("ROUTER", timeout)
        ctl.emit("bound", endpoint=self._bind(s, endpoint))
        recv, send = s.recv_multipart, s.send_multipart
        i = 0
        try:
            for i in range(count):  # noqa: B007
                send(recv())
        except self.zmq.Again:
            raise self._timed_out("receive", i, count) from None
        ctl.expect("release", timeout)
        return {"served": count}

    def role_dealers(
        self, ctl: Ctl, endpoint: str, ndealers: int, per_dealer: int, size: int, timeout: float
    ) -> dict[str, Any]:
        zmq = self.zmq
        self._ctx.max_sockets = max(1024, ndealers + 64)
        socks = [self._sock("DEALER", timeout) for _ in range(ndealers)]
        for s in socks:
            s.connect(endpoint)
        payload = b"x" * size
        try:
            for s in socks:  # one warm round trip each: every connection is up
                s.send(payload)
            for s in socks:
                s.recv()
        except zmq.Again:
            raise TrialTimeout("warm-up round trip timed out") from None
        ctl.emit("ready")
        poller = zmq.Poller()
        for s in socks:
            poller.register(s, zmq.POLLIN)
        left = dict.fromkeys(socks, per_dealer)
        total = ndealers * per_dealer
        done = 0
        ms = int(timeout * 1000)
        noblock = zmq.NOBLOCK
        again = zmq.Again
        pc = time.perf_counter_ns
        t0 = pc()
        for s in socks:
            s.send(payload)
        while done < total:
            ready = poller.poll(ms)
            if not ready:
                raise self._timed_out("round trip", done, total)
            for s, _ in ready:
                try:
                    while True:
                        s.recv(noblock)
                        done += 1
                        n = left[s] - 1
                        left[s] = n
                        if n:
                            s.send(payload)
                except again:
                    pass
        t1 = pc()
        return {"round_trips": done, "elapsed_ns": t1 - t0}

    # ------------------------------------------------------------------------ inproc

    def role_inproc(self, ctl: Ctl, count: int, size: int, timeout: float) -> dict[str, Any]:
        self._inproc_seq += 1
        endpoint = f"inproc://bench-{self._inproc_seq}"
        pull = self._sock("PULL", timeout)
        pull.bind(endpoint)
        push = self._sock("PUSH", timeout)
        push.connect(endpoint)
        payload = b"x" * size
        errors: list[BaseException] = []

        def sender() -> None:
            send = push.send
            try:
                for _ in range(count + 1):
                    send(payload)
            except BaseException as e:
                errors.append(e)

        th = threading.Thread(target=sender, name="inproc-sender")
        th.start()
        recv = pull.recv
        i = 0
        try:
            m = recv()
            pc = time.perf_counter_ns
            t0 = pc()
            for i in range(count):  # noqa: B007
                m = recv()
            t1 = pc()
        except self.zmq.Again:
            raise self._timed_out("receive", i, count + 1) from None
        finally:
            th.join(timeout)
        if errors:
            raise errors[0]
        return {"received": count + 1, "elapsed_ns": t1 - t0, "last_len": len(m)}

    # ------------------------------------------------------------------------ memory

    def role_mem_hold(
        self, ctl: Ctl, endpoint: str, rcvhwm: int, timeout: float
    ) -> dict[str, Any]:
        s = self._sock("PULL", timeout, rcvhwm=rcvhwm)
        ep = self._bind(s, endpoint)
        ctl.emit("bound", endpoint=ep, rss=rss_bytes())
        ctl.expect("measure", timeout)
        time.sleep(0.3)
        ctl.emit("measured", rss=rss_bytes())
        n = int(ctl.expect("drain", timeout)["n"])
        i = 0
        try:
            for i in range(n):  # noqa: B007
                s.recv()
        except self.zmq.Again:
            raise self._timed_out("drain", i, n) from None
        return {"received": n}

    def role_mem_fill(
        self, ctl: Ctl, endpoint: str, size: int, sndhwm: int, timeout: float
    ) -> dict[str, Any]:
        s = self._sock("PUSH", timeout, sndhwm=sndhwm)
        s.connect(endpoint)
        payload = b"x" * size
        sent = 0
        stalled = 0.0
        deadline = time.monotonic() + timeout
        noblock = self.zmq.NOBLOCK
        while True:  # until sends have been refused for 0.5 s: every queue is full
            try:
                s.send(payload, noblock)
                sent += 1
                stalled = 0.0
            except self.zmq.Again:
                t = time.monotonic()
                if sent and not stalled:
                    stalled = t
                elif sent and t - stalled > 0.5:
                    break
                if t > deadline:
                    raise TrialTimeout(f"could not fill the receiver ({sent} sent)") from None
                time.sleep(0.01)
        ctl.emit("full", sent=sent)
        ctl.expect("release", timeout)
        return {}

    def role_mem_idle_bind(
        self, ctl: Ctl, endpoint: str, n: int, timeout: float
    ) -> dict[str, Any]:
        s = self._sock("PULL", timeout)
        ep = self._bind(s, endpoint)
        ctl.emit("bound", endpoint=ep, rss=rss_bytes())
        i = 0
        try:
            for i in range(n):  # noqa: B007 - one hello per connection: all are up
                s.recv()
        except self.zmq.Again:
            raise self._timed_out("hello", i, n) from None
        time.sleep(0.3)
        ctl.emit("measured", rss=rss_bytes())
        ctl.expect("release", timeout)
        return {"received": n}

    def role_mem_idle_connect(
        self, ctl: Ctl, endpoint: str, n: int, timeout: float
    ) -> dict[str, Any]:
        self._ctx.max_sockets = max(1024, n + 64)
        base = rss_bytes()
        socks = [self._sock("PUSH", timeout) for _ in range(n)]
        for s in socks:
            s.connect(endpoint)
            s.send(b"hi")
        ctl.emit("connected", rss_base=base, rss=rss_bytes())
        ctl.expect("release", timeout)
        return {}
