"""Rendered frame latency: Lysbord's WADO-RS ``/rendered`` beside Orthanc's DICOMweb plugin.

One 512×512 16-bit CT image (rescale -1024, a soft-tissue window, a noisy thorax-like
phantom so the JPEG has real content), stored by DCMTK storescu in each server; then
``GET .../frames/1/rendered`` with ``Accept: image/jpeg`` on one keep-alive HTTP
connection per server, in interleaved blocks so the machine's load falls on both
alike. Median and p95 per server; target: Lysbord's median at or below Orthanc's.
Orthanc runs with Debian's ``orthanc-dicomweb`` plugin (``make bench-deps``).
LYSBORD_BENCH_QUICK=1 takes fewer samples.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import numpy as np
from PIL import Image
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from bench.common import BACKENDS, Row, percentile
from bench.orthanc import (
    NODELAY,
    ORTHANC,
    Peer,
    configuration,
    free_ports,
    http_ok,
    lysbord,
    lysbord_database,
    start_process,
    stop_process,
    temp_folder,
    wait_until,
)

SUITE = "dicomweb_render"
QUICK = os.environ.get("LYSBORD_BENCH_QUICK") == "1"
SAMPLES, BLOCK, WARM_UP = (100, 10, 5) if QUICK else (300, 20, 10)
PLUGIN = os.environ.get(
    "LYSBORD_BENCH_ORTHANC_DICOMWEB", "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
)
SIZE = 512


def run() -> list[Row]:
    with temp_folder("lysbord-bench-render-") as folder:
        ds = ct_image()
        path = folder / "ct.dcm"
        ds.save_as(path, enforce_file_format=True)
        frame = (
            f"/dicomweb/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
            f"/instances/{ds.SOPInstanceUID}/frames/1/rendered"
        )
        rows: list[Row] = []
        with orthanc_dicomweb() as peer:
            store(peer, path)
            for backend in BACKENDS:
                with lysbord_database(backend) as (data, url), lysbord(data, url, backend) as ours:
                    store(ours, path)
                    rows += compare(backend, ours, peer, frame)
        return rows


def ct_image() -> Dataset:
    """A 512×512 signed 16-bit CT slice: body, lungs, a vertebra, and noise."""
    rng = np.random.default_rng(2026)
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    hu = np.full((SIZE, SIZE), -1000.0)
    hu[((x - 0.5) / 0.44) ** 2 + ((y - 0.5) / 0.34) ** 2 < 1] = 40
    for cx in (0.34, 0.66):
        hu[((x - cx) / 0.11) ** 2 + ((y - 0.46) / 0.17) ** 2 < 1] = -800
    hu[(x - 0.5) ** 2 + (y - 0.72) ** 2 < 0.055**2] = 700
    stored = (hu + 1024 + rng.normal(0, 20, hu.shape)).clip(0, 4095).astype(np.int16)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID, ds.PatientName, ds.AccessionNumber = "0101501234", "BENCH^RENDER", ""
    ds.StudyDate, ds.StudyTime, ds.Modality = "20261123", "080000", "CT"
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.Rows = ds.Columns = SIZE
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 1
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.PixelData = stored.tobytes()
    return ds


@contextmanager
def orthanc_dicomweb() -> Iterator[Peer]:
    """A fresh Orthanc with its DICOMweb plugin at /dicomweb/, on free ports."""
    if shutil.which(ORTHANC) is None or not Path(PLUGIN).is_file():
        raise RuntimeError(f"{ORTHANC} or {PLUGIN} missing: run 'make bench-deps'")
    with temp_folder("lysbord-bench-orthanc-dicomweb-") as folder:
        http_port, dicom_port = free_ports(2)
        config = configuration(folder, http_port, dicom_port, None)
        config |= {"Plugins": [PLUGIN], "DicomWeb": {"Enable": True, "Root": "/dicomweb/"}}
        (folder / "orthanc.json").write_text(json.dumps(config))
        env = {**os.environ, **NODELAY}
        log = folder / "orthanc.log"
        proc = start_process([ORTHANC, str(folder / "orthanc.json")], env, log)
        try:
            base = f"http://127.0.0.1:{http_port}"
            wait_until(
                lambda: proc.poll() is None and http_ok(f"{base}/system"), 60, f"Orthanc ({log})"
            )
            yield Peer("Orthanc", "ORTHANC", dicom_port, http_port, lambda: 0, folder)
        finally:
            stop_process(proc)


def store(peer: Peer, path: Path) -> None:
    cmd = ["storescu", "-aec", peer.aet, peer.host, str(peer.dicom_port), str(path)]
    subprocess.run(cmd, env={**os.environ, **NODELAY}, check=True, capture_output=True, timeout=60)


def compare(backend: str, ours: Peer, peer: Peer, frame: str) -> list[Row]:
    """Interleaved blocks of requests to both servers; a row per server and the verdict."""
    clients = {
        name: httpx.Client(base_url=f"http://{p.host}:{p.http_port}", timeout=30)
        for name, p in (("lysbord", ours), ("orthanc", peer))
    }
    ms: dict[str, list[float]] = {name: [] for name in clients}
    try:
        for name, client in clients.items():
            for _ in range(WARM_UP):
                check(client.get(frame, headers={"Accept": "image/jpeg"}), name)
        while len(ms["lysbord"]) < SAMPLES:
            for name, client in clients.items():
                ms[name] += [timed_get(client, frame, name) for _ in range(BLOCK)]
    finally:
        for client in clients.values():
            client.close()
    mine, theirs = statistics.median(ms["lysbord"]), statistics.median(ms["orthanc"])
    measure = f"rendered {SIZE}² CT frame (JPEG)"
    return [
        Row(SUITE, backend, f"{measure} median", f"{mine:.1f} ms", f"≤ Orthanc {theirs:.1f} ms",
            "ok" if mine <= theirs else "MISSED"),
        Row(SUITE, backend, f"{measure} p95", f"{percentile(ms['lysbord'], 95):.1f} ms"),
        Row(SUITE, f"Orthanc (beside {backend})", f"{measure} median", f"{theirs:.1f} ms"),
        Row(SUITE, f"Orthanc (beside {backend})", f"{measure} p95",
            f"{percentile(ms['orthanc'], 95):.1f} ms"),
    ]  # fmt: skip


def timed_get(client: httpx.Client, url: str, name: str) -> float:
    start = time.perf_counter()
    response = client.get(url, headers={"Accept": "image/jpeg"})
    elapsed = (time.perf_counter() - start) * 1000
    check(response, name)
    return elapsed


def check(response: httpx.Response, name: str) -> None:
    """A real answer, or the benchmark stops: a fast error is no measurement."""
    if response.status_code != 200 or not response.headers["content-type"].startswith("image/jpeg"):
        raise RuntimeError(f"{name}: {response.status_code} {response.text[:300]}")
    size = Image.open(io.BytesIO(response.content)).size
    if size != (SIZE, SIZE):
        raise RuntimeError(f"{name}: rendered {size}, not {SIZE}x{SIZE}")
