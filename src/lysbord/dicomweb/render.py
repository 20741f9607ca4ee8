"""Rendered images (PS3.18 8.3.5, 10.4.1.1.3): one frame of a dataset to JPEG or PNG.

A pure function from a dataset to bytes, so the router, the tests and the benchmark
share it. The grayscale pipeline is PS3.4 N.2: Modality LUT (rescale slope and
intercept, or a Modality LUT Sequence), then VOI (the request's ``window``, else the
dataset's VOI LUT Sequence, else its first Window Center/Width with its VOI LUT
Function, else the frame's own range), then MONOCHROME1 inverted so that the output
always shows more signal as brighter. Colour comes out of pydicom as RGB (YBR
converted, PALETTE COLOR through its lookup table). Then the ``viewport`` (a source
region, flipped when its width or height is negative, scaled to fit the viewport with
its aspect ratio kept). Compressed sources are decoded by pydicom's plugins
(pylibjpeg: JPEG, JPEG-LS, JPEG 2000, RLE).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image
from pydicom import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi
from pydicom.pixels.utils import pixel_array

from lysbord.domain.errors import InvalidValue, Msg

JPEG, PNG = "image/jpeg", "image/png"
MEDIA_TYPES = (JPEG, PNG)
FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")
THUMBNAIL = (128, 128)

Array = np.ndarray[Any, Any]


@dataclass(frozen=True, slots=True)
class Window:
    """A VOI window (PS3.3 C.11.2.1.2); ``function`` is one of FUNCTIONS."""

    center: float
    width: float
    function: str = "LINEAR"


@dataclass(frozen=True, slots=True)
class Viewport:
    """Output size ``vw`` x ``vh`` and an optional source region (PS3.18 8.3.5.1.3)."""

    vw: int
    vh: int
    sx: int = 0
    sy: int = 0
    sw: int | None = None
    sh: int | None = None


@dataclass(frozen=True, slots=True)
class RenderOptions:
    media_type: str = JPEG
    quality: int = 90
    window: Window | None = None
    viewport: Viewport | None = None


def frame_count(ds: Dataset) -> int:
    return int(ds.get("NumberOfFrames") or 1)


def render(ds: Dataset, frame: int, opts: RenderOptions) -> bytes:
    """Frame ``frame`` (1-based) of ``ds`` as an encoded image of ``opts.media_type``."""
    if "PixelData" not in ds:
        raise InvalidValue(Msg("the instance has no pixel data"), field="instance")
    if not 1 <= frame <= frame_count(ds):
        raise InvalidValue(
            Msg("the instance has {n} frame(s)", n=frame_count(ds)), field="frames", value=frame
        )
    image = Image.fromarray(display_values(ds, frame, opts.window))
    if opts.viewport is not None:
        image = fit(image, opts.viewport)
    return encode(image, opts.media_type, opts.quality)


def display_values(ds: Dataset, frame: int, window: Window | None = None) -> Array:
    """The frame as 8-bit display values: rows x columns (grayscale) or x 3 (RGB)."""
    arr = pixel_array(ds, index=frame - 1 if frame_count(ds) > 1 else None)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric.startswith("MONOCHROME"):
        out = grayscale(arr, ds, window)
        return 255 - out if photometric == "MONOCHROME1" else out
    if photometric == "PALETTE COLOR":
        arr = apply_color_lut(arr, ds)
    return _to_8bit(arr, ds)


def grayscale(arr: Array, ds: Dataset, window: Window | None) -> Array:
    """Modality LUT, then VOI, to 0..255 (PS3.4 N.2.1).

    Integer samples go through a lookup table built over the frame's range of stored
    values (at most 65,536 entries): the float arithmetic then runs once per value
    rather than once per pixel, which is most of the time of a 512 x 512 CT frame.
    """
    if arr.dtype.kind not in "iu" or arr.dtype.itemsize > 2:
        return _pipeline(arr, ds, window)
    low, high = int(arr.min()), int(arr.max())
    lut = _pipeline(np.arange(low, high + 1, dtype=arr.dtype), ds, window)
    return lut[np.subtract(arr, low, dtype=np.int32)]


def _pipeline(arr: Array, ds: Dataset, window: Window | None) -> Array:
    """The per-value transformation that ``grayscale`` tabulates; the frame's range
    (the fallback VOI) is that of ``arr``."""
    values = apply_modality_lut(arr, ds).astype(np.float64)
    if window is None and ds.get("VOILUTSequence"):
        lut = ds.VOILUTSequence[0]
        bits = int(lut.LUTDescriptor[2])
        entries = apply_voi(np.rint(values).astype(np.int64), ds)  # a LUT takes integers
        return _scaled(entries.astype(np.float64), 0.0, float(2**bits - 1))
    if window is None and "WindowCenter" in ds and "WindowWidth" in ds:
        window = Window(
            _first(ds.WindowCenter),
            _first(ds.WindowWidth),
            str(ds.get("VOILUTFunction") or "LINEAR").upper(),
        )
    if window is not None:
        return windowed(values, window)
    if int(ds.get("BitsStored", 8)) <= 8 and "RescaleSlope" not in ds:
        return values.clip(0, 255).astype(np.uint8)
    return _scaled(values, float(values.min()), float(values.max()))


def windowed(x: Array, w: Window) -> Array:
    """PS3.3 C.11.2.1.2.1 (LINEAR), C.11.2.1.3.2 (LINEAR_EXACT, SIGMOID), to 0..255."""
    c, width = w.center, w.width
    if w.function == "SIGMOID":
        y = 1.0 / (1.0 + np.exp(-4.0 * (x - c) / width))
    elif w.function == "LINEAR_EXACT":
        y = (x - c) / width + 0.5
    elif width <= 1:
        y = (x > c - 0.5).astype(np.float64)
    else:
        y = (x - (c - 0.5)) / (width - 1) + 0.5
    return np.rint(np.clip(y, 0.0, 1.0) * 255.0).astype(np.uint8)


def _scaled(values: Array, low: float, high: float) -> Array:
    if high <= low:
        return np.zeros(values.shape, np.uint8)
    y = (values - low) / (high - low)
    return np.rint(np.clip(y, 0.0, 1.0) * 255.0).astype(np.uint8)


def _to_8bit(rgb: Array, ds: Dataset) -> Array:
    """Colour samples of more than 8 bits (or a 16-bit palette's entries) down to 8 bits."""
    if rgb.dtype == np.uint8:
        return rgb
    palette = ds.get("RedPaletteColorLookupTableDescriptor")
    bits = int(palette[2]) if palette else int(ds.get("BitsStored", 8))
    return _scaled(rgb.astype(np.float64), 0.0, float(2**bits - 1))


def _first(value: Any) -> float:
    """Window Center/Width may be multi-valued: the first is the default view."""
    return float(value[0] if isinstance(value, MultiValue | list) else value)


def fit(image: Image.Image, vp: Viewport) -> Image.Image:
    """Cut the source region, flip it if asked, scale it into vw x vh keeping its aspect."""
    cols, rows = image.size
    sw = vp.sw if vp.sw is not None else cols - vp.sx
    sh = vp.sh if vp.sh is not None else rows - vp.sy
    box = (vp.sx, vp.sy, vp.sx + abs(sw), vp.sy + abs(sh))
    if sw == 0 or sh == 0 or box[0] < 0 or box[1] < 0 or box[2] > cols or box[3] > rows:
        raise InvalidValue(
            Msg(
                "the source region {box} lies outside the {cols}x{rows} image",
                box=str(box),
                cols=cols,
                rows=rows,
            ),
            field="viewport",
        )
    region = image.crop(box)
    if sw < 0:
        region = region.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if sh < 0:
        region = region.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    scale = min(vp.vw / region.width, vp.vh / region.height)
    size = (max(1, round(region.width * scale)), max(1, round(region.height * scale)))
    return region if size == region.size else region.resize(size, Image.Resampling.BILINEAR)


def encode(image: Image.Image, media_type: str, quality: int) -> bytes:
    out = io.BytesIO()
    if media_type == PNG:
        image.save(out, "PNG", compress_level=1)
    else:
        image.save(out, "JPEG", quality=quality)
    return out.getvalue()
