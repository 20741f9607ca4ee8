"""Is a referral clinically coherent? A reviewer's table, kept apart from the demo's own.

The unit must examine the body part (``UNIT_BODY_PARTS``); the question must name what
the procedure looks at (``QUESTION_WORDS``: a word of the question -> the body parts it
may be about) and ask what its modality can answer (``NOT_BY``: findings a modality does
not show); sex- and age-bound questions and units only for those patients.
"""

from __future__ import annotations

import re

_LIMBS = {"SHOULDER", "HAND", "KNEE", "ANKLE", "FOOT", "HIP"}
UNIT_BODY_PARTS: dict[str, set[str]] = {
    "Almen praksis": {"CHEST", "ABDOMEN", "HEAD", "NECK", "CSPINE", "LSPINE", "PELVIS", "KIDNEY",
                      "THYROID", "BREAST", "LEG", "PROSTATE"} | _LIMBS,
    "Akutmodtagelsen": {"CHEST", "ABDOMEN", "HEAD", "CSPINE", "LSPINE", "PELVIS", "KIDNEY",
                        "LEG"} | _LIMBS,
    "Lungemedicinsk afdeling": {"CHEST", "CHESTABDOMEN"},
    "Kirurgisk afdeling": {"ABDOMEN", "CHESTABDOMEN", "LIVER"},
    "Medicinsk afdeling": {"CHEST", "ABDOMEN", "HEAD", "LSPINE", "KIDNEY", "LEG", "LIVER"},
    "Ortopædkirurgisk afdeling": {"CSPINE", "LSPINE", "PELVIS"} | _LIMBS,
    "Neurologisk afdeling": {"HEAD", "CSPINE", "LSPINE"},
    "Onkologisk klinik": {"CHESTABDOMEN", "LIVER", "NECK", "BREAST"},
    "Urologisk afdeling": {"KIDNEY", "PROSTATE", "CHESTABDOMEN"},
    "Mammakirurgisk afdeling": {"BREAST"},
    "Kardiologisk afdeling": {"CHEST", "HEART"},
    "Gynækologisk afdeling": {"PELVIS"},
    "Børneafdelingen": {"CHEST", "ABDOMEN", "HEAD", "HAND", "ANKLE"},
    "Reumatologisk afdeling": {"LSPINE", "PELVIS", "HIP", "SHOULDER", "HAND", "KNEE", "FOOT"},
    "Øre-næse-halskirurgisk afdeling": {"NECK", "THYROID"},
    "Endokrinologisk afdeling": {"THYROID"},
    "Medicinsk gastroenterologisk afdeling": {"ABDOMEN", "LIVER"},
}  # fmt: skip
QUESTION_WORDS: dict[str, set[str]] = {
    r"lunge|pneumoni|hoste|dyspnø|hjertesvigt": {"CHEST"},
    r"mave|galde|ileus|appendicitis|vægttab|levertal": {"ABDOMEN"},
    r"staging|kemoterapi": {"CHESTABDOMEN"},
    r"hovedpine|apopleksi|blødning|kramper": {"HEAD"},
    r"halsen": {"NECK"},
    r"kardiomyopati|uddrivningsfraktion": {"HEART"},
    r"lever": {"LIVER"},
    r"psa|prostata": {"PROSTATE"},
    r"nakke": {"CSPINE"},
    r"lænd|ryg|diskus|kompressionsfraktur": {"LSPINE"},
    r"bækken|underliv": {"PELVIS"},
    r"hofte|collum": {"HIP", "PELVIS"},
    r"skulder": {"SHOULDER"},
    r"strakt arm|hænderne": {"HAND"},
    r"knæ": {"KNEE"},
    r"ankel": {"ANKLE"},
    r"fod": {"FOOT"},
    r"nyre|hæmaturi": {"KIDNEY"},
    r"thyreoidea": {"THYROID"},
    r"bryst": {"BREAST"},
    r"venetrombose|underben": {"LEG"},
}
SEX = {"PROSTATE": "M", "BREAST": "F"}
NOT_BY: dict[str, set[str]] = {
    r"menisk|rotator cuff|diskusprolaps|udstråling": {"DX", "CR"},  # soft tissue, nerves
    r"fraktur|luksation": {"US", "MR"},
    r"lungeemboli": {"DX", "CR", "US", "MR"},
}


def incoherent(
    unit: str, question: str, codes: list[tuple[str, str, str]], sex: str, age: int
) -> str | None:
    """Why ``unit`` asking ``question`` of procedures (code, modality, body part) for this
    patient is not plausible, or None."""
    q = question.lower()
    if unit == "Børneafdelingen" and age >= 18:
        return f"{unit} refers a patient of {age}"
    words = [parts for word, parts in QUESTION_WORDS.items() if re.search(word, q)]
    if not words:
        return f"the table knows no body part for {question!r}"
    for code, modality, part in codes:
        if part not in UNIT_BODY_PARTS[unit]:
            return f"{unit} does not refer {part} ({code})"
        if not any(part in parts for parts in words):
            return f"{question!r} is not about {part} ({code})"
        if any(re.search(w, q) and modality in mods for w, mods in NOT_BY.items()):
            return f"{modality} ({code}) does not answer {question!r}"
        if SEX.get(part, sex) != sex or ("underliv" in q and sex != "F"):
            return f"{question!r} ({code}) for a patient of sex {sex}"
    return None
