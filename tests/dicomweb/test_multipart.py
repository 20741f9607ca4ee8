"""multipart/related read in arbitrary chunks, Accept negotiation and Part 10 splitting:
the pure pieces of the DICOMweb door, without a server."""

from __future__ import annotations

import pytest

from lysbord.dicomweb.framedata import choose_frames
from lysbord.dicomweb.media import EXPLICIT_LE, choose_multipart, parse_accept
from lysbord.dicomweb.multipart import MultipartError, Part, Reader, write
from lysbord.dicomweb.part10 import NotPart10, split

RLE = "1.2.840.10008.1.2.5"


def read(data: bytes, chunk: int, boundary: str = "b") -> list[Part]:
    reader = Reader(boundary, max_part=1 << 20)
    parts = [p for i in range(0, len(data), chunk) for p in reader.feed(data[i : i + chunk])]
    reader.close()
    return parts


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 100_000])
def test_parts_come_out_whatever_the_chunking(chunk: int) -> None:
    body = b"".join(write([("application/dicom", [b"one\r\n--bx"]), ("a/b", [b"", b"2"])], "b"))
    parts = read(b"preamble to ignore\r\n" + body, chunk)
    assert [(p.content_type, p.body, p.number) for p in parts] == [
        ("application/dicom", b"one\r\n--bx", 1),
        ("a/b", b"2", 2),
    ]


def test_a_body_as_dicomweb_client_writes_it() -> None:
    body = b"\r\n--b\r\nContent-Type: application/dicom\r\n\r\nDATA\r\n--b--"
    assert [p.body for p in read(body, 5)] == [b"DATA"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"--other\r\n\r\nx\r\n--other--", "no part starts with the boundary"),
        (b"--b\r\nContent-Type: x\r\n\r\nunfinished", "no closing boundary"),
        (b"--b\r\nno blank line\r\n--b--", "no blank line after its headers"),
        (b"--b\r\nbroken header\r\n\r\nx\r\n--b--", "header line without ':'"),
    ],
)
def test_a_broken_body_is_named(body: bytes, reason: str) -> None:
    with pytest.raises(MultipartError, match=reason):
        read(body, 4)


def test_a_part_beyond_the_limit_is_refused_before_it_is_all_read() -> None:
    reader = Reader("b", max_part=10)
    reader.feed(b"--b\r\n\r\n")
    with pytest.raises(MultipartError, match="larger than 10 bytes"):
        reader.feed(b"x" * 100)


def test_accept_picks_the_best_multipart_and_its_transfer_syntax() -> None:
    accept = parse_accept(
        'application/json;q=0.9, multipart/related; type="application/dicom"; transfer-syntax=*'
    )
    choice = choose_multipart(accept, ("application/dicom",))
    assert choice is not None and choice.transfer_syntax == "*"
    default = choose_multipart(parse_accept(None), ("application/dicom",))
    assert default is not None and default.transfer_syntax == EXPLICIT_LE
    assert choose_multipart(parse_accept("application/dicom+json"), ("application/dicom",)) is None
    anything = parse_accept('multipart/related; type="*/*"')
    assert choose_multipart(anything, ("application/octet-stream",)) is not None


def test_frames_of_a_compressed_image_as_stored_or_decoded() -> None:
    native = choose_frames(parse_accept("multipart/related; type=image/dicom-rle"), RLE)
    assert native is not None and native.native
    star = choose_frames(
        parse_accept("multipart/related; type=application/octet-stream; transfer-syntax=*"), RLE
    )
    assert star is not None and star.native and RLE in star.part_type
    decoded = choose_frames(parse_accept("multipart/related; type=application/octet-stream"), RLE)
    assert decoded is not None and not decoded.native
    assert choose_frames(parse_accept("multipart/related; type=image/jp2"), RLE) is None


def test_part10_files_with_and_without_preamble() -> None:
    meta = (
        b"\x02\x00\x02\x00UI\x04\x001.2\x00"
        + b"\x02\x00\x03\x00UI\x04\x001.3\x00"
        + b"\x02\x00\x10\x00UI\x14\x001.2.840.10008.1.2.1\x00"
    )
    dataset = b"\x08\x00\x18\x00UI\x04\x001.3\x00"
    for data in (b"\x00" * 128 + b"DICM" + meta + dataset, meta + dataset):
        p10 = split(data)
        assert (p10.sop_class_uid, p10.sop_instance_uid, p10.transfer_syntax) == (
            "1.2",
            "1.3",
            EXPLICIT_LE,
        )
        assert p10.dataset == dataset
    with pytest.raises(NotPart10, match="no 'DICM'"):
        split(b"not dicom at all" * 20)
    with pytest.raises(NotPart10, match="Transfer Syntax"):
        split(b"\x00" * 128 + b"DICM" + meta[:24] + dataset)
