"""What the fields mean to us: PID to a patient, ORC/OBR/TQ1 to orders (HL7 v2.3-2.5.1).

Where each value comes from (the first non-empty wins):
- CPR: the PID-3 repetition whose assigning authority (CX-4) is CPR or whose type
  (CX-5) is NNDNK, else the first PID-3, else PID-2 (v2.3 external id).
- name: PID-5 (XPN: family^given^middle).
- placer order number: ORC-2, else OBR-2; filler order number (our accession): ORC-3,
  else OBR-3; examination code: OBR-4.1 (our procedure catalogue code).
- priority, requested date, end date: see ``lysbord.hl7.settings``.
- referring unit: ORC-17 (entering organisation), ORC-13 (enterer's location),
  OBR-16 (ordering provider), ORC-12; clinical question: OBR-31, OBR-13, else ORC-16.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import hl7

from lysbord.config.hl7 import Hl7InSettings
from lysbord.domain.priorities import Priority
from lysbord.hl7.ack import Location
from lysbord.hl7.parse import repetitions, value

CPR_AUTHORITIES = frozenset({"CPR", "NNDNK", "DK"})


@dataclass(slots=True)
class Order:
    """One ORC group (ORC with its TQ1, OBR and IPC) and where it sits in the message."""

    seq: int
    orc: hl7.Segment
    obr: hl7.Segment | None = None
    tq1: hl7.Segment | None = None
    others: list[hl7.Segment] = field(default_factory=list)

    def get(self, name: str, field_no: int, comp: int = 1) -> str:
        seg = {"ORC": self.orc, "OBR": self.obr, "TQ1": self.tq1}.get(name)
        return value(seg, field_no, comp) if seg is not None else ""

    def at(self, name: str, field_no: int) -> Location:
        return Location(name, field_no, self.seq)

    @property
    def control(self) -> str:
        return self.get("ORC", 1).upper()

    @property
    def placer(self) -> tuple[str, str]:
        if self.get("ORC", 2):
            return self.get("ORC", 2), self.get("ORC", 2, 2)
        return self.get("OBR", 2), self.get("OBR", 2, 2)

    @property
    def filler(self) -> str:
        return self.get("ORC", 3) or self.get("OBR", 3)

    @property
    def code(self) -> str:
        return self.get("OBR", 4)


def orders(msg: hl7.Message) -> list[Order]:
    """The ORC groups in message order; OBR, TQ1 and IPC belong to the ORC before them."""
    groups: list[Order] = []
    for seg in msg:
        name = str(seg[0])
        if name == "ORC":
            groups.append(Order(len(groups) + 1, seg))
        elif groups and name == "OBR" and groups[-1].obr is None:
            groups[-1].obr = seg
        elif groups and name == "TQ1" and groups[-1].tq1 is None:
            groups[-1].tq1 = seg
        elif groups:
            groups[-1].others.append(seg)
    return groups


def cpr_of(pid: hl7.Segment) -> str:
    """The patient's CPR (or replacement number) as PID-3 or PID-2 carries it."""
    count = min(repetitions(pid, 3), 5)
    reps = [
        (value(pid, 3, 1, r), value(pid, 3, 4, r), value(pid, 3, 5, r)) for r in range(1, count + 1)
    ]
    for number, authority, kind in reps:
        if number and (authority.upper() in CPR_AUTHORITIES or kind.upper() in CPR_AUTHORITIES):
            return number
    return (reps[0][0] if reps else "") or value(pid, 2)


def priority_of(order: Order, settings: Hl7InSettings) -> Priority:
    """What the priority code maps to; an unknown code raises KeyError naming it."""
    code = (order.get("TQ1", 9) or order.get("ORC", 7, 6) or order.get("OBR", 27, 6)).upper()
    if not code:
        return settings.default_priority
    return settings.priorities[code]


def when(order: Order, tq1: int, tq: int) -> str:
    """A quantity/timing date: TQ1-<tq1> (v2.5), else ORC-7.<tq>, else OBR-27.<tq>."""
    return order.get("TQ1", tq1) or order.get("ORC", 7, tq) or order.get("OBR", 27, tq)


def hl7_date(text: str) -> date:
    """The date of a DTM/TS value (YYYYMMDD[HHMM[SS]][+ZZZZ]); ValueError when malformed."""
    digits = text.strip()[:8]
    if len(digits) != 8 or not digits.isdigit():
        raise ValueError(f"not a date (YYYYMMDD): {text!r}")
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


def referring_unit(order: Order, default: str) -> str:
    for name, field_no, comp in (("ORC", 17, 2), ("ORC", 17, 1), ("ORC", 13, 1)):
        if text := order.get(name, field_no, comp):
            return text
    provider = " ".join(filter(None, (order.get("OBR", 16, 3), order.get("OBR", 16, 2))))
    return provider or order.get("ORC", 12, 2) or default


def clinical_question(order: Order) -> str:
    for name, field_no, comp in (("OBR", 31, 2), ("OBR", 31, 1), ("OBR", 13, 1)):
        if text := order.get(name, field_no, comp):
            return text
    return order.get("ORC", 16, 2) or "(no clinical question given)"


def reason_of(order: Order, default: str) -> str:
    """ORC-16 order control code reason (CWE: text, else code)."""
    return order.get("ORC", 16, 2) or order.get("ORC", 16, 1) or default
