"""The Capital Region of Denmark as demo data: nine hospitals, their rooms, the catalogue.

Room counts and opening hours are plausible, not official: a weekday day shift
(07:30-15:30) everywhere, longer CT and MR days at the big acute hospitals,
shorter Fridays for X-ray and ultrasound, and a small island hospital on Bornholm.
Procedure codes follow the shape of the Danish SKS radiology codes (``UX`` + method
letter + region letter + digits); every duration fits its modality's slot length,
or booking would refuse the slot as too short. Each hospital's booking office is its
contact for appointments; its telephone number begins with 0 after +45, which the Danish
numbering plan never gives out, so no demo number can ring anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from lysbord.domain.slots import OpeningHours
from lysbord.services.operations.region import CodeView, RoomSpec, SiteContact

#: Minutes per slot for each modality; a procedure's duration must not exceed it.
SLOT_MINUTES = {"DX": 10, "CR": 10, "CT": 15, "US": 20, "MR": 30, "MG": 15}
ROOM_WORD = {
    "DX": "Røntgenstue",
    "CR": "Røntgenstue (CR)",
    "CT": "CT-scanner",
    "US": "Ultralyd",
    "MR": "MR-scanner",
    "MG": "Mammografi",
}
DAY = (time(7, 30), time(15, 30))
LONG = (time(7, 0), time(21, 0))
FRIDAY_CLOSES = time(14, 0)
BORNHOLM = (time(8, 0), time(15, 0))


@dataclass(frozen=True, slots=True)
class SiteData:
    code: str
    name: str
    rooms: tuple[tuple[str, int, bool], ...]  # (modality, how many, long days for the first)
    hours: tuple[time, time] = DAY
    weight: int = 10  # share of the region's patients who prefer this site


SITES: tuple[SiteData, ...] = (
    SiteData("RH", "Rigshospitalet", (("CT", 3, True), ("MR", 3, True), ("DX", 2, False),
                                      ("US", 2, False)), weight=18),
    SiteData("GLO", "Rigshospitalet Glostrup", (("CT", 1, False), ("MR", 2, True),
                                                ("DX", 1, False), ("US", 1, False)), weight=9),
    SiteData("HEH", "Herlev Hospital", (("CT", 2, True), ("MR", 2, False), ("DX", 2, False),
                                        ("US", 2, False), ("MG", 2, False)), weight=16),
    SiteData("GEH", "Gentofte Hospital", (("CT", 1, False), ("MR", 1, False), ("DX", 2, False),
                                          ("US", 1, False)), weight=10),
    SiteData("BBH", "Bispebjerg Hospital", (("CT", 1, True), ("MR", 1, False), ("DX", 2, False),
                                            ("US", 1, False)), weight=11),
    SiteData("FRH", "Frederiksberg Hospital", (("CT", 1, False), ("CR", 1, False),
                                               ("US", 1, False)), weight=6),
    SiteData("HVH", "Hvidovre Hospital", (("CT", 2, True), ("MR", 1, False), ("DX", 2, False),
                                          ("US", 1, False), ("MG", 1, False)), weight=14),
    SiteData("NOH", "Nordsjællands Hospital Hillerød", (("CT", 2, True), ("MR", 1, False),
                                                        ("DX", 2, False), ("US", 1, False),
                                                        ("MG", 1, False)), weight=13),
    SiteData("BOH", "Bornholms Hospital", (("CT", 1, False), ("MR", 1, False), ("CR", 1, False),
                                           ("US", 1, False)), hours=BORNHOLM, weight=3),
)  # fmt: skip


def contact(site: SiteData) -> SiteContact:
    """The site's booking office and its (never dialable) demo telephone number."""
    number = SITES.index(site) + 1
    return SiteContact(f"Booking {site.name}", f"+45 0000 {number:04d}")


def week(modality: str, opens: time, closes: time) -> list[OpeningHours]:
    """Monday to Friday; X-ray and ultrasound close early on Fridays."""
    minutes = SLOT_MINUTES[modality]
    short_friday = modality in ("DX", "CR", "US") and closes > FRIDAY_CLOSES
    return [
        OpeningHours(d, opens, FRIDAY_CLOSES if d == 4 and short_friday else closes, minutes)
        for d in range(5)
    ]


def room_specs(site: SiteData) -> list[RoomSpec]:
    """The site's rooms, numbered per modality; AE titles are site + room code (≤ 16)."""
    specs = []
    for modality, count, long_first in site.rooms:
        for n in range(1, count + 1):
            code = f"{modality}{n}"
            opens, closes = LONG if long_first and n == 1 else site.hours
            specs.append(
                RoomSpec(
                    code=code,
                    name=f"{ROOM_WORD[modality]} {n}",
                    modality=modality,
                    ae_title=f"{site.code}{code}".upper()[:16],
                    hours=week(modality, opens, closes),
                )
            )
    return specs


_CT_PREP = "Faste 2 timer før undersøgelsen. Kreatinin (eGFR) ikke ældre end 3 måneder."
_MR_PREP = "Udfyld MR-sikkerhedsskema. Oplys om pacemaker, implantater og metalsplinter."
_US_FAST = "Faste 6 timer før undersøgelsen; vand må drikkes."
_MG_PREP = "Undlad deodorant, pudder og creme på brysterne og under armene samme dag."

