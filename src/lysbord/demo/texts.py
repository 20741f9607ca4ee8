"""The words of the demo: who refers, what they ask, and why things stop.

Written the way Danish clinicians and secretaries write them, so that the lists
and the tracker in the demo read like the real thing.
"""

from __future__ import annotations

from dataclasses import dataclass

GP = "Almen praksis"
ER = "Akutmodtagelsen"
LUNG = "Lungemedicinsk afdeling"
SURGERY = "Kirurgisk afdeling"
MEDICINE = "Medicinsk afdeling"
ORTHO = "Ortopædkirurgisk afdeling"
NEURO = "Neurologisk afdeling"
ONCOLOGY = "Onkologisk klinik"
UROLOGY = "Urologisk afdeling"
BREAST = "Mammakirurgisk afdeling"
CARDIO = "Kardiologisk afdeling"
GYN = "Gynækologisk afdeling"
CHILDREN = "Børneafdelingen"
RHEUMA = "Reumatologisk afdeling"
ENT = "Øre-næse-halskirurgisk afdeling"
ENDO = "Endokrinologisk afdeling"
GASTRO = "Medicinsk gastroenterologisk afdeling"


@dataclass(frozen=True, slots=True)
class Indication:
    """A clinical question, the procedures that answer it and the units that ask it
    (``sex``: only for patients of that sex; Børneafdelingen refers children only)."""

    question: str
    codes: tuple[str, ...]
    units: tuple[str, ...]
    sex: str | None = None


