"""ZMTP command bodies: name-length octet, name, data.

Encoders return the body of a command frame (the frame header is the encoder's job).
Parsers take the data after the name and raise ProtocolError on anything malformed.
"""

from __future__ import annotations

from ..errors import ProtocolError

__all__ = [
    "CANCEL",
    "ERROR",
    "HELLO",
    "INITIATE",
    "MAX_PING_CONTEXT",
    "PING",
    "PONG",
    "READY",
    "SUBSCRIBE",
    "WELCOME",
    "encode_cancel",
    "encode_command",
    "encode_error",
    "encode_hello",
    "encode_ping",
    "encode_pong",
    "encode_subscribe",
    "parse_command",
    "parse_error",
    "parse_hello",
    "parse_ping",
]

READY = b"READY"
ERROR = b"ERROR"
PING = b"PING"
PONG = b"PONG"
SUBSCRIBE = b"SUBSCRIBE"
CANCEL = b"CANCEL"
HELLO = b"HELLO"
WELCOME = b"WELCOME"
INITIATE = b"INITIATE"

MAX_PING_CONTEXT = 16
MAX_TTL_DECISECONDS = 0xFFFF


def encode_command(name: bytes, data: bytes = b"") -> bytes:
    if not 1 <= len(name) <= 255:
        raise ValueError(f"command name {name!r} must be 1-255 octets")
    return bytes((len(name),)) + name + data


# libzmq 4.3.x writes its ZAP-failure ERROR with the C literal "\x05ERROR", which C reads
# as the single octet 0x5E ('^') followed by "RROR": the command arrives as "^RROR" +
# reason, and libzmq's own parser expects exactly that.  Seen from libzmq 4.3.5 (PLAIN
# server refusing credentials); accepted here so its refusal reaches us as ERROR.
LIBZMQ_MANGLED_ERROR = b"^RROR"


def parse_command(body: bytes) -> tuple[bytes, bytes]:
    if body[:5] == LIBZMQ_MANGLED_ERROR:
        return ERROR, body[5:]
    if not body:
        raise ProtocolError("empty command frame (a command needs at least a name)")
    nlen = body[0]
    if nlen == 0:
        raise ProtocolError("command with an empty name")
    if len(body) < 1 + nlen:
        raise ProtocolError(
            f"malformed command: name of {nlen} octets announced, {len(body) - 1} present"
        )
    return body[1 : 1 + nlen], body[1 + nlen :]


def encode_error(reason: str | bytes) -> bytes:
    """ERROR: a 0-255 octet reason (ASCII; longer reasons are cut)."""
    raw = reason.encode("ascii", "replace") if isinstance(reason, str) else bytes(reason)
    raw = raw[:255]
    return encode_command(ERROR, bytes((len(raw),)) + raw)


def parse_error(data: bytes) -> str:
    """The peer's reason as text.  Lenient: a short or missing reason still means ERROR."""
    if not data:
        return ""
    raw = data[1 : 1 + data[0]]
    return raw.decode("ascii", "replace")


def ttl_to_deciseconds(ttl: float) -> int:
    return max(0, min(MAX_TTL_DECISECONDS, round(ttl * 10)))


def encode_ping(ttl: float = 0.0, context: bytes = b"") -> bytes:
    if len(context) > MAX_PING_CONTEXT:
        raise ValueError(f"PING context is at most {MAX_PING_CONTEXT} octets, got {len(context)}")
    return encode_command(PING, ttl_to_deciseconds(ttl).to_bytes(2, "big") + bytes(context))


def parse_ping(data: bytes) -> tuple[float, bytes]:
    """(ttl in seconds, context).

    A context longer than the 16 octets ZMTP 3.1 allows is cut to 16, not refused: libzmq
    4.3 does exactly that (and PONGs the first 16 octets), so a peer that gets away with it
    there must not lose its connection here.
    """
    if len(data) < 2:
        raise ProtocolError(f"PING of {len(data)} data octets: the 2-octet TTL is missing")
    return int.from_bytes(data[:2], "big") / 10.0, data[2 : 2 + MAX_PING_CONTEXT]


def encode_pong(context: bytes = b"") -> bytes:
    return encode_command(PONG, bytes(context))


def encode_subscribe(topic: bytes) -> bytes:
    return encode_command(SUBSCRIBE, bytes(topic))


def encode_cancel(topic: bytes) -> bytes:
    return encode_command(CANCEL, bytes(topic))


def encode_hello(username: bytes, password: bytes) -> bytes:
    """PLAIN HELLO (RFC 24): username and password, each a length octet + 0-255 octets."""
    if len(username) > 255 or len(password) > 255:
        raise ValueError("PLAIN username and password are at most 255 octets each")
    return encode_command(
        HELLO, bytes((len(username),)) + username + bytes((len(password),)) + password
    )


def parse_hello(data: bytes) -> tuple[bytes, bytes]:
    if not data:
        raise ProtocolError("malformed PLAIN HELLO: no username")
    ulen = data[0]
    if len(data) < 2 + ulen:
        raise ProtocolError("malformed PLAIN HELLO: username runs past the end")
    username = data[1 : 1 + ulen]
    plen = data[1 + ulen]
    password = data[2 + ulen : 2 + ulen + plen]
    if 2 + ulen + plen != len(data):
        raise ProtocolError("malformed PLAIN HELLO: password length does not match the command")
    return username, password
