"""zmtp's trio sockets (``zmtp.Socket``), through the public API only (DESIGN.md).

Each role is one ``trio.run``. Receives are bounded by one ``trio.fail_after`` around
the whole role rather than one per call: a cancel scope per message would cost more
than some of the things measured. Waits on the orchestrator run in a worker thread
(``trio.to_thread``), so the socket tasks keep flushing and reading meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

from ..control import Ctl
from ..stats import latency_summary_us, raise_fd_limit, rss_bytes
from .base import DATA, END, WARM, Impl

Role = Callable[..., Awaitable[dict[str, Any]]]


class TrialTimeout(Exception):
    pass


class TrioImpl(Impl):
    name = "zmtp"

    def __init__(self) -> None:
        self._zmtp: Any = None
        self._trio: Any = None
        self._inproc_seq = 0

    def setup(self) -> None:
        raise_fd_limit()
        import trio

        import zmtp

        zmtp.Socket  # noqa: B018 - fail here, at start, if the socket layer is missing
        self._zmtp = zmtp
        self._trio = trio

    def version(self) -> str:
        return f"zmtp {self._zmtp.__version__} (trio {self._trio.__version__})"

    def run(self, role: str, args: dict[str, Any], ctl: Ctl) -> dict[str, Any]:
        fn: Role = getattr(self, f"role_{role}")
        timeout = float(args["timeout"])

        async def main() -> dict[str, Any]:
            try:
                with self._trio.fail_after(timeout):
                    # Sockets open nurseries: they must close inside the scope they opened in.
                    async with AsyncExitStack() as stack:
                        self._stack = stack
                        return await fn(ctl, **args)
            except self._trio.TooSlowError:
                raise TrialTimeout(f"{role} did not finish within {timeout:.0f} s") from None

        result: dict[str, Any] = self._trio.run(main)
        return result

    # ------------------------------------------------------------------------ plumbing

    async def _sock(self, kind: str, **opts: Any) -> Any:
        """A socket closed (linger 0) when the role ends."""
        zmtp = self._zmtp
        s = zmtp.Socket(getattr(zmtp, kind), linger=0, **opts)
        return await self._stack.enter_async_context(s)

    async def _expect(self, ctl: Ctl, cmd: str, timeout: float) -> dict[str, Any]:
        msg: dict[str, Any] = await self._trio.to_thread.run_sync(
            ctl.expect, cmd, timeout, abandon_on_cancel=True
        )
        return msg

    # ------------------------------------------------------------------------ thr

    async def role_thr_recv(
        self, ctl: Ctl, endpoint: str, count: int, size: int, timeout: float
    ) -> dict[str, Any]:
        s = await self._sock("PULL")
        ctl.emit("bound", endpoint=await s.bind(endpoint))
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
        s = await self._sock("PUSH")
        await s.connect(endpoint)
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
        s = await self._sock("REP")
        ctl.emit("bound", endpoint=await s.bind(endpoint))
        recv, send = s.recv, s.send
        for _ in range(count):
            await send(await recv())
        await self._expect(ctl, "release", timeout)
        return {"served": count}

    async def role_lat_req(
        self, ctl: Ctl, endpoint: str, count: int, warmup: int, size: int, timeout: float
    ) -> dict[str, Any]:
        s = await self._sock("REQ")
        await s.connect(endpoint)
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
        s = await self._sock("PULL")
        ctl.emit("bound", endpoint=await s.bind(endpoint))
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
        trio = self._trio
        s = await self._sock("PUSH")
        ctl.emit("bound", endpoint=await s.bind(endpoint))
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
                    await trio.sleep(wait / 1e9)
            await send([now().to_bytes(8, "little"), payload])
        ctl.emit("sent", sent=count)
        await self._expect(ctl, "release", timeout)
        return {}

    async def role_tof_relay(
        self, ctl: Ctl, src: str, dst: str, count: int, timeout: float
    ) -> dict[str, Any]:
        pull = await self._sock("PULL")
        push = await self._sock("PUSH")
        await pull.connect(src)
        await push.connect(dst)
        ctl.emit("ready")
        recv, send = pull.recv_multipart, push.send_multipart
        for _ in range(count):
            await send(await recv())
        ctl.emit("forwarded", forwarded=count)
        await self._expect(ctl, "release", timeout)
        return {}

    # ------------------------------------------------------------------------ fanout

    async def _until(self, ctl: Ctl, cmd: str, beat: Callable[[], Awaitable[None]]) -> None:
        """Call ``beat`` every 10 ms until the orchestrator sends ``cmd``."""
        while True:
            await beat()
            msg = ctl.poll()
            if msg is not None:
                if msg.get("cmd") != cmd:
                    raise ValueError(f"expected {cmd!r}, got {msg!r}")
                return
            await self._trio.sleep(0.01)

    async def role_pub(
        self, ctl: Ctl, endpoint: str, count: int, size: int, hwm: int, timeout: float
    ) -> dict[str, Any]:
        s = await self._sock("PUB", sndhwm=hwm)
        ctl.emit("bound", endpoint=await s.bind(endpoint))
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
            s = await self._sock("SUB", rcvhwm=hwm)
            s.subscribe(b"")
            await s.connect(endpoint)
            socks.append(s)
        for s in socks:  # each has seen the publisher: subscribed and connected
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

        async with self._trio.open_nursery() as nursery:
            for idx, s in enumerate(socks):
                nursery.start_soon(drain, idx, s)
        return {"counts": counts, "first_ns": first[0], "end_ns": max(ends)}

    # ------------------------------------------------------------------------ router

    async def role_router(
        self, ctl: Ctl, endpoint: str, count: int, timeout: float
    ) -> dict[str, Any]:
        s = await self._sock("ROUTER")
        ctl.emit("bound", endpoint=await s.bind(endpoint))
        recv, send = s.recv_multipart, s.send_multipart
        for _ in range(count):
            await send(await recv())
        await self._expect(ctl, "release", timeout)
        return {"served": count}

    async def role_dealers(
        self, ctl: Ctl, endpoint: str, ndealers: int, per_dealer: int, size: int, timeout: float
    ) -> dict[str, Any]:
        trio = self._trio
        socks = [await self._sock("DEALER") for _ in range(ndealers)]
        payload = b"x" * size

        async def warm(s: Any) -> None:  # one round trip each: every connection is up
            await s.connect(endpoint)
            await s.send(payload)
            await s.recv()

        async with trio.open_nursery() as nursery:
            for s in socks:
                nursery.start_soon(warm, s)
        ctl.emit("ready")

        async def loop(s: Any) -> None:
            send, recv = s.send, s.recv
            for _ in range(per_dealer):
                await send(payload)
                await recv()

        pc = time.perf_counter_ns
        t0 = pc()
        async with trio.open_nursery() as nursery:
            for s in socks:
                nursery.start_soon(loop, s)
        t1 = pc()
        return {"round_trips": ndealers * per_dealer, "elapsed_ns": t1 - t0}

    # ------------------------------------------------------------------------ inproc

    async def role_inproc(self, ctl: Ctl, count: int, size: int, timeout: float) -> dict[str, Any]:
        self._inproc_seq += 1
        endpoint = f"inproc://bench-{self._inproc_seq}"
        pull = await self._sock("PULL")
        await pull.bind(endpoint)
        push = await self._sock("PUSH")
        await push.connect(endpoint)
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

        async with self._trio.open_nursery() as nursery:
            nursery.start_soon(receiver)
            nursery.start_soon(sender)
        return out

    # ------------------------------------------------------------------------ memory

    async def role_mem_hold(
        self, ctl: Ctl, endpoint: str, rcvhwm: int, timeout: float
    ) -> dict[str, Any]:
        s = await self._sock("PULL", rcvhwm=rcvhwm)
        ctl.emit("bound", endpoint=await s.bind(endpoint), rss=rss_bytes())
        await self._expect(ctl, "measure", timeout)
        await self._trio.sleep(0.3)
        ctl.emit("measured", rss=rss_bytes())
        n = int((await self._expect(ctl, "drain", timeout))["n"])
        for _ in range(n):
            await s.recv()
        return {"received": n}

    async def role_mem_fill(
        self, ctl: Ctl, endpoint: str, size: int, sndhwm: int, timeout: float
    ) -> dict[str, Any]:
        zmtp = self._zmtp
        s = await self._sock("PUSH", sndhwm=sndhwm)
        await s.connect(endpoint)
        payload = b"x" * size
        sent = 0
        stalled = 0.0
        while True:  # until sends have been refused for 0.5 s: every queue is full
            try:
                s.send_nowait(payload)
                sent += 1
                stalled = 0.0
                if sent % 64 == 0:
                    await self._trio.sleep(0)  # let the writer run
            except zmtp.Again:
                t = time.monotonic()
                if sent and not stalled:
                    stalled = t
                elif sent and t - stalled > 0.5:
                    break
                await self._trio.sleep(0.01)
        ctl.emit("full", sent=sent)
        await self._expect(ctl, "release", timeout)
        return {}

    async def role_mem_idle_bind(
        self, ctl: Ctl, endpoint: str, n: int, timeout: float
    ) -> dict[str, Any]:
        s = await self._sock("PULL")
        ctl.emit("bound", endpoint=await s.bind(endpoint), rss=rss_bytes())
        for _ in range(n):  # one hello per connection: all are up
            await s.recv()
        await self._trio.sleep(0.3)
        ctl.emit("measured", rss=rss_bytes())
        await self._expect(ctl, "release", timeout)
        return {"received": n}

    async def role_mem_idle_connect(
        self, ctl: Ctl, endpoint: str, n: int, timeout: float
    ) -> dict[str, Any]:
        base = rss_bytes()
        socks = [await self._sock("PUSH") for _ in range(n)]

        async def hello(s: Any) -> None:
            await s.connect(endpoint)
            await s.send(b"hi")

        async with self._trio.open_nursery() as nursery:
            for s in socks:
                nursery.start_soon(hello, s)
        ctl.emit("connected", rss_base=base, rss=rss_bytes())
        await self._expect(ctl, "release", timeout)
        return {}


IMPL = TrioImpl()
