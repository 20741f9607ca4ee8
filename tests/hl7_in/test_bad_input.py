"""The issue's bad input, each over one connection that stays usable: a precise AR or AE,
kept in the inbox with the reason."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid

from lysbord.hl7.door import Hl7Door
from lysbord.hl7.mllp import END, START, wrap
from lysbord.services.core.context import Context
from lysbord.services.messaging import inbox_queries
from lysbord.services.pathway import booking, referral_queries
from lysbord.services.pathway.procedures import Action, act
from lysbord.services.people import patients, registration
from tests.helpers import new_patient, random_cpr
from tests.hl7_in.conftest import MakeDoor, MllpClient, sample, segment


def cid() -> str:
    return uuid.uuid4().hex[:16]


def still_usable(ctx: Context, client: MllpClient) -> None:
    cpr = random_cpr()
    assert segment(client.call(sample("adt_a05.hl7", cpr=cpr, id=cid())), "MSA")[1] == "AA"
    assert registration.get_patient(ctx, cpr).family_name == "Hansen"


def rejected(ctx: Context, control_id: str | None = None) -> inbox_queries.MessageView:
    items, _ = inbox_queries.list_messages(ctx, inbox_queries.InboxFilter(status="rejected"))
    found = [m for m in items if control_id is None or m.control_id == control_id]
    assert found, items
    return found[0]


def test_truncated_frame_then_a_whole_one(ctx: Context, client: MllpClient) -> None:
    cut = sample("adt_a05.hl7", cpr=random_cpr(), id=(lost := cid()))[:100]
    client.send_raw(START + cut)
    answer = client.call(sample("adt_a05.hl7", cpr=random_cpr(), id=cid()))
    assert segment(answer, "MSA")[1:3] == ["AR", lost]
    assert "truncated frame" in segment(answer, "MSA")[3]
    assert segment(client.receive(), "MSA")[1] == "AA"
    kept = rejected(ctx, lost)
    assert "truncated frame" in (kept.reason or "")
    assert inbox_queries.get_message(ctx, kept.id).raw == cut
    still_usable(ctx, client)


def test_a_frame_that_never_ends_is_answered_after_the_timeout(
    ctx: Context, make_hl7_door: MakeDoor
) -> None:
    door = make_hl7_door(frame_timeout_seconds=0.5)
    client = MllpClient(door.port)
    client.send_raw(START + sample("adt_a05.hl7", cpr=random_cpr(), id=(lost := cid())))
    answer = client.receive()
    assert segment(answer, "MSA")[1:3] == ["AR", lost]
    assert "not ended within 0.5 s" in segment(answer, "MSA")[3]
    still_usable(ctx, client)
    client.close()


def test_a_frame_fed_a_byte_at_a_time_is_cut_at_its_deadline(
    ctx: Context, make_hl7_door: MakeDoor
) -> None:
    """Issue 20: one byte every few seconds held a frame (and a door thread's work) open
    forever; the deadline runs from the frame's first byte."""
    door = make_hl7_door(frame_timeout_seconds=0.6)
    client = MllpClient(door.port)
    client.send_raw(START + sample("adt_a05.hl7", cpr=random_cpr(), id=(lost := cid())))
    started = time.monotonic()
    trickle = threading.Thread(target=_trickle, args=(client, 16, 0.25), daemon=True)
    trickle.start()  # 4 s of one byte every 0.25 s, each gap well under the timeout
    answer = client.receive()
    assert time.monotonic() - started < 3, "answered only when the trickle stopped"
    assert segment(answer, "MSA")[1:3] == ["AR", lost]
    assert "not ended within 0.6 s" in segment(answer, "MSA")[3]
    trickle.join()
    client.close()


def _trickle(client: MllpClient, count: int, gap: float) -> None:
    for _ in range(count):
        time.sleep(gap)
        with contextlib.suppress(OSError):
            client.send_raw(b"X")


def test_an_idle_connection_is_closed(make_hl7_door: MakeDoor) -> None:
    """Issue 20: idle connections were never closed, so a peer could hold them all."""
    door = make_hl7_door(idle_timeout_seconds=0.5)
    client = MllpClient(door.port, timeout=10)
    assert client.sock.recv(1) == b""  # the door closed it, long before the 10 s timeout
    client.close()


def test_missing_msh(ctx: Context, client: MllpClient) -> None:
    answer = client.call(b"PID|1||0101651234^^^CPR||Hansen^Jens\r")
    assert segment(answer, "MSA")[1] == "AR"
    assert segment(answer, "ERR")[2:4] == ["MSH^1^", "100^Segment sequence error^HL70357"]
    assert "does not start with an MSH segment" in (rejected(ctx).reason or "")
    still_usable(ctx, client)


def test_wrong_separators(ctx: Context, client: MllpClient) -> None:
    answer = client.call(b"MSH|^~|PAS|RH|||20261123||ADT^A05|X|P|2.5\rPID|1||0101651234\r")
    assert segment(answer, "MSA")[1] == "AR"
    assert segment(answer, "ERR")[2] == "MSH^1^2"
    answer = client.call(b"MSHA^~\\&APAS\rPID\r")
    assert "field separator 'A'" in answer.decode()
    still_usable(ctx, client)


def test_message_in_the_wrong_character_set(ctx: Context, client: MllpClient) -> None:
    utf8_said = sample("adt_a01.hl7", cpr=random_cpr(), id=(wrong := cid()))
    latin1_sent = utf8_said.decode("utf-8").encode("latin-1")
    answer = client.call(latin1_sent)
    assert segment(answer, "MSA")[1:3] == ["AR", wrong]
    assert segment(answer, "ERR")[2] == "MSH^1^18"
    found = rejected(ctx, wrong)
    assert found.location == "MSH-18" and "not UNICODE UTF-8" in (found.reason or "")
    assert inbox_queries.get_message(ctx, found.id).raw == latin1_sent
    still_usable(ctx, client)


def test_order_for_a_patient_never_seen(ctx: Context, client: MllpClient) -> None:
    cpr = random_cpr()
    answer = client.call(sample("orm_o01_nw.hl7", cpr=cpr, id=(msg := cid()), placer=cid()))
    assert segment(answer, "MSA")[1:3] == ["AE", msg]
    assert segment(answer, "ERR")[1].startswith("PID^1^3^204")  # v2.3.1: ERR-1
    assert [s[:6] for s in answer.decode("latin-1").split("\r") if s.startswith("ORC")] == [
        "ORC|UA",
        "ORC|UA",
    ]
    found = rejected(ctx, msg)
    assert found.cpr == cpr and found.location == "PID-3"
    still_usable(ctx, client)


def test_invalid_cpr_and_unknown_code(ctx: Context, client: MllpClient) -> None:
    answer = client.call(sample("adt_a01.hl7", cpr="3102651234", id=cid()))
    assert segment(answer, "MSA", "utf-8")[1] == "AE"
    assert segment(answer, "ERR", "utf-8")[2:4] == ["PID^1^3", "102^Data type error^HL70357"]
    assert "31 February does not exist" in segment(answer, "ERR", "utf-8")[8]
    cpr = new_patient(ctx)
    omg = sample("omg_o19_nw.hl7", cpr=cpr, id=cid(), placer=cid()).replace(b"UXUD00", b"NOPE1")
    answer = client.call(omg)
    assert segment(answer, "MSA", "utf-8")[1] == "AE"
    assert segment(answer, "ERR", "utf-8")[2:4] == ["OBR^1^4", "103^Table value not found^HL70357"]
    still_usable(ctx, client)


def test_a40_naming_a_patient_already_merged(ctx: Context, client: MllpClient) -> None:
    survivor, prior = new_patient(ctx), new_patient(ctx)
    patients.merge_patients(ctx, prior, survivor, "duplicate", "tester")
    answer = client.call(sample("adt_a40.hl7", cpr=survivor, prior=prior, id=(msg := cid())))
    assert segment(answer, "MSA")[1] == "AE"
    err = segment(answer, "ERR")
    assert err[2] == "MRG^1^1" and err[5] == "MergeRefused" and "already merged" in err[8]
    assert rejected(ctx, msg).location == "MRG-1"
    still_usable(ctx, client)


def test_cancel_of_a_completed_order(ctx: Context, client: MllpClient) -> None:
    cpr = new_patient(ctx)
    answer = client.call(sample("orm_o01_nw.hl7", cpr=cpr, id=cid(), placer=(placer := cid())))
    acc = segment(answer, "ORC")[3].split("^")[0]
    slot = booking.find_slots(ctx, booking.SlotSearch(acc))[0]
    booking.book(ctx, acc, slot.slot_id, "tester")
    for action in (Action.ARRIVE, Action.START, Action.COMPLETE):
        act(ctx, acc, action, "tester")
    cancel = sample("orm_o01_ca.hl7", cpr=cpr, id=cid(), placer=placer, accession=acc)
    answer = client.call(cancel)
    assert segment(answer, "MSA")[1] == "AE"
    assert segment(answer, "ORC")[1] == "UC"
    assert segment(answer, "ERR")[1].startswith("ORC^1^1^207")
    assert "cannot go from completed to cancelled" in segment(answer, "MSA")[3]
    still_usable(ctx, client)


def test_unsupported_types_and_versions(ctx: Context, client: MllpClient) -> None:
    base = sample("adt_a05.hl7", cpr=random_cpr(), id=cid())
    siu = base.replace(b"ADT^A05", b"SIU^S12")
    a03 = (
        base.replace(b"ADT^A05", b"ADT^A03")
        .replace(b"|P|2.3", b"|P|2.5")
        .replace(b"|" + segment(base, "MSH")[10].encode() + b"|", b"|" + cid().encode() + b"|")
    )
    v26 = base.replace(b"|P|2.3", b"|P|2.6").replace(
        b"|" + segment(base, "MSH")[10].encode() + b"|", b"|" + cid().encode() + b"|"
    )
    assert segment(client.call(siu), "MSA")[1] == "AR"
    assert segment(client.call(siu), "ERR")[1].startswith("MSH^1^9^200")
    assert segment(client.call(a03), "ERR")[3].startswith("201^")
    assert segment(client.call(v26), "ERR")[2:4] == [
        "MSH^1^12",
        "203^Unsupported version id^HL70357",
    ]
    still_usable(ctx, client)


def test_bytes_outside_any_frame_are_kept_and_answered(ctx: Context, hl7_door: Hl7Door) -> None:
    client = MllpClient(hl7_door.port)
    client.send_raw(
        b"GET / HTTP/1.0\r\n\r\n" + wrap(sample("adt_a05.hl7", cpr=random_cpr(), id=cid()))
    )
    assert segment(client.receive(), "MSA")[1] == "AR"
    assert segment(client.receive(), "MSA")[1] == "AA"
    assert rejected(ctx).reason == "bytes outside a frame (no start block 0x0B)"
    assert END not in b"GET"
    client.close()


def test_a_placer_number_in_use_is_refused_and_nothing_is_created(
    ctx: Context, client: MllpClient
) -> None:
    cpr = new_patient(ctx)
    placer = cid()
    first = client.call(sample("orm_o01_nw.hl7", cpr=cpr, id=cid(), placer=placer))
    assert segment(first, "MSA")[1] == "AA"
    again = client.call(sample("orm_o01_nw.hl7", cpr=cpr, id=(msg := cid()), placer=placer))
    assert segment(again, "MSA")[1] == "AE"
    assert [s[:6] for s in again.split(b"\r") if s.startswith(b"ORC")] == [b"ORC|UA"] * 2
    assert "placer order number is in use already" in (rejected(ctx, msg).reason or "")
    assert referral_queries.list_referrals(ctx, referral_queries.ReferralFilter(cpr=cpr))[1] == 1
    still_usable(ctx, client)


def test_a_nul_character_is_refused_and_kept(ctx: Context, client: MllpClient) -> None:
    """HL7 text holds no NUL, and PostgreSQL refuses it in text columns: AR naming where,
    the header's values kept with U+FFFD, the raw bytes as sent (found by the fuzz test:
    the door had closed the connection unanswered)."""
    raw = sample("adt_a05.hl7", cpr=random_cpr(), id=(lost := cid())).replace(b"|PAS|", b"|\x00AS|")
    answer = client.call(raw)
    assert segment(answer, "MSA")[1:3] == ["AR", lost]
    assert "NUL" in segment(answer, "MSA")[3]
    assert segment(answer, "ERR")[1].startswith("MSH^1^3^")  # v2.3: ERR-1
    kept = rejected(ctx, lost)
    assert kept.sender_app == "\ufffdAS" and inbox_queries.get_message(ctx, kept.id).raw == raw
    still_usable(ctx, client)


def test_a_control_id_too_long_to_keep_is_refused_not_cut(ctx: Context, client: MllpClient) -> None:
    """Issue 20: a 5,000-character MSH-10 was cut to 199 characters and stored, so two
    messages that differ only after them were taken for one (a copy, never applied)."""
    long_id = cid() * 320
    answer = client.call(sample("adt_a05.hl7", cpr=random_cpr(), id=long_id))
    msa = segment(answer, "MSA")
    assert msa[1] == "AR" and segment(answer, "ERR")[1].startswith("MSH^1^10^102")  # v2.3 ERR-1
    assert "longer than 199" in msa[3]
    assert "longer than 199" in (rejected(ctx).reason or "")
    still_usable(ctx, client)