_I = Indication
#: Why a department asks for which examination: every referral of the demo is one of these.
INDICATIONS: tuple[Indication, ...] = (
    _I("Mistanke om lungecancer", ("UXCC00", "UXRC00"), (LUNG, GP)),
    _I("Pneumoni?", ("UXRC00",), (GP, ER, MEDICINE, CHILDREN, LUNG)),
    _I("Vedvarende hoste", ("UXRC00",), (GP, LUNG)),
    _I("Dyspnø, uafklaret", ("UXRC00", "UXCC00"), (GP, MEDICINE, LUNG, CARDIO)),
    _I("Lungeemboli?", ("UXCC10",), (ER, MEDICINE, CARDIO, LUNG)),
    _I("Hjertesvigt, stase?", ("UXRC00",), (CARDIO, MEDICINE, ER)),
    _I("Mavesmerter, galdesten?", ("UXUD00",), (GP, SURGERY, ER)),
    _I("Vægttab, udelukke malignitet", ("UXCD00", "UXUD00"), (GP, MEDICINE, GASTRO)),
    _I("Ileus?", ("UXRD00", "UXCD00"), (ER, SURGERY)),
    _I("Appendicitis?", ("UXUD00", "UXCD00"), (ER, SURGERY, CHILDREN)),
    _I("Forhøjede levertal", ("UXUD00",), (GP, MEDICINE, GASTRO)),
    _I("Staging ved kendt cancer", ("UXCD10",), (ONCOLOGY, SURGERY, LUNG, UROLOGY)),
    _I("Kontrol efter kemoterapi", ("UXCD10",), (ONCOLOGY,)),
    _I("Hovedpine, udelukke tumor", ("UXCA00", "UXMA00"), (GP, NEURO)),
    _I("Apopleksi?", ("UXCA00", "UXCA10", "UXMA00"), (ER, NEURO)),
    _I("Faldtraume, blødning?", ("UXCA00",), (ER, MEDICINE)),
    _I("Kramper, første anfald", ("UXMA00", "UXCA00"), (NEURO, ER, CHILDREN)),
    _I("Hævelse på halsen", ("UXCB00", "UXMB00"), (ENT, GP)),
    _I("Forstørrede lymfeknuder på halsen", ("UXCB00",), (ENT, ONCOLOGY)),
    _I("Kardiomyopati?", ("UXMC10",), (CARDIO,)),
    _I("Nedsat uddrivningsfraktion, årsag?", ("UXMC10",), (CARDIO,)),
    _I("Leverforandring set ved UL", ("UXMD20",), (GASTRO, SURGERY, MEDICINE)),
    _I("Kontrol af levermetastaser", ("UXMD20",), (ONCOLOGY, SURGERY)),
    _I("Forhøjet PSA", ("UXME30",), (UROLOGY, GP), "M"),
    _I("Mistanke om prostatacancer", ("UXME30",), (UROLOGY,), "M"),
    _I("Nakkesmerter med udstråling til armen", ("UXMF10",), (GP, NEURO, ORTHO)),
    _I("Nakketraume, fraktur?", ("UXRF10",), (ER, ORTHO)),
    _I("Lændesmerter med udstråling til benet", ("UXMF30",), (GP, NEURO, ORTHO, RHEUMA)),
    _I("Diskusprolaps?", ("UXMF30", "UXCF30"), (GP, NEURO, ORTHO)),
    _I("Rygsmerter > 6 uger", ("UXRF30", "UXMF30"), (GP, RHEUMA)),
    _I("Kompressionsfraktur?", ("UXRF30", "UXCF30"), (GP, MEDICINE, ORTHO, ER)),
    _I("Bækkensmerter efter fald", ("UXRG00", "UXCE00"), (ER, ORTHO)),
    _I("Udfyldning i lille bækken", ("UXUE00", "UXCE00"), (GYN, GP), "F"),
    _I("Underlivssmerter, cyste?", ("UXUE00",), (GYN, GP), "F"),
    _I("Hoftesmerter, artrose?", ("UXRG10", "UXRG00"), (GP, ORTHO, RHEUMA)),
    _I("Fald, collumfraktur?", ("UXRG10", "UXRG00"), (ER, ORTHO)),
    _I("Skuldersmerter, rotator cuff?", ("UXMH20", "UXUH20"), (GP, ORTHO, RHEUMA)),
    _I("Skulderluksation?", ("UXRH20",), (ER, ORTHO)),
    _I("Fald på strakt arm, fraktur?", ("UXRH40",), (ER, ORTHO, GP, CHILDREN)),
    _I("Ledsmerter i hænderne, leddegigt?", ("UXRH40",), (RHEUMA, GP)),
    _I("Knæsmerter, menisklæsion?", ("UXMK20",), (ORTHO, GP)),
    _I("Knæsmerter, artrose?", ("UXRK20",), (GP, ORTHO, RHEUMA)),
    _I("Distorsion af ankel, fraktur?", ("UXRK40",), (ER, ORTHO, GP, CHILDREN)),
    _I("Forfodssmerter", ("UXRK50",), (GP, ORTHO, RHEUMA)),
    _I("Traume mod foden, fraktur?", ("UXRK50",), (ER, ORTHO)),
    _I("Hæmaturi", ("UXUD20",), (UROLOGY, GP)),
    _I("Nyresten?", ("UXUD20",), (UROLOGY, ER, GP)),
    _I("Nedsat nyrefunktion", ("UXUD20",), (MEDICINE, GP)),
    _I("Knude i thyreoidea", ("UXUB00",), (ENDO, ENT, GP)),
    _I("Knude i højre bryst", ("UXRC40", "UXRC41", "UXRC45", "UXUC10"), (BREAST, GP), "F"),
    _I("Knude i venstre bryst", ("UXRC40", "UXRC41", "UXRC45", "UXUC10"), (BREAST, GP), "F"),
    _I("Kontrol efter brystbevarende operation", ("UXRC50",), (BREAST, ONCOLOGY), "F"),
    _I("Arvelig disposition for brystkræft", ("UXRC40", "UXRC45"), (BREAST,), "F"),
    _I("Dyb venetrombose?", ("UXUK20",), (ER, MEDICINE, GP)),
    _I("Hævet underben", ("UXUK20",), (GP, MEDICINE)),
)

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

#: A radiologist's words for a study without findings, by body part; others: NO_FINDINGS.
FINDINGS = {
    "CHEST": "Normal hjertestørrelse. Ingen infiltrater, ingen pleuraeffusion, ingen pneumothorax.",
    "CHESTABDOMEN": "Ingen tumorsuspekte forandringer i thorax eller abdomen. Ingen forstørrede "
    "lymfeknuder, ingen metastasesuspekte forandringer.",
    "ABDOMEN": "Lever, galdeveje, pancreas, milt og nyrer uden patologiske forandringer. "
    "Ingen fri væske.",
    "HEAD": "Ingen blødning, intet infarkt og ingen ekspansive processer. Normale ventrikler.",
    "BREAST": "Ingen tumorsuspekte fortætninger og ingen mikroforkalkninger. BI-RADS 1.",
    "LSPINE": "Normal lordose. Let degeneration af diskus L4-L5 uden nerverodspåvirkning.",
    "KNEE": "Ingen fraktur. Let reduceret mediale ledspalte, forenelig med begyndende artrose.",
}
NO_FINDINGS = "Ingen patologiske forandringer."


def report_text(code_name: str, body_part: str) -> str:
    """A short signed report of the demo: what was examined, what was seen, the conclusion."""
    findings = FINDINGS.get(body_part, NO_FINDINGS)
    return f"{code_name}.\n\nBeskrivelse: {findings}\n\nKonklusion: Intet behandlingskrævende."
