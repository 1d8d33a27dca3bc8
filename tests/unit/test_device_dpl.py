"""O2 DPL headers: exact bytes of DataHeader + DataProcessingHeader, and parsing back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zmtp.device.dpl import (
    CREATION_PLACEHOLDER,
    DataHeader,
    DataProcessingHeader,
    DPLHeaderError,
    OtherHeader,
    build_header_stack,
    dpl_parts,
    parse_header_stack,
    split_dpl_parts,
)


def u32(n: int) -> bytes:
    return n.to_bytes(4, "little")


def u64(n: int) -> bytes:
    return n.to_bytes(8, "little")


def pad(s: bytes, n: int) -> bytes:
    return s + b"\0" * (n - len(s))


TOF = DataHeader("TOF", "CALIBDATA", sub_specification=0, payload_size=5,
                 payload_serialization="NONE", first_tf_orbit=256, tf_counter=7, run_number=42)
DPH = DataProcessingHeader(start_time=7, duration=1, creation=1_700_000_000_123)

EXPECTED_DH = (
    b"O2O2" + u32(96) + u32(1) + u32(3) + b"DataHead" + pad(b"NONE", 8)  # BaseHeader, next=1
    + pad(b"CALIBDATA", 16) + pad(b"TOF", 4)                             # 32, 48
    + u32(1) + pad(b"NONE", 8)                                           # 52 parts, 56 ser
    + u32(0) + u32(0) + u64(5)                                           # 64 subspec, 68, 72
    + u32(256) + u32(7) + u32(42) + b"\0" * 4                            # 80, 84, 88, pad
)
EXPECTED_DPH = (
    b"O2O2" + u32(56) + u32(0) + u32(1) + b"DataFlow" + pad(b"NONE", 8)
    + u64(7) + u64(1) + u64(1_700_000_000_123)
)


def test_exact_bytes() -> None:
    assert len(EXPECTED_DH) == 96 and len(EXPECTED_DPH) == 56
    assert TOF.pack(next_header=True) == EXPECTED_DH
    assert DPH.pack() == EXPECTED_DPH
    assert build_header_stack(TOF, DPH) == EXPECTED_DH + EXPECTED_DPH
    # alone, the DataHeader has no next-header flag
    assert TOF.pack()[8:12] == u32(0)


def test_parse_roundtrip() -> None:
    headers = parse_header_stack(EXPECTED_DH + EXPECTED_DPH)
    assert headers == [TOF, DPH]


def test_dpl_parts_sets_payload_size() -> None:
    parts = dpl_parts(DataHeader("TST", "RAWDATA"), DPH, b"hello world")
    assert len(parts) == 2 and parts[1] == b"hello world"
    dh, dph = parse_header_stack(parts[0])
    assert isinstance(dh, DataHeader) and dh.payload_size == 11
    assert dh.data_origin == "TST" and dh.data_description == "RAWDATA"
    assert dph == DPH


def test_creation_placeholder_when_not_given() -> None:
    stack = DataProcessingHeader(start_time=1).pack()
    creation = int.from_bytes(stack[48:56], "little")
    assert creation & CREATION_PLACEHOLDER
    assert creation & ~CREATION_PLACEHOLDER > 1_600_000_000_000


def test_split_pairs_and_new_convention() -> None:
    a = dpl_parts(DataHeader("TST", "A"), DPH, b"1")
    b = dpl_parts(DataHeader("TST", "B"), DPH, b"22")
    multi = DataHeader("TST", "C", split_payload_parts=3, split_payload_index=3)
    c = [build_header_stack(multi, DPH), b"x", b"y", b"z"]
    items = split_dpl_parts(a + b + c)
    assert [p for _, p in items] == [[b"1"], [b"22"], [b"x", b"y", b"z"]]
    with pytest.raises(DPLHeaderError, match="announces 3 payload part"):
        split_dpl_parts(c[:3])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"O2O2", "truncated"),
        (b"XXXX" + bytes(92), "no O2 header"),
        (EXPECTED_DH[:4] + u32(200) + EXPECTED_DH[8:], "claims 200 bytes"),
        (EXPECTED_DH, "truncated"),  # next-header flag set, nothing follows
        (EXPECTED_DH[:8] + u32(0) + u32(2) + EXPECTED_DH[16:], "version 2"),
    ],
)
def test_parse_errors(data: bytes, reason: str) -> None:
    with pytest.raises(DPLHeaderError, match=reason):
        parse_header_stack(data)


def test_unknown_header_is_kept() -> None:
    other = b"O2O2" + u32(40) + u32(0) + u32(9) + pad(b"Custom", 8) + pad(b"NONE", 8) + bytes(8)
    stack = TOF.pack(next_header=True) + other
    headers = parse_header_stack(stack)
    assert headers[1] == OtherHeader("Custom", 9, other)


@pytest.mark.parametrize(
    "header",
    [
        DataHeader("TOOLONG", "X"),
        DataHeader("TPC", "X" * 17),
        DataHeader("TPC", "RAW", payload_serialization="TOOLONGSER"),
        DataHeader("TPÇ", "RAW"),
        DataHeader("TPC", "RAW", sub_specification=2**32),
        DataHeader("TPC", "RAW", payload_size=-1),
    ],
)
def test_fields_that_do_not_fit(header: DataHeader) -> None:
    with pytest.raises(DPLHeaderError):
        header.pack()


_ascii = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=4)
_u32s = st.integers(0, 2**32 - 1)


@given(_ascii, _ascii.map(lambda s: s * 4), _u32s, st.integers(0, 2**64 - 1), _u32s, _u32s,
       _u32s, st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
def test_roundtrip_property(origin: str, desc: str, subspec: int, size: int, orbit: int,
                            tf: int, run: int, start: int, creation: int) -> None:
    dh = DataHeader(origin, desc, subspec, size, "ROOT", 1, 0, orbit, tf, run)
    dph = DataProcessingHeader(start, 1, creation)
    assert parse_header_stack(build_header_stack(dh, dph)) == [dh, dph]