#: (code, name, modality, minutes, body part, preparation)
CATALOGUE: tuple[tuple[str, str, str, int, str, str], ...] = (
    ("UXRC00", "Røntgen af thorax", "DX", 10, "CHEST", ""),
    ("UXRD00", "Røntgen af abdomen", "DX", 10, "ABDOMEN", ""),
    ("UXRF10", "Røntgen af columna cervicalis", "DX", 10, "CSPINE", ""),
    ("UXRF30", "Røntgen af columna lumbalis", "DX", 10, "LSPINE", ""),
    ("UXRG00", "Røntgen af bækken", "DX", 10, "PELVIS", ""),
    ("UXRG10", "Røntgen af hofte", "DX", 10, "HIP", ""),
    ("UXRH20", "Røntgen af skulder", "DX", 10, "SHOULDER", ""),
    ("UXRH40", "Røntgen af hånd", "DX", 5, "HAND", ""),
    ("UXRK20", "Røntgen af knæ", "DX", 10, "KNEE", ""),
    ("UXRK40", "Røntgen af ankel", "DX", 5, "ANKLE", ""),
    ("UXRK50", "Røntgen af fod", "DX", 5, "FOOT", ""),
    ("UXCA00", "CT af cerebrum", "CT", 10, "HEAD", ""),
    ("UXCA10", "CT-angiografi af cerebrale kar", "CT", 15, "HEAD", _CT_PREP),
    ("UXCB00", "CT af hals", "CT", 15, "NECK", _CT_PREP),
    ("UXCC00", "CT af thorax", "CT", 15, "CHEST", _CT_PREP),
    ("UXCC10", "CT-angiografi af lungearterier", "CT", 15, "CHEST", _CT_PREP),
    ("UXCD00", "CT af abdomen", "CT", 15, "ABDOMEN", _CT_PREP),
    ("UXCD10", "CT af thorax og abdomen", "CT", 15, "CHESTABDOMEN", _CT_PREP),
    ("UXCE00", "CT af bækken", "CT", 15, "PELVIS", _CT_PREP),
    ("UXCF30", "CT af columna lumbalis", "CT", 15, "LSPINE", ""),
    ("UXMA00", "MR af cerebrum", "MR", 30, "HEAD", _MR_PREP),
    ("UXMB00", "MR af hals", "MR", 30, "NECK", _MR_PREP),
    ("UXMC10", "MR af hjerte", "MR", 30, "HEART", _MR_PREP),
    ("UXMD20", "MR af lever", "MR", 30, "LIVER", _MR_PREP + " Faste 4 timer."),
    ("UXME30", "MR af prostata", "MR", 30, "PROSTATE", _MR_PREP + " Tom endetarm."),
    ("UXMF10", "MR af columna cervicalis", "MR", 25, "CSPINE", _MR_PREP),
    ("UXMF30", "MR af columna lumbalis", "MR", 25, "LSPINE", _MR_PREP),
    ("UXMH20", "MR af skulder", "MR", 30, "SHOULDER", _MR_PREP),
    ("UXMK20", "MR af knæ", "MR", 25, "KNEE", _MR_PREP),
    ("UXUD00", "UL af abdomen", "US", 20, "ABDOMEN", _US_FAST),
    ("UXUD20", "UL af nyrer og urinveje", "US", 20, "KIDNEY", "Drik 1 liter vand før."),
    ("UXUB00", "UL af glandula thyroidea", "US", 15, "THYROID", ""),
    ("UXUE00", "UL af underliv", "US", 20, "PELVIS", "Fyldt blære."),
    ("UXUC10", "UL af mammae", "US", 20, "BREAST", ""),
    ("UXUK20", "UL af vener i underekstremitet", "US", 20, "LEG", ""),
    ("UXUH20", "UL af skulder", "US", 15, "SHOULDER", ""),
    ("UXRC40", "Klinisk mammografi, bilateral", "MG", 15, "BREAST", _MG_PREP),
    ("UXRC41", "Mammografi, unilateral", "MG", 10, "BREAST", _MG_PREP),
    ("UXRC45", "Mammografi med tomosyntese", "MG", 15, "BREAST", _MG_PREP),
    ("UXRC50", "Kontrolmammografi efter brystbevarende operation", "MG", 15, "BREAST", _MG_PREP),
)

#: How often each modality is asked for (plain X-ray is the bulk of radiology).
MODALITY_WEIGHTS = {"DX": 40, "CT": 24, "US": 16, "MR": 14, "MG": 6}


def procedure_codes() -> list[CodeView]:
    """The catalogue as the region service takes it, checked against the slot lengths."""
    codes = [CodeView(*row) for row in CATALOGUE]
    for c in codes:
        if c.duration_minutes > SLOT_MINUTES[c.modality]:
            raise ValueError(
                f"procedure {c.code} needs {c.duration_minutes} minutes, "
                f"longer than a {c.modality} slot ({SLOT_MINUTES[c.modality]})"
            )
    return codes
