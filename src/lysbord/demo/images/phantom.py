"""A simple body made of ellipses: the anatomy every demo image is drawn from.

A body part is a range of *levels* (millimetres from the crown down, or along a limb)
and at each level a cross-section of tissue ellipses, painted in order, later over
earlier. CT gives each tissue a Hounsfield value, MR a signal; a radiograph sums the
tissues' attenuation through the body (``projection``). Plausible, not anatomical:
enough that a window, a scroll through the stack and a prior beside the current study
look like what a radiologist knows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]


class Tissue(IntEnum):
    AIR = 0
    FAT = 1
    SOFT = 2
    LUNG = 3
    BONE = 4
    MARROW = 5
    BLOOD = 6
    LIVER = 7
    KIDNEY = 8
    BRAIN = 9
    CSF = 10
    FLUID = 11


#: Hounsfield units of each tissue (CT), and its attenuation for radiographs (per mm).
HU = {
    Tissue.AIR: -1000, Tissue.FAT: -100, Tissue.SOFT: 45, Tissue.LUNG: -850,
    Tissue.BONE: 1100, Tissue.MARROW: 250, Tissue.BLOOD: 160, Tissue.LIVER: 65,
    Tissue.KIDNEY: 140, Tissue.BRAIN: 35, Tissue.CSF: 8, Tissue.FLUID: 5,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Ellipse:
    """Centre (x to the patient's left, y to the back) and half-axes in mm."""

    x: float
    y: float
    a: float
    b: float
    tissue: Tissue


@dataclass(frozen=True, slots=True)
class Part:
    """Where a body part lies: its levels (mm) and the field of view across it (mm)."""

    region: str  # "head", "trunk" or "limb"
    top: float
    bottom: float
    fov: float


#: Catalogue body parts (region_data.CATALOGUE) -> where they lie in the phantom.
PARTS = {
    "HEAD": Part("head", 20, 150, 240),
    "NECK": Part("trunk", 200, 300, 220),
    "CHEST": Part("trunk", 300, 580, 420),
    "HEART": Part("trunk", 400, 540, 420),
    "CHESTABDOMEN": Part("trunk", 300, 800, 440),
    "ABDOMEN": Part("trunk", 560, 820, 420),
    "LIVER": Part("trunk", 540, 720, 420),
    "KIDNEY": Part("trunk", 620, 740, 420),
    "LSPINE": Part("trunk", 640, 820, 420),
    "CSPINE": Part("trunk", 190, 310, 200),
    "PELVIS": Part("trunk", 800, 960, 440),
    "PROSTATE": Part("trunk", 900, 960, 440),
    "HIP": Part("trunk", 860, 980, 440),
    "SHOULDER": Part("limb", 0, 160, 200),
    "HAND": Part("limb", 0, 200, 160),
    "KNEE": Part("limb", 0, 160, 180),
    "ANKLE": Part("limb", 0, 160, 160),
    "FOOT": Part("limb", 0, 200, 160),
    "LEG": Part("limb", 0, 300, 180),
    "THYROID": Part("trunk", 250, 290, 200),
    "BREAST": Part("trunk", 420, 480, 420),
}


def part(body_part: str) -> Part:
    """The phantom's place for a catalogue body part (the chest when it has none)."""
    return PARTS.get(body_part, PARTS["CHEST"])


def _bump(level: float, top: float, bottom: float) -> float:
    """0 outside [top, bottom], rising to 1 in the middle: how big an organ is here."""
    if not top < level < bottom:
        return 0.0
    return float(math.sin(math.pi * (level - top) / (bottom - top)) ** 0.6)


def head(level: float) -> list[Ellipse]:
    s = 0.35 + 0.65 * _bump(level, 0, 200)
    shapes = [
        Ellipse(0, 0, 72 * s, 90 * s, Tissue.SOFT),
        Ellipse(0, 0, 68 * s, 86 * s, Tissue.BONE),
        Ellipse(0, 0, 62 * s, 80 * s, Tissue.BRAIN),
    ]
    v = _bump(level, 50, 110)
    if v:
        shapes += [Ellipse(x, -8, 6 * v, 22 * v, Tissue.CSF) for x in (-9, 9)]
    return shapes


def trunk(level: float) -> list[Ellipse]:
    """Neck, thorax, abdomen and pelvis: the body outline and the organs at ``level``."""
    neck = level < 300
    a, b = (60, 55) if neck else (165 - 15 * _bump(level, 560, 800), 110)
    shapes = [Ellipse(0, 0, a, b, Tissue.FAT), Ellipse(0, 0, a - 12, b - 12, Tissue.SOFT)]
    lung = _bump(level, 320, 590)
    if lung:
        shapes += [Ellipse(x, -5, 55 * lung, 75 * lung, Tissue.LUNG) for x in (-70, 70)]
    heart = _bump(level, 420, 550)
    if heart:
        shapes.append(Ellipse(18, -25, 55 * heart, 45 * heart, Tissue.BLOOD))
    liver = _bump(level, 530, 720)
    if liver:
        shapes.append(Ellipse(-60, -5, 80 * liver, 70 * liver, Tissue.LIVER))
    kidney = _bump(level, 620, 740)
    if kidney:
        shapes += [Ellipse(x, 45, 22 * kidney, 30 * kidney, Tissue.KIDNEY) for x in (-70, 70)]
    if 590 < level < 800:
        shapes += [Ellipse(x, -40, 14, 10, Tissue.AIR) for x in (-25, 30)]  # bowel gas
    iliac = _bump(level, 790, 900)
    if iliac:
        shapes += [Ellipse(x, 30, 45 * iliac, 14, Tissue.BONE) for x in (-90, 90)]
    hip = _bump(level, 880, 980)
    if hip:
        shapes += [Ellipse(x, 5, 24 * hip, 24 * hip, Tissue.BONE) for x in (-95, 95)]
        shapes += [Ellipse(x, 5, 18 * hip, 18 * hip, Tissue.MARROW) for x in (-95, 95)]
    if 820 < level < 960:
        shapes.append(Ellipse(0, -45, 40, 28, Tissue.FLUID))  # the bladder
    if 330 < level < 860:
        shapes.append(Ellipse(-8 if level > 560 else 12, 50, 11, 11, Tissue.BLOOD))  # aorta
    sy = b * 0.55 if neck else b * 0.62
    r = 10 if neck else 19
    if level < 880:  # vertebra, and the canal behind it
        shapes += [Ellipse(0, sy, r, r, Tissue.BONE), Ellipse(0, sy, r - 4, r - 4, Tissue.MARROW)]
        shapes.append(Ellipse(0, sy + r + 6, 6, 6, Tissue.CSF))
    if neck:
        shapes.append(Ellipse(0, -25, 9, 9, Tissue.AIR))  # trachea
        thyroid = _bump(level, 240, 295)
        if thyroid:
            shapes += [Ellipse(x, -22, 12 * thyroid, 9, Tissue.LIVER) for x in (-18, 18)]
    return shapes


def limb(level: float) -> list[Ellipse]:
    """A limb with its long bone, widest at the joint in the middle of the levels."""
    joint = 1 + 0.6 * _bump(level, 50, 110)
    shapes = [Ellipse(0, 0, 48, 44, Tissue.FAT), Ellipse(0, 0, 42, 38, Tissue.SOFT)]
    if abs(level - 80) > 3:  # the joint space
        shapes += [Ellipse(0, 4, 13 * joint, 12 * joint, Tissue.BONE)]
        shapes += [Ellipse(0, 4, 9 * joint, 8 * joint, Tissue.MARROW)]
    return shapes


SECTIONS = {"head": head, "trunk": trunk, "limb": limb}


def section(region: str, level: float, size: int, fov: float, scale: float = 1.0) -> Array:
    """The tissue labels of one axial cross-section, ``size`` x ``size`` over ``fov`` mm."""
    half = fov / 2
    step = fov / size
    axis = np.arange(size, dtype=np.float32) * step - half + step / 2
    return _paint(SECTIONS[region](level), axis, axis, scale)


def _paint(shapes: list[Ellipse], xs: Array, ys: Array, scale: float) -> Array:
    labels = np.zeros((len(ys), len(xs)), np.uint8)
    for e in shapes:
        dx = ((xs - e.x * scale) / (e.a * scale)) ** 2
        dy = ((ys - e.y * scale) / (e.b * scale)) ** 2
        labels[dy[:, None] + dx[None, :] <= 1] = e.tissue
    return labels


def values(labels: Array, table: dict[Tissue, int]) -> Array:
    """Each tissue label replaced by its value in ``table``."""
    lut = np.array([table[t] for t in Tissue], np.int32)
    out: Array = lut[labels]
    return out


@cache
def projection(body_part: str, rows: int, cols: int, scale: float = 1.0) -> Array:
    """A frontal radiograph's attenuation (0..1, more is whiter), ``rows`` levels down.

    Each row sums the tissues' attenuation through the body along y, sampled in 48 steps.
    """
    p = part(body_part)
    xs = np.linspace(-p.fov / 2, p.fov / 2, cols, dtype=np.float32)
    ys = np.linspace(-130 * scale, 130 * scale, 48, dtype=np.float32)
    mu = values(np.arange(len(Tissue), dtype=np.uint8), HU).astype(np.float32) + 1000
    out = np.empty((rows, cols), np.float32)
    make = SECTIONS[p.region]
    for i, level in enumerate(np.linspace(p.top, p.bottom, rows)):
        out[i] = mu[_paint(make(float(level)), xs, ys, scale)].sum(axis=0)
    low, high = float(out.min()), float(out.max())
    result: Array = (out - low) / max(high - low, 1.0)
    return result
