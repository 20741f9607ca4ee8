"""Instances as Part 10 bytes in a requested transfer syntax (WADO-RS application/dicom).

The common case costs nothing: the blob already is a Part 10 file in the stored
syntax, so it is streamed from disk as it is. Only a study whose patient or accession
was corrected, or a request for another syntax, decodes the dataset. Transcoding goes
to the uncompressed little-endian syntaxes only (decoding with pydicom's pixel
decoders, pylibjpeg here); anything else is answered 406 before a byte is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from io import BytesIO
from typing import BinaryIO

from pydicom import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from lysbord.dicomweb.media import ANY_SYNTAX
from lysbord.dicomweb.resources import read_dataset
from lysbord.services.catalog import StoredInstance
from lysbord.store.blobs import BlobStore

UNCOMPRESSED_TARGETS = {str(ExplicitVRLittleEndian), str(ImplicitVRLittleEndian)}
CHUNK = 1 << 20


def can_send(stored: str, target: str) -> bool:
    """True when an instance stored in ``stored`` can be sent in ``target``."""
    if target in (ANY_SYNTAX, stored):
        return True
    if target not in UNCOMPRESSED_TARGETS or stored == "1.2.840.10008.1.2.2":
        return False  # big endian: pydicom would not swap the pixel bytes
    uid = UID(stored)
    return not uid.is_compressed or _decodable(uid)


def _decodable(uid: UID) -> bool:
    try:
        return bool(get_decoder(uid).is_available)
    except NotImplementedError:
        return False


def sent_syntax(item: StoredInstance, target: str) -> str:
    return item.transfer_syntax if target == ANY_SYNTAX else target


def part10(blobs: BlobStore, item: StoredInstance, target: str) -> Iterable[bytes]:
    """The instance as a Part 10 file in ``target`` (``*``: as stored), in chunks."""
    if item.correction is None and sent_syntax(item, target) == item.transfer_syntax:
        return _file_chunks(blobs, item.blob_key)
    ds = read_dataset(blobs, item)
    return [encode(ds, sent_syntax(item, target))]


def _file_chunks(blobs: BlobStore, key: str) -> Iterator[bytes]:
    f = blobs.path(key).open("rb")  # now: a missing blob fails before its part starts
    return _read_all(f)


def _read_all(f: BinaryIO) -> Iterator[bytes]:
    with f:
        while chunk := f.read(CHUNK):
            yield chunk


def encode(ds: Dataset, target: str) -> bytes:
    """Write ``ds`` as Part 10 in ``target``, decoding compressed pixel data first."""
    stored = UID(ds.file_meta.TransferSyntaxUID)
    if target != stored and stored.is_compressed and "PixelData" in ds:
        ds.decompress(generate_instance_uid=False)
    ds.file_meta.TransferSyntaxUID = UID(target)
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()
