"""Rendering checked against pydicom's own pixel pipeline, decoded back with Pillow.

The expected image is pydicom's: ``pixel_array``, ``apply_modality_lut``,
``apply_voi_lut`` (or ``apply_windowing``), scaled from the output range pydicom
documents to 0..255, inverted for MONOCHROME1. PNG must match to within one grey
level (rounding); JPEG within a few levels on average. Compressed sources are made at
test time: RLE and JPEG 2000 by pydicom's encoders, JPEG-LS and JPEG by DCMTK's
``dcmcjpls`` and ``dcmcjpeg`` (the same tools the interop tests use), and must render
exactly as their uncompressed original.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pydicom import Dataset, dcmread
from pydicom.dataset import FileMetaDataset
from pydicom.pixels.processing import (
    apply_color_lut,
    apply_modality_lut,
    apply_voi_lut,
    apply_windowing,
)
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    RLELossless,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from lysbord.dicomweb.render import PNG, RenderOptions, Viewport, Window, render
from lysbord.domain.errors import InvalidValue

Array = np.ndarray[Any, Any]
LOSSLESS = RenderOptions(media_type=PNG)


def image(ds: Dataset, frame: int = 1, opts: RenderOptions = LOSSLESS) -> Array:
    """Render, then decode what came back."""
    return np.asarray(Image.open(io.BytesIO(render(ds, frame, opts))))


def pixels(ds: Dataset, values: Array, photometric: str = "MONOCHROME2") -> Dataset:
    """Give ``ds`` the pixel module for ``values`` (frames x rows x columns [x 3])."""
    frames, rows, cols = values.shape[:3]
    ds.Rows, ds.Columns = rows, cols
    ds.PhotometricInterpretation = photometric
    ds.SamplesPerPixel = 3 if values.ndim == 4 else 1
    if values.ndim == 4:
        ds.PlanarConfiguration = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    bits = values.dtype.itemsize * 8
    ds.BitsAllocated = bits
    ds.BitsStored = 12 if bits == 16 else 8
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if values.dtype.kind == "i" else 0
    ds.PixelData = values.tobytes()
    return ds


def dataset(sop: str = str(CTImageStorage), modality: str = "CT") -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop
    ds.SOPClassUID = sop
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = modality
    return ds


def ct(frames: int = 1, size: int = 64) -> Dataset:
    """Signed 12-bit CT with rescale -1024 and a soft-tissue window: a gradient and a disc."""
    y, x = np.mgrid[0:size, 0:size]
    base = x * 4000 // size - 2000 + (((x - size / 2) ** 2 + (y - size / 2) ** 2) < 100) * 300
    values = np.stack([base + 37 * f for f in range(frames)]).astype(np.int16)
    ds = pixels(dataset(), values)
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.WindowCenter, ds.WindowWidth = 40, 400
    return ds


def rgb(size: int = 48) -> Dataset:
    y, x = np.mgrid[0:size, 0:size]
    values = np.stack([x * 255 // size, y * 255 // size, (x + y) * 127 // size], axis=-1)
    return pixels(
        dataset(str(SecondaryCaptureImageStorage), "OT"), values[None].astype(np.uint8), "RGB"
    )


def expected(ds: Dataset, frame: int = 1, window: Window | None = None) -> Array:
    """pydicom's rendering of the frame, scaled to 0..255 as PS3.3 C.11.2.1.2 outputs it."""
    arr = ds.pixel_array
    arr = arr[frame - 1] if int(ds.get("NumberOfFrames", 1)) > 1 else arr
    if ds.SamplesPerPixel == 3:
        return arr
    values = apply_modality_lut(arr, ds)
    if window is not None:
        shown = Dataset()
        shown.update(ds)
        shown.WindowCenter, shown.WindowWidth = window.center, window.width
        shown.VOILUTFunction = window.function
        out = apply_windowing(values, shown)
        low, high = _range(ds)
    elif "VOILUTSequence" in ds:
        out = apply_voi_lut(np.rint(values).astype(np.int64), ds)
        low, high = 0, 2 ** ds.VOILUTSequence[0].LUTDescriptor[2] - 1
    else:
        out = apply_voi_lut(values, ds)
        low, high = _range(ds)
    grey = np.rint((out - low) / (high - low) * 255).astype(np.uint8)
    return 255 - grey if ds.PhotometricInterpretation == "MONOCHROME1" else grey


def _range(ds: Dataset) -> tuple[float, float]:
    """pydicom's windowing output range (apply_windowing's y_min, y_max)."""
    bits = ds.BitsStored
    low, high = (
        (0, 2**bits - 1)
        if ds.PixelRepresentation == 0
        else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    )
    slope, intercept = float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))
    return low * slope + intercept, high * slope + intercept


def close(got: Array, want: Array, mean: float = 0.0, peak: int = 1) -> None:
    diff = np.abs(got.astype(int) - want.astype(int))
    assert got.shape == want.shape
    assert diff.max() <= peak or diff.mean() <= mean, (diff.max(), diff.mean())


def test_ct_rescale_and_window_match_pydicom() -> None:
    ds = ct()
    close(image(ds), expected(ds))
    assert 0 < image(ds).mean() < 255  # the window shows both air and tissue


def test_jpeg_is_close_to_pydicom() -> None:
    ds = ct()
    got = image(ds, opts=RenderOptions(quality=95))
    close(got, expected(ds), mean=2.0, peak=0)


@pytest.mark.parametrize("function", ["LINEAR", "LINEAR_EXACT", "SIGMOID"])
def test_window_parameter_overrides_the_dataset(function: str) -> None:
    ds = ct()
    window = Window(-600, 1500, function)
    close(image(ds, opts=RenderOptions(media_type=PNG, window=window)), expected(ds, 1, window))


