"""O2 DPL message headers: build and parse DataHeader + DataProcessingHeader stacks.

ALICE's Data Processing Layer sends each data item as a header-stack message followed by
its payload; its raw-input proxy (``o2-dpl-raw-proxy``) requires a DataHeader followed by
a DataProcessingHeader (FAIRMQ.md §9). With these a Python device on a ``push`` channel
can feed DPL, and a Python sink can read what DPL sends. Layouts (little-endian,
zero-padded ASCII fields):

* BaseHeader, 32 B: magic ``O2O2``, headerSize, flags (bit 0: another header follows),
  headerVersion, description (8 chars, the header type), serialization (8 chars);
* DataHeader, 96 B, ``DataHead`` v3: dataDescription (16), dataOrigin (4),
  splitPayloadParts, payloadSerializationMethod (8), subSpecification,
  splitPayloadIndex, payloadSize (u64), firstTForbit, tfCounter, runNumber, 4 B padding;
* DataProcessingHeader, 56 B, ``DataFlow`` v1: startTime, duration, creation (u64 each).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from ..errors import ZMTPError

__all__ = [
    "BASE_HEADER_SIZE",
    "DATA_HEADER_SIZE",
    "DATA_HEADER_VERSION",
    "DATA_PROCESSING_HEADER_SIZE",
    "CREATION_PLACEHOLDER",
    "DPLHeaderError",
    "DataHeader",
    "DataProcessingHeader",
    "OtherHeader",
    "build_header_stack",
    "dpl_parts",
    "parse_header_stack",
    "split_dpl_parts",
]

MAGIC: Final = b"O2O2"
FLAG_NEXT_HEADER: Final = 0x1
BASE_HEADER_SIZE: Final = 32
DATA_HEADER_SIZE: Final = 96
DATA_PROCESSING_HEADER_SIZE: Final = 56
DATA_HEADER_VERSION: Final = 3
DATA_PROCESSING_HEADER_VERSION: Final = 1
#: Top bit of ``creation``: set when the constructor filled in the time itself.
CREATION_PLACEHOLDER: Final = 1 << 63

_BASE = struct.Struct("<4sIII8s8s")
_DATA = struct.Struct("<16s4sI8sIIQIII4x")
_DPH = struct.Struct("<QQQ")
assert _BASE.size == BASE_HEADER_SIZE
assert _BASE.size + _DATA.size == DATA_HEADER_SIZE
assert _BASE.size + _DPH.size == DATA_PROCESSING_HEADER_SIZE


class DPLHeaderError(ZMTPError, ValueError):
    """Bytes that are not a valid O2 header stack, or a field that does not fit."""


def _chars(value: str, size: int, what: str) -> bytes:
    if not value.isascii():
        raise DPLHeaderError(f"{what} '{value}' must be ASCII")
    raw = value.encode("ascii")
    if len(raw) > size:
        raise DPLHeaderError(f"{what} '{value}' is longer than {size} characters")
    return raw.ljust(size, b"\0")


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", errors="replace")


def _u32(value: int, what: str) -> int:
    if not 0 <= value < 2**32:
        raise DPLHeaderError(f"{what} {value} does not fit in 32 unsigned bits")
    return value


def _base(size: int, flags: int, version: int, description: str, serialization: str) -> bytes:
    return _BASE.pack(MAGIC, size, flags, version, _chars(description, 8, "header description"),
                      _chars(serialization, 8, "header serialization"))


@dataclass(frozen=True)
class DataHeader:
    """What the data is (origin/description/subspec) and how big its payload is."""

    data_origin: str
    data_description: str
    sub_specification: int = 0
    payload_size: int = 0
    payload_serialization: str = "NONE"
    split_payload_parts: int = 1
    split_payload_index: int = 0
    first_tf_orbit: int = 0
    tf_counter: int = 0
    run_number: int = 0
    flags: int = 0  # bits 16-31 belong to the header; bit 0 is set by the stack builder

    def pack(self, *, next_header: bool = False) -> bytes:
        flags = (self.flags & ~FLAG_NEXT_HEADER) | (FLAG_NEXT_HEADER if next_header else 0)
        if not 0 <= self.payload_size < 2**64:
            raise DPLHeaderError(f"payloadSize {self.payload_size} does not fit in 64 bits")
        return _base(DATA_HEADER_SIZE, _u32(flags, "flags"), DATA_HEADER_VERSION, "DataHead",
                     "NONE") + _DATA.pack(
            _chars(self.data_description, 16, "dataDescription"),
            _chars(self.data_origin, 4, "dataOrigin"),
            _u32(self.split_payload_parts, "splitPayloadParts"),
            _chars(self.payload_serialization, 8, "payloadSerializationMethod"),
            _u32(self.sub_specification, "subSpecification"),
            _u32(self.split_payload_index, "splitPayloadIndex"),
            self.payload_size,
            _u32(self.first_tf_orbit, "firstTForbit"),
            _u32(self.tf_counter, "tfCounter"),
            _u32(self.run_number, "runNumber"),
        )


@dataclass(frozen=True)
class DataProcessingHeader:
    """Which timeslice the data belongs to (``startTime``), and when it was created."""

    start_time: int
    duration: int = 1
    creation: int | None = None  # None: now (ms since epoch) with the placeholder bit

    def resolved_creation(self) -> int:
        if self.creation is not None:
            return self.creation
        return (time.time_ns() // 1_000_000) | CREATION_PLACEHOLDER

    def pack(self, *, next_header: bool = False) -> bytes:
        values = (self.start_time, self.duration, self.resolved_creation())
        if not all(0 <= v < 2**64 for v in values):
            raise DPLHeaderError("DataProcessingHeader fields must fit in 64 unsigned bits")
        flags = FLAG_NEXT_HEADER if next_header else 0
        return _base(DATA_PROCESSING_HEADER_SIZE, flags, DATA_PROCESSING_HEADER_VERSION,
                     "DataFlow", "NONE") + _DPH.pack(*values)


@dataclass(frozen=True)
class OtherHeader:
    """A header of a type this module does not decode, kept whole."""

    description: str
    version: int
    raw: bytes


Header = DataHeader | DataProcessingHeader | OtherHeader


def build_header_stack(*headers: DataHeader | DataProcessingHeader) -> bytes:
    """Concatenate headers, setting the next-header flag on all but the last."""
    return b"".join(h.pack(next_header=i < len(headers) - 1) for i, h in enumerate(headers))


def parse_header_stack(buf: bytes | bytearray | memoryview) -> list[Header]:
    """Decode a header-stack message; :class:`DPLHeaderError` says what is wrong."""
    data = bytes(buf)
    headers: list[Header] = []
    offset = 0
    while True:
        if len(data) - offset < BASE_HEADER_SIZE:
            raise DPLHeaderError(f"header at offset {offset} is truncated "
                                 f"({len(data) - offset} of at least 32 bytes)")
        magic, size, flags, version, desc_raw, _ser = _BASE.unpack_from(data, offset)
        if magic != MAGIC:
            raise DPLHeaderError(f"no O2 header at offset {offset} (magic {magic!r})")
        if size < BASE_HEADER_SIZE or offset + size > len(data):
            raise DPLHeaderError(f"header at offset {offset} claims {size} bytes, "
                                 f"{len(data) - offset} available")
        description = _text(desc_raw)
        body = data[offset + BASE_HEADER_SIZE : offset + size]
        if description == "DataHead":
            if version != DATA_HEADER_VERSION:
                raise DPLHeaderError(f"DataHeader version {version}, expected "
                                     f"{DATA_HEADER_VERSION}")
            if size != DATA_HEADER_SIZE:
                raise DPLHeaderError(f"DataHeader of {size} bytes, expected {DATA_HEADER_SIZE}")
            (d_desc, d_orig, parts, ser, subspec, index, payload, orbit, tf,
             run) = _DATA.unpack(body)
            headers.append(DataHeader(
                _text(d_orig), _text(d_desc), subspec, payload, _text(ser), parts, index,
                orbit, tf, run, flags & ~FLAG_NEXT_HEADER,
            ))
        elif description == "DataFlow" and size == DATA_PROCESSING_HEADER_SIZE:
            start, duration, creation = _DPH.unpack(body)
            headers.append(DataProcessingHeader(start, duration, creation))
        else:
            headers.append(OtherHeader(description, version, data[offset : offset + size]))
        offset += size
        if not flags & FLAG_NEXT_HEADER:
            return headers


def dpl_parts(
    header: DataHeader, processing: DataProcessingHeader, payload: bytes
) -> list[bytes]:
    """The two FairMQ parts DPL expects for one item; ``payloadSize`` set from the payload."""
    dh = replace(header, payload_size=len(payload))
    return [build_header_stack(dh, processing), payload]


def split_dpl_parts(
    parts: Sequence[bytes],
) -> list[tuple[list[Header], list[bytes]]]:
    """Split a multipart DPL message into (headers, payloads) items.

    Usually header, payload, header, payload...; with ``splitPayloadParts ==
    splitPayloadIndex == N > 0`` one header is followed by N payloads (DPL's newer
    convention).
    """
    items: list[tuple[list[Header], list[bytes]]] = []
    i = 0
    while i < len(parts):
        headers = parse_header_stack(parts[i])
        dh = next((h for h in headers if isinstance(h, DataHeader)), None)
        count = 1
        if dh is not None and dh.split_payload_parts == dh.split_payload_index > 0:
            count = dh.split_payload_parts
        payloads = list(parts[i + 1 : i + 1 + count])
        if len(payloads) != count:
            raise DPLHeaderError(f"header at part {i} announces {count} payload part(s), "
                                 f"{len(payloads)} follow")
        items.append((headers, payloads))
        i += 1 + count
    return items
