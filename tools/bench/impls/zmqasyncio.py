"""Roles written against pyzmq's asyncio API (``zmq.asyncio``), for any module offering it.

``ZmqAsyncioImpl("zmq.asyncio")`` is pyzmq on asyncio; ``ZmqAsyncioImpl("zmtp.zmq.asyncio")``
is zmtp's pyzmq-compatible asyncio face, same code. Constants and ``Again`` come from the
parent module (``zmq`` / ``zmtp.zmq``).

Each role is one ``asyncio.run``, bounded as a whole by ``asyncio.wait_for`` (as the trio
roles are by one deadline). Waits on the orchestrator poll its queue every 5 ms, so a
cancelled wait leaves no thread behind.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from typing import Any

from ..control import ControlError, Ctl
from ..stats import latency_summary_us, raise_fd_limit, rss_bytes
from .base import DATA, END, WARM, Impl

Role = Callable[..., Awaitable[dict[str, Any]]]


class TrialTimeout(Exception):
    pass


class ZmqAsyncioImpl(Impl):
    def __init__(self, module: str = "zmq.asyncio") -> None:
        self.module = module
        self.name = module
        self._zmq: Any = None
        self._ctx: Any = None
        self._inproc_seq = 0

    def setup(self) -> None:
        raise_fd_limit()
        aio = importlib.import_module(self.module)
        self._zmq = importlib.import_module(self.module.rsplit(".", 1)[0])
        self._ctx = aio.Context()

    def version(self) -> str:
        zmq = self._zmq
        libv = zmq.zmq_version() if hasattr(zmq, "zmq_version") else "?"
        return f"{self.module} {getattr(zmq, '__version__', '?')} (libzmq {libv})"

    def run(self, role: str, args: dict[str, Any], ctl: Ctl) -> dict[str, Any]:
        fn: Role = getattr(self, f"role_{role}")
        timeout = float(args["timeout"])

        async def main() -> dict[str, Any]:
            with ExitStack() as stack:
                self._stack = stack
                try:
                    return await asyncio.wait_for(fn(ctl, **args), timeout)
                except asyncio.TimeoutError:
                    raise TrialTimeout(f"{role} did not finish within {timeout:.0f} s") from None

        return asyncio.run(main())

    # ------------------------------------------------------------------------ plumbing

    def _sock(self, kind: str, **opts: Any) -> Any:
        s = self._ctx.socket(getattr(self._zmq, kind))
        self._stack.callback(s.close, 0)
        s.linger = 0
        for k, v in opts.items():
            setattr(s, k, v)
        return s

    @staticmethod
    def _bind(s: Any, endpoint: str) -> str:
        s.bind(endpoint)
        ep = s.last_endpoint
        return ep.decode() if isinstance(ep, bytes) else str(ep)

    @staticmethod
    async def _expect(ctl: Ctl, cmd: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            msg = ctl.poll()
            if msg is not None:
                if msg.get("cmd") != cmd:
                    raise ControlError(f"expected {cmd!r} from the orchestrator, got {msg!r}")
                return msg
            if time.monotonic() > deadline:
                raise ControlError(f"no {cmd!r} from the orchestrator within {timeout:.0f} s")
            await asyncio.sleep(0.005)

    async def _until(self, ctl: Ctl, cmd: str, beat: Callable[[], Awaitable[Any]]) -> None:
        """Call ``beat`` every 10 ms until the orchestrator sends ``cmd``."""
        while True:
            await beat()
            msg = ctl.poll()
            if msg is not None:
                if msg.get("cmd") != cmd:
                    raise ValueError(f"expected {cmd!r}, got {msg!r}")
                return
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------------------ thr

    async def role_thr_recv(
        self, ctl: Ctl, endpoint: str, count: int, size: int, timeout: float
    ) -> dict[str, Any]:
        s = self._sock("PULL")
        ctl.emit("bound", endpoint=self._bind(s, endpoint))
        recv = s.recv
        m = await recv()
        pc = time.perf_counter_ns
        t0 = pc()
        for _ in range(count):
            m = await recv()
        t1 = pc()
        return {"received": count + 1, "elapsed_ns": t1 - t0, "last_len": len(m)}

    async def role_thr_send(
        self, ctl: Ctl, endpoint: str, count: int, size: int, timeout: float
    ) -> dict[str, Any]:
        s = self._sock("PUSH")
        s.connect(endpoint)
        payload = b"x" * size
        send = s.send
        for _ in range(count + 1):
            await send(payload)
        ctl.emit("sent", sent=count + 1)
        await self._expect(ctl, "release", timeout)
        return {}

    # ------------------------------------------------------------------------ lat

    async def role_lat_rep(
        self, ctl: Ctl, endpoint: str, count: int, timeout: float
    ) -> dict[str, Any]:
        s = self._sock("REP")
        ctl.emit("bound", endpoint=self._bind(s, endpoint))
        recv, send = s.recv, s.send
        for _ in range(count):
            await send(await recv())
        await self._expect(ctl, "release", timeout)
        return {"served": count}

    async def role_lat_req(
        self, ctl: Ctl, endpoint: str, count: int, warmup: int, size: int, timeout: float
    ) -> dict[str, Any]:
        s = self._sock("REQ")
        s.connect(endpoint)
        payload = b"x" * size
        recv, send = s.recv, s.send
        for _ in range(warmup):
            await send(payload)
            await recv()
        samples = [0] * count
        pc = time.perf_counter_ns
        t_start = pc()
        for i in range(count):
            t = pc()
            await send(payload)
            m = await recv()
            samples[i] = pc() - t
        t_end = pc()
        if len(m) != size:
            raise ValueError(f"reply of {len(m)} bytes, expected {size}")
        return {**latency_summary_us(samples), "elapsed_ns": t_end - t_start}

    # ------------------------------------------------------------------------ tof

    async def role_tof_sink(
        self, ctl: Ctl, endpoint: str, count: int, warmup: int, timeout: float
    ) -> dict[str, Any]:
        s = self._sock("PULL")
        ctl.emit("bound", endpoint=self._bind(s, endpoint))
        recv = s.recv_multipart
        now = time.monotonic_ns
        from_bytes = int.from_bytes
        for _ in range(warmup):
            await recv()
        samples = [0] * count
        for i in range(count):
            frames = await recv()
            samples[i] = now() - from_bytes(frames[0], "little")
        return latency_summary_us(samples)

    async def role_tof_source(
        self, ctl: Ctl, endpoint: str, count: int, size: int, rate: float, timeout: float
    ) -> dict[str, Any]:
        s = self._sock("PUSH")
        ctl.emit("bound", endpoint=self._bind(s, endpoint))
        await self._expect(ctl, "go", timeout)
        payload = b"x" * size
        send = s.send_multipart
        now = time.monotonic_ns
        interval = int(1e9 / rate) if rate > 0 else 0
        start = now()
        for i in range(count):
            if interval:
                wait = start + i * interval - now()
                if wait > 0:
                    await asyncio.sleep(wait / 1e9)
            await send([now().to_bytes(8, "little"), payload])
        ctl.emit("sent", sent=count)
        await self._expect(ctl, "release", timeout)
        return {}

    async def role_tof_relay(
        self, ctl: Ctl, src: str, dst: str, count: int, timeout: float
    ) -> dict[str, Any]:
        pull = self._sock("PULL")
        push = self._sock("PUSH")
        pull.connect(src)
        push.connect(dst)
        ctl.emit("ready")
        recv, send = pull.recv_multipart, push.send_multipart
        for _ in range(count):
            await send(await recv())
        ctl.emit("forwarded", forwarded=count)
        await self._expect(ctl, "release", timeout)
        return {}

    # ------------------------------------------------------------------------ fanout

    async def role_pub(
        self, ctl: Ctl, endpoint: str, count: int, size: int, hwm: int, timeout: float
    ) -> dict[str, Any]:
        s = self._sock("PUB", sndhwm=hwm)
        ctl.emit("bound", endpoint=self._bind(s, endpoint))
        send = s.send
        await self._until(ctl, "go", lambda: send(WARM))
        data = DATA + b"x" * max(size - 1, 0)
        pc = time.perf_counter_ns
        t0 = pc()
        for _ in range(count):
            await send(data)
        t1 = pc()
        ctl.emit("sent", sent=count, elapsed_ns=t1 - t0)
        await self._until(ctl, "release", lambda: send(END))
        return {}

    async def role_sub(
        self, ctl: Ctl, endpoint: str, nsocks: int, hwm: int, timeout: float
    ) -> dict[str, Any]:
        socks = []
        for _ in range(nsocks):
            s = self._sock("SUB", rcvhwm=hwm)
            s.subscribe(b"")
            s.connect(endpoint)
            socks.append(s)
        for s in socks:
            await s.recv()
        ctl.emit("ready")
        counts = [0] * nsocks
        ends = [0] * nsocks
        first = [0]
        d, e = DATA[0], END[0]
        now = time.monotonic_ns

        async def drain(idx: int, s: Any) -> None:
            recv = s.recv
            n = 0
            while True:
                c = (await recv())[0]
                if c == d:
                    if not n and not first[0]:
                        first[0] = now()
                    n += 1
                elif c == e:
                    ends[idx] = now()
                    counts[idx] = n
                    return

        await asyncio.gather(*(drain(i, s) for i, s in enumerate(socks)))
        return {"counts": counts, "first_ns": first[0], "end_ns": max(ends)}

    # ------------------------------------------------------------------------ router

    async def role_router(
        self, ctl: Ctl, endpoint: str, count: int, timeout: float
    ) -> dict[str, Any]:
        s = self._sock("ROUTER")
        ctl.emit("bound", endpoint=self._bind(s, endpoint))
        recv, send = s.recv_multipart, s.send_multipart
        for _ in range(count):
            await send(await recv())
        await self._expect(ctl, "release", timeout)
        return {"served": count}

    async def role_dealers(
        self, ctl: Ctl, endpoint: str, ndealers: int, per_dealer: int, size: int, timeout: float
    ) -> dict[str, Any]:
        self._ctx.max_sockets = max(1024, ndealers + 64)
        socks = [self._sock("DEALER") for _ in range(ndealers)]
        payload = b"x" * size

        async def warm(s: Any) -> None:
            s.connect(endpoint)
            await s.send(payload)
            await s.recv()

        await asyncio.gather(*(warm(s) for s in socks))
        ctl.emit("ready")

        async def loop(s: Any) -> None:
            send, recv = s.send, s.recv
            for _ in range(per_dealer):
                await send(payload)
                await recv()

        pc = time.perf_counter_ns
        t0 = pc()
        await asyncio.gather(*(loop(s) for s in socks))
        t1 = pc()
        return {"round_trips": ndealers * per_dealer, "elapsed_ns": t1 - t0}

    # ------------------------------------------------------------------------ inproc

    async def role_inproc(self, ctl: Ctl, count: int, size: int, timeout: float) -> dict[str, Any]:
        self._inproc_seq += 1
        endpoint = f"inproc://bench-aio-{self._inproc_seq}"
        pull = self._sock("PULL")
        pull.bind(endpoint)
        push = self._sock("PUSH")
        push.connect(endpoint)
        payload = b"x" * size
        out: dict[str, Any] = {}

        async def sender() -> None:
            send = push.send
            for _ in range(count + 1):
                await send(payload)

        async def receiver() -> None:
            recv = pull.recv
            m = await recv()
            pc = time.perf_counter_ns
            t0 = pc()
            for _ in range(count):
                m = await recv()
            t1 = pc()
            out.update(received=count + 1, elapsed_ns=t1 - t0, last_len=len(m))

        await asyncio.gather(receiver(), sender())
        return out

    # ------------------------------------------------------------------------ memory

    async def role_mem_hold(
        self, ctl: Ctl, endpoint: str, rcvhwm: int, timeout: float
    ) -> dict[str, Any]:
        s = self._sock("PULL", rcvhwm=rcvhwm)
        ctl.emit("bound", endpoint=self._bind(s, endpoint), rss=rss_bytes())
        await self._expect(ctl, "measure", timeout)
        await asyncio.sleep(0.3)
        ctl.emit("measured", rss=rss_bytes())
        n = int((await self._expect(ctl, "drain", timeout))["n"])
        for _ in range(n):
            await s.recv()
        return {"received": n}

    async def role_mem_fill(
        self, ctl: Ctl, endpoint: str, size: int, sndhwm: int, timeout: float
    ) -> dict[str, Any]:
        zmq = self._zmq
        s = self._sock("PUSH", sndhwm=sndhwm)
        s.connect(endpoint)
        payload = b"x" * size
        sent = 0
        stalled = 0.0
        while True:  # until sends have been refused for 0.5 s: every queue is full
            try:
                await s.send(payload, zmq.NOBLOCK)
                sent += 1
                stalled = 0.0
            except zmq.Again:
                t = time.monotonic()
                if sent and not stalled:
                    stalled = t
                elif sent and t - stalled > 0.5:
                    break
                await asyncio.sleep(0.01)
        ctl.emit("full", sent=sent)
        await self._expect(ctl, "release", timeout)
        return {}

    async def role_mem_idle_bind(
        self, ctl: Ctl, endpoint: str, n: int, timeout: float
    ) -> dict[str, Any]:
        s = self._sock("PULL")
        ctl.emit("bound", endpoint=self._bind(s, endpoint), rss=rss_bytes())
        for _ in range(n):
            await s.recv()
        await asyncio.sleep(0.3)
        ctl.emit("measured", rss=rss_bytes())
        await self._expect(ctl, "release", timeout)
        return {"received": n}

    async def role_mem_idle_connect(
        self, ctl: Ctl, endpoint: str, n: int, timeout: float
    ) -> dict[str, Any]:
        self._ctx.max_sockets = max(1024, n + 64)
        base = rss_bytes()
        socks = [self._sock("PUSH") for _ in range(n)]

        async def hello(s: Any) -> None:
            s.connect(endpoint)
            await s.send(b"hi")

        await asyncio.gather(*(hello(s) for s in socks))
        ctl.emit("connected", rss_base=base, rss=rss_bytes())
        await self._expect(ctl, "release", timeout)
        return {}