def test_monochrome1_is_inverted() -> None:
    ds = ct()
    ds.PhotometricInterpretation = "MONOCHROME1"
    got = image(ds)
    close(got, expected(ds))
    ds.PhotometricInterpretation = "MONOCHROME2"
    assert np.array_equal(got, 255 - image(ds))


def test_voi_lut_sequence_is_preferred_to_the_window() -> None:
    ds = ct()
    lut = Dataset()
    lut.LUTDescriptor = [4096, -1024 - 1000, 10]  # first input value after rescale
    lut.LUTData = [min(1023, max(0, i // 2)) for i in range(4096)]
    ds.VOILUTSequence = [lut]
    got = image(ds)
    close(got, expected(ds))
    del ds.VOILUTSequence
    assert not np.array_equal(got, image(ds))


def test_multi_frame_renders_the_frame_asked_for() -> None:
    ds = ct(frames=3)
    for frame in (1, 2, 3):
        close(image(ds, frame), expected(ds, frame))
    assert not np.array_equal(image(ds, 1), image(ds, 3))
    with pytest.raises(InvalidValue, match="3 frame"):
        render(ds, 4, LOSSLESS)


def test_rgb() -> None:
    ds = rgb()
    got = image(ds)
    assert got.shape == (48, 48, 3)
    close(got, expected(ds), peak=0)


def test_viewport_scales_crops_and_flips() -> None:
    ds = ct(size=64)
    full = image(ds)
    half = image(ds, opts=RenderOptions(media_type=PNG, viewport=Viewport(32, 100)))
    assert half.shape == (32, 32)  # aspect kept: fits the narrower side
    crop = RenderOptions(media_type=PNG, viewport=Viewport(16, 8, 8, 4, 16, 8))
    assert np.array_equal(image(ds, opts=crop), full[4:12, 8:24])
    flipped = RenderOptions(media_type=PNG, viewport=Viewport(16, 8, 8, 4, -16, 8))
    assert np.array_equal(image(ds, opts=flipped), full[4:12, 8:24][:, ::-1])
    outside = RenderOptions(viewport=Viewport(10, 10, 60, 0, 10, 10))
    with pytest.raises(InvalidValue, match="viewport"):
        render(ds, 1, outside)


def test_no_pixel_data_is_refused() -> None:
    with pytest.raises(InvalidValue, match="no pixel data"):
        render(dataset(), 1, LOSSLESS)


# -- compressed sources -----------------------------------------------------------------


def saved(ds: Dataset, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path


def dcmtk(tool: str, *args: str) -> None:
    subprocess.run([tool, *args], check=True, capture_output=True, timeout=60)


def test_rle_and_jpeg2000_render_as_the_original() -> None:
    for syntax in (RLELossless, JPEG2000Lossless):
        ds = ct(frames=2)
        want = [image(ds, f) for f in (1, 2)]
        ds.compress(syntax)
        assert ds.file_meta.TransferSyntaxUID == syntax
        assert [image(dcmread(io.BytesIO(_bytes(ds))), f).tolist() for f in (1, 2)] == [
            w.tolist() for w in want
        ]


def _bytes(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


@pytest.mark.parametrize(
    ("tool", "args", "syntax"),
    [
        ("dcmcjpls", (), "1.2.840.10008.1.2.4.80"),  # JPEG-LS lossless
        ("dcmcjpeg", (), "1.2.840.10008.1.2.4.70"),  # JPEG lossless SV1
    ],
)
def test_dcmtk_compressed_render_as_the_original(
    tmp_path: Path, tool: str, args: tuple[str, ...], syntax: str
) -> None:
    ds = ct()
    ds.PixelRepresentation = 0  # DCMTK's lossless JPEG codecs want unsigned samples here
    ds.PixelData = (np.frombuffer(ds.PixelData, np.int16) + 2048).astype(np.uint16).tobytes()
    src = saved(ds, tmp_path / "in.dcm")
    dcmtk(tool, *args, str(src), str(tmp_path / "out.dcm"))
    packed = dcmread(tmp_path / "out.dcm")
    assert packed.file_meta.TransferSyntaxUID == syntax
    assert np.array_equal(image(packed), image(dcmread(src)))


def test_jpeg_baseline_rgb_ybr_is_converted(tmp_path: Path) -> None:
    """A lossy colour JPEG is YBR_FULL_422 in the file: it must come out as RGB again."""
    src = saved(rgb(64), tmp_path / "rgb.dcm")
    dcmtk("dcmcjpeg", "+eb", str(src), str(tmp_path / "jpeg.dcm"))
    packed = dcmread(tmp_path / "jpeg.dcm")
    assert packed.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.50"
    assert packed.PhotometricInterpretation.startswith("YBR")
    close(image(packed), image(dcmread(src)), mean=4.0, peak=0)


def test_palette_colour_goes_through_its_lookup_table() -> None:
    y, x = np.mgrid[0:32, 0:32]
    ds = pixels(
        dataset(str(SecondaryCaptureImageStorage), "OT"),
        ((x + y) * 4)[None].astype(np.uint8),
        "PALETTE COLOR",
    )
    ramp = np.arange(256, dtype=np.uint16) * 257  # 16-bit entries
    for colour, table in (("Red", ramp), ("Green", ramp[::-1]), ("Blue", ramp // 2)):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        setattr(ds, f"{colour}PaletteColorLookupTableData", table.tobytes())
    want = np.rint(apply_color_lut(ds.pixel_array, ds) / 65535 * 255).astype(np.uint8)
    close(image(ds), want)
