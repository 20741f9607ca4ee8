"""The inbox through the REST API: search, read the bytes received, replay a rejected one."""

from __future__ import annotations

import base64
import uuid

from fastapi.testclient import TestClient

from lysbord.domain.access import Role
from lysbord.hl7.door import Hl7Door
from lysbord.services.core.context import Context
from lysbord.services.pathway import referral_queries
from tests.helpers import random_cpr
from tests.hl7_in.conftest import MllpClient, sample, segment
from tests.integration.api_fixtures import (  # noqa: F401
    api_as_fixture,
    api_fixture,
    ok,
    problem,
    register,
)


def test_search_read_and_replay_after_the_cause_is_fixed(
    ctx: Context, api: TestClient, hl7_door: Hl7Door
) -> None:
    client = MllpClient(hl7_door.port)
    cpr, msg = random_cpr(), uuid.uuid4().hex[:12]
    raw = sample("orm_o01_nw.hl7", cpr=cpr, id=msg, placer=uuid.uuid4().hex[:8])
    first = client.call(raw)
    assert segment(first, "MSA")[1] == "AE"
    client.call(sample("adt_a04_latin1.hl7", cpr=random_cpr(), id=uuid.uuid4().hex))

    page = ok(api.get("/api/v1/hl7/messages", params={"status": "rejected", "cpr": cpr}))
    assert page["total"] == 1
    item = page["items"][0]
    assert (item["control_id"], item["message_type"], item["location"]) == (msg, "ORM^O01", "PID-3")
    assert ok(api.get("/api/v1/hl7/messages", params={"type": "ADT"}))["total"] == 1
    assert ok(api.get("/api/v1/hl7/messages", params={"type": "ORM^O01"}))["total"] == 1

    found = ok(api.get(f"/api/v1/hl7/messages/{item['id']}"))
    assert base64.b64decode(found["raw_base64"]) == raw
    assert "Ærø^Søren" in found["text"]
    assert found["answer"].startswith("MSH|")

    register(api, cpr)
    replayed = ok(api.post(f"/api/v1/hl7/messages/{item['id']}/replay"))
    assert replayed["message"]["status"] == "applied"
    assert replayed["message"]["attempts"] == 2
    assert "|AA|" in replayed["answer"]
    assert referral_queries.list_referrals(ctx, referral_queries.ReferralFilter(cpr=cpr))[1] == 1
    problem(api.post(f"/api/v1/hl7/messages/{item['id']}/replay"), 409, "message_id")
    again = client.call(raw)  # the sender re-sends: the stored (new) answer, applied once
    assert segment(again, "MSA")[1] == "AA"
    assert referral_queries.list_referrals(ctx, referral_queries.ReferralFilter(cpr=cpr))[1] == 1
    client.close()


def test_unknown_message_and_bad_status(api: TestClient) -> None:
    problem(api.get("/api/v1/hl7/messages/999999"), 404, "message_id")
    assert api.get("/api/v1/hl7/messages", params={"status": "lost"}).status_code == 422


def test_search_by_cpr_follows_a_merge_made_over_http_until_it_is_undone(
    api: TestClient, hl7_door: Hl7Door
) -> None:
    client = MllpClient(hl7_door.port)
    survivor, merged = random_cpr(), random_cpr()
    sent = {}
    for cpr in (survivor, merged):
        sent[cpr] = uuid.uuid4().hex[:12]
        answer = client.call(sample("adt_a04_latin1.hl7", cpr=cpr, id=sent[cpr]))
        assert segment(answer, "MSA")[1] == "AA"
    client.close()

    def ids(cpr: str) -> set[str]:
        page = ok(api.get("/api/v1/hl7/messages", params={"cpr": cpr}))
        assert page["total"] == len(page["items"])
        return {item["control_id"] for item in page["items"]}

    body = {"target_cpr": survivor, "reason": "samme person"}
    view = ok(api.post(f"/api/v1/patients/{merged}/merge", json=body))
    both = set(sent.values())
    assert ids(survivor) == ids(f"{merged[:6]}-{merged[6:]}") == both
    (merge,) = view["merges"]
    undo = {"reason": "to personer alligevel"}
    ok(api.post(f"/api/v1/patients/merges/{merge['id']}/undo", json=undo))
    assert ids(survivor) == {sent[survivor]}
    assert ids(merged) == {sent[merged]}


def test_raw_messages_are_for_administrators_only(api_as) -> None:
    """Issue 20: raw ADT and ORM messages, CPR numbers and all, were readable by every role."""
    for role in (Role.booking_clerk, Role.radiographer, Role.radiologist, Role.manager):
        client = api_as(role)
        assert client.get("/api/v1/hl7/messages").status_code == 403, role
        assert client.get("/api/v1/hl7/messages/1").status_code == 403, role
    assert api_as(Role.admin).get("/api/v1/hl7/messages").status_code == 200
