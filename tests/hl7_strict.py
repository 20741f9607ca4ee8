"""Our HL7 checked by an independent implementation: hl7apy, strict, at the version the
message declares in MSH-12 (docs/hl7-conformance.md says what we send).

hl7apy's strict level parses against the version's message structures and checks
cardinality, data types, tables and lengths; ``Validator.validate`` raises the first
error and reports every error and warning. ``assert_strict`` fails on all of them
except the few listed here, each with the standard's own reason:

Where hl7apy's model is wrong about the standard:
- a *choice* group. The order detail of ORM^O01 and ORR^O02 is ``< OBR | RQD | RQ1 |
  RXO | ODS | ODT >`` in the standard's message structures (HL7 v2.5 chapter 4): one
  segment out of six, ``<..|..>`` being a choice in the abstract message syntax (HAPI
  and the standard's XML schema read it so). hl7apy models the group as a ``choice``
  but validates it like a ``sequence``, wanting all six (hl7apy issue #151).
  "Missing required child G.X" is excused only when G is a choice in hl7apy's own
  reference and every G in the message holds exactly one of its alternatives.
- pattern codes. Table 0203 lists ``NNxxx`` (a national person identifier, xxx the ISO
  3166 country: NNDNK for the CPR number), table 0396 ``HL7nnnn`` (an HL7 table:
  HL70357); hl7apy compares them letter for letter.
- the structure of a v2.3 message. MSH-9 in v2.3 is type^trigger (CM_MSG), with no
  structure; hl7apy then guesses ``type_trigger``, which for an ACK (ACK^A08, whose
  structure is ACK in every version) names no structure at all. ``parse_strict``
  tells it: a v2.3 ACK is an ACK.

Where we deviate on purpose:
- MSH-18 ``UNICODE UTF-8`` before v2.5. Tables 0211 of v2.3.1 and v2.4 have only
  ``UNICODE`` (ISO/IEC 10646, no encoding form named); v2.5 added ``UNICODE UTF-8``,
  which names the bytes we send exactly and is what receivers read as UTF-8.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator

from hl7apy import load_reference
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Element, Message
from hl7apy.exceptions import ChildNotFound, HL7apyException
from hl7apy.parser import get_message_info, parse_message, parse_segments
from hl7apy.validation import Validator

MISSING = re.compile(r"Missing required child (\w+)\.(\w+)")
PATTERN_CODES = {"HL70203": re.compile(r"NN[A-Z]{3}"), "HL70396": re.compile(r"HL7\d{4}")}
NOT_IN_TABLE = re.compile(r"Value (.*) not in table (HL7\d{4}) in element (\S+)")
BEFORE_25 = frozenset({"2.3", "2.3.1", "2.4"})


def parse_strict(text: str) -> Message:
    """The message as hl7apy reads it at its strict level (segments CR-separated)."""
    strict = VALIDATION_LEVEL.STRICT
    try:
        enc, structure, version = get_message_info(text)
        if version == "2.3" and structure.startswith("ACK_"):
            msg = Message("ACK", version=version, validation_level=strict, encoding_chars=enc)
            msg.children = parse_segments(text, version, enc, strict, msg.reference, True)
            return msg
        return parse_message(text, validation_level=strict, find_groups=True)
    except HL7apyException as exc:
        raise AssertionError(f"hl7apy cannot read it strictly: {exc!r}\n{_show(text)}") from None


def report(msg: Message) -> tuple[list[str], list[str]]:
    """Every error and warning hl7apy's validator finds (not just the first)."""
    fd, path = tempfile.mkstemp(suffix=".txt")
    os.close(fd)
    try:
        try:
            Validator.validate(msg, report_file=path)
        except HL7apyException:
            pass  # the report has it, and all the others
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    finally:
        os.unlink(path)
    errors = [line.removeprefix("Error: ") for line in lines if line.startswith("Error: ")]
    warnings = [line.removeprefix("Warning: ") for line in lines if line.startswith("Warning: ")]
    return errors, warnings


def unexcused(text: str) -> list[str]:
    """What hl7apy finds wrong with ``text`` that is not excused above."""
    msg = parse_strict(text)
    errors, warnings = report(msg)
    return [e for e in errors if not choice_excused(msg, e)] + [
        w for w in warnings if not warning_excused(msg.version, w)
    ]


def assert_strict(text: str) -> None:
    """``text`` passes hl7apy strict at its own MSH-12, bar the excused findings."""
    found = unexcused(text)
    assert not found, "hl7apy strict:\n  " + "\n  ".join(found) + "\n" + _show(text)


def choice_excused(msg: Message, error: str) -> bool:
    """hl7apy issue #151: a choice group holding exactly one alternative is complete."""
    m = MISSING.fullmatch(error)
    if m is None:
        return False
    try:
        ref = load_reference(m.group(1), "Group", msg.version)
    except ChildNotFound:  # a segment or field, not a group
        return False
    if ref[0] != "choice":
        return False
    alternatives = {child[0] for child in ref[1]}
    groups = list(_named(msg, m.group(1)))
    return bool(groups) and all(
        sum(c.name in alternatives for c in g.children) == 1 for g in groups
    )


def warning_excused(version: str, warning: str) -> bool:
    m = NOT_IN_TABLE.fullmatch(warning)
    if m is None:
        return False
    value, table, element = m.groups()
    pattern = PATTERN_CODES.get(table)
    if pattern is not None and pattern.fullmatch(value):
        return True
    return element == "MSH.MSH_18" and value == "UNICODE UTF-8" and version in BEFORE_25


def _named(element: Element, name: str) -> Iterator[Element]:
    for child in element.children:
        if child.name == name:
            yield child
        if child.classname in ("Message", "Group"):
            yield from _named(child, name)


def _show(text: str) -> str:
    return "\n".join("    " + line for line in text.split("\r") if line)
