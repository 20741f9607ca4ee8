"""The words of the demo: who refers, what they ask, and why things stop.

Written the way Danish clinicians and secretaries write them, so that the lists
and the tracker in the demo read like the real thing.
"""

from __future__ import annotations

UNITS = (
    "Almen praksis",
    "Akutmodtagelsen",
    "Lungemedicinsk afdeling",
    "Kirurgisk afdeling",
    "Medicinsk afdeling",
    "Ortopædkirurgisk afdeling",
    "Neurologisk afdeling",
    "Onkologisk klinik",
    "Urologisk afdeling",
    "Mammakirurgisk afdeling",
    "Kardiologisk afdeling",
    "Gynækologisk afdeling",
    "Børneafdelingen",
    "Reumatologisk afdeling",
)

#: Clinical questions by body part (the catalogue's body_part).
QUESTIONS: dict[str, tuple[str, ...]] = {
    "CHEST": ("Mistanke om lungecancer", "Pneumoni?", "Vedvarende hoste", "Dyspnø, uafklaret"),
    "ABDOMEN": ("Mavesmerter, galdesten?", "Vægttab, udelukke malignitet", "Ileus?"),
    "CHESTABDOMEN": ("Staging ved kendt cancer", "Kontrol efter kemoterapi"),
    "HEAD": ("Hovedpine, udelukke tumor", "Apopleksi?", "Faldtraume, blødning?"),
    "NECK": ("Hævelse på halsen", "Lymfeknuder?"),
    "HEART": ("Kardiomyopati?", "Nedsat uddrivningsfraktion"),
    "LIVER": ("Leverforandring set ved UL", "Kontrol af levermetastaser"),
    "PROSTATE": ("Forhøjet PSA", "Mistanke om prostatacancer"),
    "CSPINE": ("Nakkesmerter med udstråling", "Traume, fraktur?"),
    "LSPINE": ("Lændesmerter med udstråling", "Diskusprolaps?", "Rygsmerter > 6 uger"),
    "PELVIS": ("Bækkensmerter", "Fraktur?", "Udfyldning i lille bækken"),
    "HIP": ("Hoftesmerter, artrose?", "Fald, collumfraktur?"),
    "SHOULDER": ("Skuldersmerter, rotator cuff?", "Luksation?"),
    "HAND": ("Fald på strakt arm, fraktur?", "Ledsmerter"),
    "KNEE": ("Knæsmerter, menisklæsion?", "Artrose?"),
    "ANKLE": ("Distorsion, fraktur?",),
    "FOOT": ("Forfodssmerter", "Traume, fraktur?"),
    "KIDNEY": ("Hæmaturi", "Nyresten?"),
    "THYROID": ("Knude i thyreoidea",),
    "BREAST": ("Knude i højre bryst", "Knude i venstre bryst", "Kontrol efter operation"),
    "LEG": ("Dyb venetrombose?", "Hævet underben"),
}

HOLD = (
    "Afventer kreatininsvar",
    "Patienten ønsker udsættelse (ferie)",
    "Afventer pausering af metformin",
    "Afventer svar på supplerende blodprøver",
    "Patienten er indlagt på andet hospital",
)
CANCEL = (
    "Henvisningen trukket tilbage af henvisende afdeling",
    "Patienten ønsker ikke undersøgelsen",
    "Dobbelthenvisning",
    "Undersøgelsen er ikke længere indiceret",
)
DISCONTINUE = (
    "Klaustrofobi, undersøgelsen afbrudt",
    "Kontrastreaktion (urticaria), undersøgelsen afbrudt",
    "Patienten kunne ikke ligge stille",
    "Teknisk fejl på scanneren",
)
APPOINTMENT_CANCEL = (
    "Patienten er syg og har meldt afbud",
    "Patienten har ringet og ønsker en anden tid",
    "Scanneren skal til service",
)
MERGE_FOUND = "Ukendt traumepatient identificeret; erstatningsnummer lagt sammen med CPR"
MERGE_DUPLICATE = "Dobbeltregistrering opdaget ved indskrivning"
MERGE_WRONG = "Forkert patient lagt sammen (navneforveksling)"
UNDO_WRONG = "Sammenlægningen var forkert: journalerne adskilles igen"
