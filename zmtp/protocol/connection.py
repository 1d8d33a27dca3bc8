"""The sans-IO ZMTP connection: bytes in, events out, bytes to send queued.

One object per transport connection.  It owns the greeting exchange, the mechanism
handshake, the socket-type check, framing in both directions and the automatic PONG.
It never does I/O; the driver (trio sockets, the pyzmq face, a fuzzer) moves the bytes.

Failure model: any violation by the peer raises ``ProtocolError`` (carrying the events
parsed before it) and closes the connection for good; an ERROR the local side wants the
peer to see is queued first, so the driver flushes ``data_to_send()`` once more.  The
peer's own ERROR is not an exception: it arrives as a ``PeerError`` event and closes the
connection (a PLAIN client whose credentials were refused sees ``PeerError("400")``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import ProtocolError
from .commands import (
    CANCEL,
    ERROR,
    PING,
    PONG,
    SUBSCRIBE,
    encode_cancel,
    encode_error,
    encode_ping,
    encode_pong,
    encode_subscribe,
    parse_command,
    parse_error,
    parse_ping,
)
from .events import (
    Cancel,
    Closed,
    Event,
    HandshakeComplete,
    PeerError,
    Ping,
    Pong,
    Subscribe,
)
from .frames import FrameDecoder, FrameEncoder, encode_frame
from .greeting import (
    GREETING_SIZE,
    SIGNATURE_SIZE,
    V2_GREETING_SIZE,
    check_mechanism_name,
    decode_greeting,
    encode_greeting_rest,
    encode_signature,
)
from .mechanisms import Mechanism, NullMechanism
from .metadata import IDENTITY, SOCKET_TYPE, encode_metadata, get_property
from .sockettypes import SocketType, from_zmtp2_code, is_compatible, zmtp2_code

__all__ = ["Connection"]

_SENDS_IDENTITY = frozenset({SocketType.REQ, SocketType.DEALER, SocketType.ROUTER})
_RECEIVES_SUBSCRIPTIONS = frozenset({SocketType.PUB, SocketType.XPUB})
_RESERVED_NAMES = frozenset({SOCKET_TYPE.lower(), IDENTITY.lower()})


def _zmtp1_error(detail: str) -> ProtocolError:
    return ProtocolError(
        f"peer speaks ZMTP/1.0 or is not a ZMTP peer ({detail}); "
        "zmtp talks ZMTP 3.x and, for NULL security, ZMTP/2.0 only"
    )


class Connection:
    """One ZMTP connection's protocol state.  See zmtp/protocol/CONTRACT.md."""

    __slots__ = (
        "_bare_single_frames",
        "_batch_messages",
        "_closed",
        "_decoder",
        "_encoder",
        "_failure",
        "_greet",
        "_greet_target",
        "_handshake_complete",
        "_mechanism",
        "_metadata_bytes",
        "_peer_closed_with_error",
        "_peer_metadata",
        "_peer_routing_id",
        "_peer_socket_type",
        "_peer_version",
        "_pong_queued",
        "_routing_id",
        "_subs_as_commands",
        "maxmsgsize",
        "socket_type",
    )

    def __init__(
        self,
        socket_type: SocketType | int,
        mechanism: Mechanism | None = None,
        routing_id: bytes = b"",
        metadata: Mapping[str, bytes] | None = None,
        maxmsgsize: int = -1,
        batch_messages: bool = False,
        bare_single_frames: bool = False,
    ) -> None:
        if bare_single_frames and not batch_messages:
            raise ValueError("bare_single_frames applies to batch_messages=True only")
        self.socket_type = SocketType(socket_type)
        self._batch_messages = batch_messages
        self._bare_single_frames = bare_single_frames
        mech = mechanism if mechanism is not None else NullMechanism()
        check_mechanism_name(mech.name)
        self._mechanism = mech.fresh()
        self._routing_id = bytes(routing_id)
        if len(self._routing_id) > 255:
            raise ValueError("routing_id is at most 255 octets")
        self.maxmsgsize = maxmsgsize

        props: dict[str, bytes] = {SOCKET_TYPE: self.socket_type.wire_name}
        if self.socket_type in _SENDS_IDENTITY:
            props[IDENTITY] = self._routing_id  # always, empty when unset, as libzmq
        for name, value in (metadata or {}).items():
            if name.lower() in _RESERVED_NAMES:
                raise ValueError(f"metadata property {name!r} is set by the connection itself")
            props[name] = bytes(value)
        self._metadata_bytes = encode_metadata(props)

        self._encoder = FrameEncoder()
        self._encoder.raw(encode_signature(len(self._routing_id)))
        self._greet = bytearray()
        self._greet_target = SIGNATURE_SIZE
        self._decoder: FrameDecoder | None = None
        self._handshake_complete = False
        self._closed = False
        self._failure: str | None = None
        self._peer_closed_with_error: str | None = None
        self._peer_version: tuple[int, int] | None = None
        self._peer_socket_type: SocketType | None = None
        self._peer_routing_id = b""
        self._peer_metadata: dict[str, bytes] = {}
        self._subs_as_commands = False
        #: A PONG is queued and not yet taken by data_to_send() (see _on_command).
        self._pong_queued = False

    def __repr__(self) -> str:
        state = (
            "closed" if self._closed else "ready" if self._handshake_complete else "handshake"
        )
        return (
            f"<Connection {self.socket_type.name} {self._mechanism.name.decode()} {state}"
            f" peer={self._peer_socket_type.name if self._peer_socket_type else '?'}"
            f" v{self._peer_version}>"
        )

    # -- properties ---------------------------------------------------------------------

    @property
    def handshake_complete(self) -> bool:
        return self._handshake_complete

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def peer_version(self) -> tuple[int, int] | None:
        """As the peer announced it: (3, 1), (3, 0), (2, 0); higher 3.x versions as sent."""
        return self._peer_version

    @property
    def peer_socket_type(self) -> SocketType | None:
        return self._peer_socket_type

    @property
    def peer_routing_id(self) -> bytes:
        return self._peer_routing_id

    @property
    def peer_metadata(self) -> dict[str, bytes]:
        return self._peer_metadata

    @property
    def mechanism(self) -> Mechanism:
        """This connection's own mechanism state (e.g. a PLAIN server's ``username``)."""
        return self._mechanism

    @property
    def has_data_to_send(self) -> bool:
        return self._encoder.pending

    @property
    def buffered(self) -> int:
        """Octets held for incomplete input (the fuzz suite checks the bound)."""
        dec = self._decoder
        return len(self._greet) if dec is None else dec.buffered

    @property
    def allocated(self) -> int:
        """Octets of input buffers held (the fuzz suite checks it against ``buffered``)."""
        dec = self._decoder
        return len(self._greet) if dec is None else dec.allocated

    # -- input ------------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> list[Event]:
        if self._closed:
            self._raise_if_failed()
            return []  # closed cleanly (EOF, peer ERROR, send_error): late bytes are moot
        if not len(data):
            self._closed = True
            return [Closed()]
        events: list[Event] = []
        try:
            dec = self._decoder
            if dec is None:
                rest = self._feed_greeting(data)
                dec = self._decoder
                if dec is None or not rest:
                    return events
                data = rest
            dec.feed(data, events)
        except ProtocolError as exc:
            self._fail(exc, events)
            raise
        except Exception as exc:
            # Not the peer's fault (e.g. a PLAIN authenticate callable raised): the
            # state is unknown, so close for good, and let the real error through.
            self._closed = True
            self._failure = f"{type(exc).__name__} while processing input: {exc}"
            raise
        return events

    def pending_frame_buffer(self) -> memoryview | None:
        dec = self._decoder
        if dec is None or self._closed:
            return None
        return dec.pending_buffer()

    def frame_data_received(self, nbytes: int) -> list[Event]:
        if self._closed:
            self._raise_if_failed()
            return []
        dec = self._decoder
        if dec is None:
            raise RuntimeError("frame_data_received() without a pending frame buffer")
        events: list[Event] = []
        try:
            dec.buffer_filled(nbytes, events)
        except ProtocolError as exc:
            self._fail(exc, events)
            raise
        return events

    def _raise_if_failed(self) -> None:
        if self._failure is not None:
            raise ProtocolError(f"connection already failed: {self._failure}")

    def _fail(self, exc: ProtocolError, events: list[Event]) -> None:
        self._closed = True
        if self._failure is None:
            self._failure = str(exc)
        exc.events = list(events)

    # -- greeting ---------------------------------------------------------------------

    def _feed_greeting(self, data: bytes | bytearray | memoryview) -> memoryview | None:
        """Consume greeting octets; return what follows the greeting, if it completed."""
        view = memoryview(data)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
        g = self._greet
        pos = 0
        n = len(view)
        while True:
            target = self._greet_target
            if len(g) < target and pos < n:
                take = min(target - len(g), n - pos)
                g += view[pos : pos + take]
                pos += take
            if g and g[0] != 0xFF:
                raise _zmtp1_error(f"first octet 0x{g[0]:02x} is not 0xFF")
            if len(g) < target:
                return None
            if target == SIGNATURE_SIZE:
                if not g[9] & 1:
                    raise _zmtp1_error("signature octet 9 has its low bit clear")
                self._encoder.raw(b"\x03")  # step 2: our major version
                self._greet_target = SIGNATURE_SIZE + 1
            elif target == SIGNATURE_SIZE + 1:
                revision = g[10]
                if revision == 0:
                    raise _zmtp1_error("revision octet 0")
                if revision == 1:
                    self._start_zmtp2()
                    self._greet_target = V2_GREETING_SIZE
                else:
                    # 3 (or anything newer): step 3, the rest of a 3.x greeting
                    self._encoder.raw(encode_greeting_rest(self._mechanism.name))
                    self._greet_target = GREETING_SIZE
            elif target == V2_GREETING_SIZE:
                self._finish_zmtp2_greeting()
                return view[pos:]
            else:
                self._finish_zmtp3_greeting()
                return view[pos:]

    def _start_zmtp2(self) -> None:
        if not self._mechanism.allows_zmtp2:
            mech = self._mechanism.name.decode()
            raise ProtocolError(
                f"peer speaks ZMTP/2.0, which has no security mechanisms; refusing to "
                f"downgrade from {mech} (downgrade protection)"
            )
        code = zmtp2_code(self.socket_type)
        if code is None:
            raise ProtocolError(
                f"peer speaks ZMTP/2.0, which has no {self.socket_type.name} socket type"
            )
        # 2.0 greeting tail: our socket type, then our identity as a final short frame
        self._encoder.raw(bytes((code,)) + encode_frame(self._routing_id))

    def _finish_zmtp2_greeting(self) -> None:
        code = self._greet[11]
        peer_type = from_zmtp2_code(code)
        if peer_type is None:
            raise ProtocolError(f"ZMTP/2.0 peer announced an unknown socket type {code}")
        if not is_compatible(self.socket_type, peer_type):
            raise ProtocolError(
                f"socket type {self.socket_type.name} cannot talk to a "
                f"{peer_type.name} peer (ZMTP/2.0)"
            )
        self._peer_version = (2, 0)
        self._peer_socket_type = peer_type
        self._decoder = FrameDecoder(
            maxmsgsize=self.maxmsgsize,
            v2=True,
            accept_messages=False,
            on_early_message=self._zmtp2_identity,
            batch=self._batch_messages,
            bare=self._bare_single_frames,
        )

    def _zmtp2_identity(self, frames: list[bytes], events: list[Event]) -> None:
        assert self._peer_socket_type is not None
        # The hot loop refuses MORE frames before the handshake, so this is one frame.
        self._complete(self._peer_socket_type, frames[0], {}, events)

    def _finish_zmtp3_greeting(self) -> None:
        greeting = decode_greeting(self._greet)
        self._peer_version = (greeting.major, greeting.minor)
        ours = self._mechanism.name
        if greeting.mechanism != ours:
            raise ProtocolError(
                f"security mechanism mismatch: we use {ours.decode()}, the peer uses "
                f"{greeting.mechanism.decode()}; configure both sides with the same mechanism"
            )
        # Newer than 3.1 speaks at least 3.1 (a peer must accept higher versions).
        self._subs_as_commands = self._peer_version >= (3, 1)
        self._decoder = FrameDecoder(
            maxmsgsize=self.maxmsgsize,
            on_command=self._on_command,
            on_early_message=self._early_message,
            accept_messages=False,
            batch=self._batch_messages,
            bare=self._bare_single_frames,
        )
        self._mechanism.start(self._encoder.command, self._metadata_bytes)

    # -- commands ---------------------------------------------------------------------

    def _early_message(self, frames: list[bytes], events: list[Event]) -> None:
        mech = self._mechanism.name.decode()
        raise ProtocolError(
            f"peer sent a message before the {mech} handshake completed (no READY yet)"
        )

    def _on_command(self, body: bytes, events: list[Event]) -> bool:
        name, data = parse_command(body)
        if name == ERROR:
            reason = parse_error(data)
            events.append(PeerError(reason))
            self._closed = True
            self._peer_closed_with_error = reason
            return True
        if self._handshake_complete:
            if name == PING:
                ttl, context = parse_ping(data)
                # At most one PONG waits to be sent, as in libzmq: a peer that floods
                # PINGs and never reads cannot make us queue PONGs without bound.
                if not self._pong_queued:
                    self._encoder.command(encode_pong(context))
                    self._pong_queued = True
                events.append(Ping(ttl, context))
            elif name == PONG:
                events.append(Pong(data))
            elif name == SUBSCRIBE and self.socket_type in _RECEIVES_SUBSCRIPTIONS:
                events.append(Subscribe(data))
            elif name == CANCEL and self.socket_type in _RECEIVES_SUBSCRIPTIONS:
                events.append(Cancel(data))
            # anything else after the handshake is ignored, as libzmq does
            return False
        props = self._mechanism.process(name, data, self._encoder.command)
        if props is not None:
            self._check_peer_metadata(props, events)
        return False

    def _check_peer_metadata(self, props: dict[str, bytes], events: list[Event]) -> None:
        raw = get_property(props, SOCKET_TYPE)
        if raw is None:
            self._encoder.command(encode_error(b"missing Socket-Type"))
            raise ProtocolError("peer's handshake metadata has no Socket-Type property")
        peer_type = SocketType.from_wire_name(raw)
        if peer_type is None:
            self._encoder.command(encode_error(b"unknown Socket-Type"))
            raise ProtocolError(f"peer announced an unknown Socket-Type {raw!r}")
        if not is_compatible(self.socket_type, peer_type):
            self._encoder.command(encode_error(b"incompatible Socket-Type"))
            raise ProtocolError(
                f"socket type {self.socket_type.name} cannot talk to a {peer_type.name} "
                "peer (RFC 37 socket type compatibility)"
            )
        routing_id = get_property(props, IDENTITY) or b""
        self._complete(peer_type, routing_id, props, events)

    def _complete(
        self,
        peer_type: SocketType,
        routing_id: bytes,
        props: dict[str, bytes],
        events: list[Event],
    ) -> None:
        assert self._decoder is not None and self._peer_version is not None
        self._peer_socket_type = peer_type
        self._peer_routing_id = routing_id
        self._peer_metadata = props
        self._handshake_complete = True
        self._decoder.accept_messages = True
        self._decoder.subscriptions = self.socket_type in _RECEIVES_SUBSCRIPTIONS
        events.append(HandshakeComplete(peer_type, routing_id, props, self._peer_version))

    # -- output -----------------------------------------------------------------------

    def data_to_send(self) -> list[bytes | bytearray | memoryview]:
        self._pong_queued = False
        return self._encoder.drain()

    def _check_send(self) -> None:
        if self._closed:
            if self._failure is not None:
                raise ProtocolError(f"connection failed: {self._failure}")
            if self._peer_closed_with_error is not None:
                raise ProtocolError(
                    f"connection closed by the peer's ERROR {self._peer_closed_with_error!r}"
                )
            raise RuntimeError("connection is closed")
        if not self._handshake_complete:
            raise RuntimeError("cannot send before the handshake completed (HandshakeComplete)")

    def send_message(self, frames: Sequence[Any]) -> None:
        """One multipart message; payloads >= ZERO_COPY_THRESHOLD are not copied."""
        self._check_send()
        if isinstance(frames, (bytes, bytearray, memoryview, str)):
            raise TypeError("send_message() takes a sequence of frames, e.g. [b'data']")
        self._encoder.messages((frames,))

    def send_messages(self, messages: Iterable[Sequence[Any]]) -> None:
        self._check_send()
        self._encoder.messages(messages)

    def send_subscribe(self, topic: bytes) -> None:
        self._check_send()
        if self._subs_as_commands:
            self._encoder.command(encode_subscribe(bytes(topic)))
        else:
            self._encoder.messages(((b"\x01" + bytes(topic),),))

    def send_cancel(self, topic: bytes) -> None:
        self._check_send()
        if self._subs_as_commands:
            self._encoder.command(encode_cancel(bytes(topic)))
        else:
            self._encoder.messages(((b"\x00" + bytes(topic),),))

    def send_ping(self, ttl: float = 0.0, context: bytes = b"") -> None:
        """PING (ZMTP 3.1).  A no-op for 3.0 and 2.0 peers, which have no heartbeats."""
        self._check_send()
        body = encode_ping(ttl, bytes(context))
        if self._subs_as_commands:
            self._encoder.command(body)

    def send_error(self, reason: str) -> None:
        """Queue ERROR (3.x peers, once the greeting is through) and close the connection."""
        if self._closed:
            self._check_send()
        version = self._peer_version
        if self._decoder is not None and version is not None and version >= (3, 0):
            self._encoder.command(encode_error(reason))
        self._closed = True
