"""Commands and metadata: byte strings from RFC 23/37/24, round trips, malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zmtp.errors import ProtocolError
from zmtp.protocol import commands as c
from zmtp.protocol.metadata import decode_metadata, encode_metadata, get_property


def test_ready_body() -> None:
    # ready = command-size %d5 "READY" metadata ; property = name value
    # name = OCTET 1*255name-char ; value = 4OCTET *OCTET
    body = c.encode_command(c.READY, encode_metadata({"Socket-Type": b"DEALER", "Identity": b""}))
    assert body == (
        b"\x05READY"
        b"\x0bSocket-Type\x00\x00\x00\x06DEALER"
        b"\x08Identity\x00\x00\x00\x00"
    )


def test_error_body() -> None:
    assert c.encode_error("400") == b"\x05ERROR\x03400"
    assert c.parse_error(b"\x03400") == "400"
    assert c.parse_error(b"") == ""
    assert len(c.encode_error("x" * 999)) == 6 + 1 + 255  # reason capped at 255


def test_ping_pong_bodies() -> None:
    # ping = command-size %d4 "PING" ping-ttl ping-context ; ttl in deciseconds
    assert c.encode_ping(1.5, b"ctx") == b"\x04PING\x00\x0fctx"
    assert c.encode_ping(0) == b"\x04PING\x00\x00"
    assert c.encode_ping(1e9) == b"\x04PING\xff\xff"  # capped at 6553.5 s
    assert c.parse_ping(b"\x00\x0fctx") == (1.5, b"ctx")
    assert c.encode_pong(b"ctx") == b"\x04PONGctx"
    with pytest.raises(ValueError):
        c.encode_ping(1, b"x" * 17)


@pytest.mark.parametrize("data", [b"", b"\x00"])
def test_ping_without_ttl(data: bytes) -> None:
    with pytest.raises(ProtocolError, match="TTL"):
        c.parse_ping(data)


def test_ping_context_too_long() -> None:
    assert c.parse_ping(b"\x00\x01" + b"x" * 16)[1] == b"x" * 16
    # libzmq 4.3.5 truncates a longer context to 16 octets and PONGs those; so do we.
    assert c.parse_ping(b"\x00\x01" + b"x" * 16 + b"y")[1] == b"x" * 16


def test_subscribe_cancel_bodies() -> None:
    assert c.encode_subscribe(b"topic") == b"\x09SUBSCRIBEtopic"
    assert c.encode_cancel(b"") == b"\x06CANCEL"


def test_plain_bodies() -> None:
    # hello = command-size %d5 "HELLO" username password (RFC 24)
    assert c.encode_hello(b"admin", b"secret") == b"\x05HELLO\x05admin\x06secret"
    assert c.parse_hello(b"\x05admin\x06secret") == (b"admin", b"secret")
    assert c.parse_hello(b"\x00\x00") == (b"", b"")


@pytest.mark.parametrize("data", [b"", b"\x05adm", b"\x05admin", b"\x01a\x05abc", b"\x01a\x01bc"])
def test_malformed_hello(data: bytes) -> None:
    with pytest.raises(ProtocolError, match="HELLO"):
        c.parse_hello(data)


@pytest.mark.parametrize(
    ("body", "match"),
    [(b"", "empty command"), (b"\x00", "empty name"), (b"\x05REA", "malformed command")],
)
def test_malformed_command(body: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        c.parse_command(body)


def test_parse_command() -> None:
    assert c.parse_command(b"\x05READYdata") == (b"READY", b"data")
    assert c.parse_command(b"\x04PING") == (b"PING", b"")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x00", "empty name"),
        (b"\x05Ident", "name runs past"),
        (b"\x01A\x00\x00\x00", "name runs past"),
        (b"\x01A\x00\x00\x00\x05abc", "runs past the end"),
        (b"\x01A\xff\xff\xff\xff", "runs past the end"),
    ],
)
def test_malformed_metadata(data: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        decode_metadata(data)


def test_metadata_lookup_is_case_insensitive() -> None:
    props = decode_metadata(b"\x0bsocket-type\x00\x00\x00\x03PUB")
    assert props == {"socket-type": b"PUB"}
    assert get_property(props, "Socket-Type") == b"PUB"
    assert get_property(props, "Identity") is None


@pytest.mark.parametrize("name", ["", "bad name", "x" * 256, "ünï"])
def test_local_property_names_checked(name: str) -> None:
    with pytest.raises(ValueError):
        encode_metadata({name: b""})


name_st = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.+",
    min_size=1,
    max_size=255,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(name_st, st.binary(max_size=300), max_size=6))
def test_metadata_roundtrip(props: dict[str, bytes]) -> None:
    assert decode_metadata(encode_metadata(props)) == props


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=255), st.binary(max_size=64))
def test_command_roundtrip(name: bytes, data: bytes) -> None:
    assert c.parse_command(c.encode_command(name, data)) == (name, data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_parsers_raise_only_protocol_error(data: bytes) -> None:
    for parse in (decode_metadata, c.parse_hello, c.parse_ping, c.parse_error, c.parse_command):
        try:
            parse(data)
        except ProtocolError:
            pass
