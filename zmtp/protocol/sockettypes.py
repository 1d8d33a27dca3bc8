"""Socket types: libzmq's numbers, the names on the wire, and which pairs may talk.

The numbers are libzmq's (``ZMQ_PAIR`` = 0 ...), so ``zmtp.PUSH == zmq.PUSH`` and code
ported from pyzmq can keep its integers.  The ZMTP/2.0 greeting carries a different,
older numbering for the classic types; both live here so nothing else has to know.
"""

from __future__ import annotations

import enum

__all__ = ["SocketType", "is_compatible", "zmtp2_code", "from_zmtp2_code"]


class SocketType(enum.IntEnum):
    PAIR = 0
    PUB = 1
    SUB = 2
    REQ = 3
    REP = 4
    DEALER = 5
    ROUTER = 6
    PULL = 7
    PUSH = 8
    XPUB = 9
    XSUB = 10
    STREAM = 11
    SERVER = 12
    CLIENT = 13
    RADIO = 14
    DISH = 15
    GATHER = 16
    SCATTER = 17
    DGRAM = 18
    PEER = 19
    CHANNEL = 20

    @property
    def wire_name(self) -> bytes:
        """The ``Socket-Type`` property value: upper-case ASCII, as libzmq compares it."""
        return self.name.encode("ascii")

    @classmethod
    def from_wire_name(cls, name: bytes) -> SocketType | None:
        """The type a peer announced, or None if libzmq would not recognise the name."""
        try:
            text = name.decode("ascii")
        except UnicodeDecodeError:
            return None
        member = cls.__members__.get(text)
        return member


_T = SocketType

# RFC 37 "Socket type compatibility", draft types included.  Symmetric by construction.
_PAIRS: frozenset[frozenset[SocketType]] = frozenset(
    frozenset(pair)
    for pair in [
        (_T.REQ, _T.REP),
        (_T.REQ, _T.ROUTER),
        (_T.REP, _T.DEALER),
        (_T.DEALER, _T.DEALER),
        (_T.DEALER, _T.ROUTER),
        (_T.ROUTER, _T.ROUTER),
        (_T.PUB, _T.SUB),
        (_T.PUB, _T.XSUB),
        (_T.XPUB, _T.SUB),
        (_T.XPUB, _T.XSUB),
        (_T.PUSH, _T.PULL),
        (_T.PAIR, _T.PAIR),
        (_T.CLIENT, _T.SERVER),
        (_T.RADIO, _T.DISH),
        (_T.SCATTER, _T.GATHER),
        (_T.PEER, _T.PEER),
        (_T.CHANNEL, _T.CHANNEL),
    ]
)


def is_compatible(ours: SocketType, theirs: SocketType) -> bool:
    """Whether RFC 37 (and libzmq) lets a socket of type ``ours`` talk to ``theirs``."""
    return frozenset((ours, theirs)) in _PAIRS


# ZMTP/2.0 (RFC 15) socket-type octet; XPUB/XSUB look like PUB/SUB to a 2.0 peer.
_ZMTP2_CODES: dict[SocketType, int] = {
    _T.PAIR: 0,
    _T.PUB: 1,
    _T.SUB: 2,
    _T.REQ: 3,
    _T.REP: 4,
    _T.DEALER: 5,
    _T.ROUTER: 6,
    _T.PULL: 7,
    _T.PUSH: 8,
    _T.XPUB: 1,
    _T.XSUB: 2,
}
_FROM_ZMTP2: dict[int, SocketType] = {
    0: _T.PAIR,
    1: _T.PUB,
    2: _T.SUB,
    3: _T.REQ,
    4: _T.REP,
    5: _T.DEALER,
    6: _T.ROUTER,
    7: _T.PULL,
    8: _T.PUSH,
    # libzmq 3.x writes its own type number into the 2.0 greeting, so its XPUB and
    # XSUB announce 9 and 10; accept them as what they are.
    9: _T.XPUB,
    10: _T.XSUB,
}


def zmtp2_code(socket_type: SocketType) -> int | None:
    """The octet a ZMTP/2.0 greeting uses for this type, or None if 2.0 has no such type."""
    return _ZMTP2_CODES.get(socket_type)


def from_zmtp2_code(code: int) -> SocketType | None:
    """The type a ZMTP/2.0 peer announced, or None for an octet RFC 15 does not define."""
    return _FROM_ZMTP2.get(code)
