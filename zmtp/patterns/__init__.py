"""Pattern logic per socket type: who gets the next message, what happens at HWM."""

from __future__ import annotations

from ..options import Options
from ..protocol.sockettypes import SocketType
from .base import FairQueue, LoadBalancer, Pattern, StateError, UnsupportedOperation
from .pubsub import Pub, Sub, XPub, XSub
from .reqrep import Rep, Req
from .router import Router
from .simple import Dealer, Pair, Pull, Push

__all__ = ["FairQueue", "LoadBalancer", "Pattern", "StateError", "UnsupportedOperation",
           "make_pattern", "SUPPORTED"]

_CLASSES: dict[SocketType, type[Pattern]] = {
    SocketType.PAIR: Pair,
    SocketType.PUB: Pub,
    SocketType.SUB: Sub,
    SocketType.REQ: Req,
    SocketType.REP: Rep,
    SocketType.DEALER: Dealer,
    SocketType.ROUTER: Router,
    SocketType.PULL: Pull,
    SocketType.PUSH: Push,
    SocketType.XPUB: XPub,
    SocketType.XSUB: XSub,
}

SUPPORTED = frozenset(_CLASSES)


def make_pattern(socket_type: SocketType, options: Options) -> Pattern:
    try:
        cls = _CLASSES[socket_type]
    except KeyError:
        raise ValueError(
            f"socket type {socket_type.name} is not supported yet; "
            f"supported: {', '.join(t.name for t in _CLASSES)}"
        ) from None
    return cls(options)
