"""Instances as Part 10 bytes in a requested transfer syntax (WADO-RS application/dicom).

The common case costs nothing: the blob already is a Part 10 file in the stored
syntax, so it is streamed from disk as it is (``filestream``). Only a study whose
patient or accession was corrected, or a request for another syntax, decodes the
dataset, in a worker thread. Transcoding goes to the uncompressed little-endian
syntaxes only (decoding with pydicom's pixel decoders, pylibjpeg here); anything else
is answered 406 before a byte is sent.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from io import BytesIO

from anyio import to_thread
from pydicom import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from lysbord.dicomweb import filestream
from lysbord.dicomweb.media import ANY_SYNTAX
from lysbord.dicomweb.resources import read_dataset
from lysbord.services.archive.catalog import StoredInstance
from lysbord.store.blobs import BlobStore

UNCOMPRESSED_TARGETS = {str(ExplicitVRLittleEndian), str(ImplicitVRLittleEndian)}


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


def as_stored(item: StoredInstance, target: str) -> bool:
    """True when the stored file is sent byte for byte (nothing to correct or transcode)."""
    return item.correction is None and sent_syntax(item, target) == item.transfer_syntax


async def part10(
    blobs: BlobStore, item: StoredInstance, target: str
) -> AsyncGenerator[bytes | memoryview]:
    """The instance as a Part 10 file in ``target`` (``*``: as stored), in chunks.

    Opened or encoded now: a missing or undecodable blob fails before its part starts.
    """
    if as_stored(item, target):
        return filestream.chunks(blobs.path(item.blob_key))
    data = await to_thread.run_sync(_transcoded, blobs, item, target)
    return _one(data)


def _transcoded(blobs: BlobStore, item: StoredInstance, target: str) -> bytes:
    return encode(read_dataset(blobs, item), sent_syntax(item, target))


async def _one(data: bytes) -> AsyncGenerator[bytes]:
    yield data


def encode(ds: Dataset, target: str) -> bytes:
    """Write ``ds`` as Part 10 in ``target``, decoding compressed pixel data first."""
    stored = UID(ds.file_meta.TransferSyntaxUID)
    if target != stored and stored.is_compressed and "PixelData" in ds:
        ds.decompress(generate_instance_uid=False)
    ds.file_meta.TransferSyntaxUID = UID(target)
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()
