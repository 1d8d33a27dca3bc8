"""What every implementation module provides: an ``Impl`` that serves the roles.

A role is one participant of one trial (``thr_send``, ``thr_recv``, ...). The
orchestrator sends ``{"cmd": "run", "role": name, "args": {...}}``; the worker calls
``IMPL.run(name, args, ctl)``, which returns the result dict (sent back as ``done``)
or raises (sent back as ``error``). Roles talk to the orchestrator through ``ctl``
(``emit`` events, ``expect`` commands), never inside a timed loop.

Rules for every role, whatever the implementation:

- build payloads before the timed loop; in the loop only send/recv and a counter;
  read clocks outside it (except ``lat_req`` and ``tof_*``, whose figure is a clock);
- every receive is bounded by ``args["timeout"]`` seconds (a socket option, or one
  deadline around the loop where a per-call timeout would cost more than the call);
- a role that sent anything keeps its sockets open until the orchestrator sends
  ``release`` (so nothing depends on linger), then closes them with linger 0.

Roles, their arguments (besides ``timeout``), the events they emit and the result:

=================  ==========================================  ==============================
role               args                                        events -> result
=================  ==========================================  ==============================
thr_recv           endpoint, count, size                       bound(endpoint) -> received,
                                                               elapsed_ns, last_len
thr_send           endpoint, count, size                       sent(sent); waits release
lat_rep            endpoint, count                             bound; waits release -> served
lat_req            endpoint, count, warmup, size               -> latency summary, elapsed_ns
tof_sink           endpoint, count, warmup                     bound -> latency summary
tof_source         endpoint, count, size, rate                 bound; waits go; sent; release
tof_relay          src, dst, count                             ready; forwarded; waits release
pub                endpoint, count, size, hwm (sndhwm)         bound; "W" until go; sent(
                                                               elapsed_ns); "E" until release
sub                endpoint, nsocks, hwm (rcvhwm)              ready -> counts, first_ns,
                                                               end_ns (monotonic clock)
router             endpoint, count                             bound; waits release -> served
dealers            endpoint, ndealers, per_dealer, size        ready -> round_trips, elapsed_ns
inproc             count, size                                 -> received, elapsed_ns,
                                                               last_len
mem_hold           endpoint, rcvhwm                            bound(rss); waits measure;
                                                               measured(rss); waits drain(n)
                                                               -> received
mem_fill           endpoint, size, sndhwm                      full(sent); waits release
mem_idle_bind      endpoint, n                                 bound(rss); measured(rss);
                                                               waits release -> received
mem_idle_connect   endpoint, n                                 connected(rss_base, rss);
                                                               waits release
=================  ==========================================  ==============================

``thr_send`` sends ``count + 1`` messages; the receiver's clock starts at the first
(so connection setup is not timed) and stops at the last. The ``pub`` data messages
start with ``b"D"``, warm-up ones are ``b"W"``, end markers ``b"E"``. ``tof`` messages
are two frames: the sender's ``time.monotonic_ns()`` (8 bytes little endian; the
monotonic clock is system-wide on Linux) and the payload.
"""

from __future__ import annotations

import abc
from typing import Any

from ..control import Ctl

ROLES = (
    "thr_recv",
    "thr_send",
    "lat_rep",
    "lat_req",
    "tof_sink",
    "tof_source",
    "tof_relay",
    "pub",
    "sub",
    "router",
    "dealers",
    "inproc",
    "mem_hold",
    "mem_fill",
    "mem_idle_bind",
    "mem_idle_connect",
)

WARM = b"W"
END = b"E"
DATA = b"D"


class Impl(abc.ABC):
    """One implementation's role server. Subclasses define ``role_<name>`` for each role."""

    name = "?"

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Import the library and create shared state; called once per worker process."""

    def version(self) -> str:
        return ""

    @abc.abstractmethod
    def run(self, role: str, args: dict[str, Any], ctl: Ctl) -> dict[str, Any]:
        """Serve one role to completion and return its result."""

    def missing_roles(self) -> list[str]:
        return [r for r in ROLES if not callable(getattr(self, f"role_{r}", None))]
