"""The segments several outbound messages share, written from an outbox row's facts.

PID (ch. 3) for every message; the order's ORC and OBR (ch. 4) for ORM, OMI and ORU,
with the IHE Radiology SWF keys: ORC-3/OBR-3 our filler order number (the accession),
OBR-18 and OBR-19 the accession, OBR-24 the modality.
"""

from __future__ import annotations

from datetime import date

from lysbord.hl7.er7 import at, cx, esc, segment, ts, xpn
from lysbord.services.core.outbox import MessageFacts, OrderFacts, PatientFacts


def pid(p: PatientFacts) -> str:
    """PID-3 the patient's number, PID-5 the name, PID-7 birth date, PID-8 sex."""
    born = date.fromisoformat(p.birth_date).strftime("%Y%m%d")
    name = xpn(p.family_name, p.given_name)
    return segment("PID", "1", "", cx(p.number, p.issuer), "", name, "", born, esc(p.sex))


def order_numbers(o: OrderFacts, us: str) -> tuple[str, str]:
    """ORC-2/OBR-2 placer and ORC-3/OBR-3 filler order numbers (EI: id^namespace)."""
    placer = esc(o.placer_order_number) if o.placer_order_number else ""
    return placer, f"{esc(o.accession)}^{esc(us)}"


def service(code: str, name: str) -> str:
    """A procedure from our catalogue as CE: code^name^L (a local code, table 0396)."""
    return f"{esc(code)}^{esc(name)}^L"


def orc(facts: MessageFacts, us: str, status: str, control: str = "SC") -> str:
    """ORC-1 ``SC`` (status changed) on ORM and OMI, ``RE`` (observations follow) on ORU;
    ORC-5 the order status (table 0038), ORC-9 when, ORC-16 why."""
    placer, filler = order_numbers(facts.order, us)
    why = f"^{esc(facts.reason)}" if facts.reason else ""
    return at("ORC", {1: control, 2: placer, 3: filler, 5: status, 9: ts(facts.at), 16: why})


def obr(o: OrderFacts, us: str, when: str, result: str = "", author: str = "") -> str:
    """OBR; on ORU also OBR-7 (observed), OBR-25 (result status) and OBR-32 (author)."""
    placer, filler = order_numbers(o, us)
    return at(
        "OBR",
        {
            1: "1",
            2: placer,
            3: filler,
            4: service(o.code, o.code_name),
            7: ts(when) if result else "",
            16: f"^{esc(o.referring_unit)}",
            18: esc(o.accession),
            19: esc(o.accession),
            24: esc(o.modality),
            25: result,
            32: esc(author),
        },
    )
