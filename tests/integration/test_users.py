"""Users, sign-in with lock-out, sessions and API tokens, through the services (both backends)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from lysbord.domain.access import Role
from lysbord.domain.errors import Conflict, InvalidValue, NotFound
from lysbord.services.core.context import Context
from lysbord.services.people.sessions import (
    create_token,
    end_session,
    live_tokens,
    revoke_token,
    session_user,
    sign_in,
    token_user,
)
from lysbord.services.people.users import NewUser, add_user, list_users, set_active, set_password
from lysbord.store.models import Event
from lysbord.store.user_models import ApiToken, User, UserSession
from tests import web_fixtures  # noqa: F401  (sets the tests' argon2 cost)
from tests.conftest import Clock

PASSWORD = "korrekt-hest-batteri"


def events(ctx: Context, kind: str) -> list[tuple[str, dict[str, Any]]]:
    """(actor, data) of every event of ``kind``, oldest first."""
    with ctx.uow(readonly=True) as uow:
        query = select(Event.actor, Event.data).where(Event.kind == kind).order_by(Event.id)
        return [(actor, data) for actor, data in uow.session.execute(query)]


def only_row(ctx: Context, model: type[Any]) -> dict[str, Any]:
    """The columns of the one row of ``model``'s table."""
    with ctx.uow(readonly=True) as uow:
        (row,) = uow.session.execute(select(model.__table__)).mappings().all()
        return dict(row)


@pytest.fixture
def clerk(bare_ctx: Context) -> str:
    add_user(bare_ctx, NewUser("bente", "Bente S", ("booking_clerk",), PASSWORD), "admin")
    return "bente"


def test_add_user_hashes_the_password_and_records_who_added_it(bare_ctx, clerk):
    user = only_row(bare_ctx, User)
    assert user["password_hash"].startswith("$argon2id$") and PASSWORD not in user["password_hash"]
    assert [u.roles for u in list_users(bare_ctx)] == [frozenset({Role.booking_clerk})]
    [(actor, data)] = events(bare_ctx, "user.added")
    assert (actor, data["username"]) == ("admin", "bente")


def test_a_generated_password_is_answered_and_works(bare_ctx):
    _, password = add_user(bare_ctx, NewUser("rasmus", "", ("radiographer", "radiologist")), "a")
    assert len(password) >= 12
    signed = sign_in(bare_ctx, "rasmus", password)
    assert signed and signed.user.roles == {Role.radiographer, Role.radiologist}
    assert signed.user.display_name == "rasmus"


@pytest.mark.parametrize(
    ("cmd", "field"),
    [
        (NewUser("two words", "x", ("admin",), PASSWORD), "username"),
        (NewUser("ok", "x", (), PASSWORD), "roles"),
        (NewUser("ok", "x", ("janitor",), PASSWORD), "roles"),
        (NewUser("ok", "x", ("admin",), "short"), "password"),
        (NewUser("ok", "x", ("admin",), " " * 12), "password"),
        (NewUser("ok", "x", ("admin",), "\t  abc  \n   "), "password"),
        (NewUser("ok", "x", ("admin",), ""), "password"),
    ],
)
def test_bad_accounts_are_refused_naming_the_field(bare_ctx, cmd, field):
    with pytest.raises(InvalidValue) as refused:
        add_user(bare_ctx, cmd, "admin")
    assert refused.value.field == field
    assert list_users(bare_ctx) == []


def test_a_taken_username_is_a_conflict(bare_ctx, clerk):
    with pytest.raises(Conflict) as taken:
        add_user(bare_ctx, NewUser("bente", "Other", ("admin",), PASSWORD), "admin")
    assert taken.value.field == "username"


def test_wrong_password_and_unknown_user_look_the_same(bare_ctx, clerk):
    assert sign_in(bare_ctx, "bente", "wrong-password-1") is None
    assert sign_in(bare_ctx, "nobody", PASSWORD) is None
    failed = events(bare_ctx, "user.sign_in_failed")
    assert [(actor, data["known"]) for actor, data in failed] == [
        ("bente", True),
        ("nobody", False),
    ]


def test_lock_out_after_repeated_failures_then_it_lifts(bare_ctx, clerk, clock: Clock):
    web = bare_ctx.settings.web
    for _ in range(web.lockout_threshold):
        assert sign_in(bare_ctx, "bente", "wrong-password-1") is None
    assert sign_in(bare_ctx, "bente", PASSWORD) is None  # locked: the right password too
    assert len(events(bare_ctx, "user.locked")) == 1
    clock.advance(minutes=web.lockout_minutes - 1)
    assert sign_in(bare_ctx, "bente", PASSWORD) is None
    clock.advance(minutes=1, seconds=1)
    assert sign_in(bare_ctx, "bente", PASSWORD) is not None


def test_a_success_resets_the_failure_count(bare_ctx, clerk):
    for _ in range(bare_ctx.settings.web.lockout_threshold - 1):
        sign_in(bare_ctx, "bente", "wrong-password-1")
    assert sign_in(bare_ctx, "bente", PASSWORD) is not None
    sign_in(bare_ctx, "bente", "wrong-password-1")
    assert sign_in(bare_ctx, "bente", PASSWORD) is not None


def test_setting_a_password_lifts_a_lock_out(bare_ctx, clerk):
    for _ in range(bare_ctx.settings.web.lockout_threshold):
        sign_in(bare_ctx, "bente", "wrong-password-1")
    new = set_password(bare_ctx, "bente", None, "admin")
    assert sign_in(bare_ctx, "bente", new) is not None
    assert sign_in(bare_ctx, "bente", PASSWORD) is None
    with pytest.raises(NotFound):
        set_password(bare_ctx, "nobody", None, "admin")


def test_a_session_lives_its_hours_and_is_stored_only_hashed(bare_ctx, clerk, clock: Clock):
    signed = sign_in(bare_ctx, "bente", PASSWORD)
    assert signed is not None
    found = session_user(bare_ctx, signed.token)
    assert found and found.user.username == "bente" and found.csrf == signed.csrf
    row = only_row(bare_ctx, UserSession)
    assert row["token_hash"] != signed.token and signed.token not in row["token_hash"]
    lifetime = timedelta(hours=bare_ctx.settings.web.session_hours)
    assert row["expires_at"] - row["created_at"] == lifetime
    clock.at = row["expires_at"]
    assert session_user(bare_ctx, signed.token) is None


def test_sign_out_ends_the_session(bare_ctx, clerk):
    signed = sign_in(bare_ctx, "bente", PASSWORD)
    assert signed is not None
    end_session(bare_ctx, signed.token)
    end_session(bare_ctx, signed.token)  # twice is harmless
    assert session_user(bare_ctx, signed.token) is None
    assert len(events(bare_ctx, "user.signed_out")) == 1
    assert session_user(bare_ctx, "not-a-session") is None


def test_api_tokens_name_their_user_and_note_last_use(bare_ctx, clerk, clock: Clock):
    token = create_token(bare_ctx, "bente", "booking robot", "admin")
    assert token.startswith("lb_")
    assert token_user(bare_ctx, token).username == "bente"
    assert token_user(bare_ctx, token + "x") is None
    row = only_row(bare_ctx, ApiToken)
    assert row["token_hash"] != token and row["last_used_at"] == clock.at
    assert row["name"] == "booking robot"
    with pytest.raises(NotFound):
        create_token(bare_ctx, "nobody", "x", "admin")
    with pytest.raises(InvalidValue):
        create_token(bare_ctx, "bente", " ", "admin")


def test_a_hash_of_an_older_cost_is_upgraded_at_sign_in(bare_ctx, clerk):
    web = bare_ctx.settings.web.model_copy(update={"password_hash_time_cost": 2})
    stronger = dataclasses.replace(
        bare_ctx, settings=bare_ctx.settings.model_copy(update={"web": web})
    )
    assert ",t=1," in only_row(bare_ctx, User)["password_hash"]
    assert sign_in(stronger, "bente", PASSWORD) is not None
    assert ",t=2," in only_row(bare_ctx, User)["password_hash"]
    assert sign_in(stronger, "bente", PASSWORD) is not None


def test_deactivating_ends_sessions_and_revokes_tokens_for_good(bare_ctx, clerk):
    signed = sign_in(bare_ctx, clerk, PASSWORD)
    token = create_token(bare_ctx, clerk, "ris", "admin")
    assert signed and session_user(bare_ctx, signed.token) and token_user(bare_ctx, token)
    set_active(bare_ctx, clerk, False, "admin")
    assert session_user(bare_ctx, signed.token) is None and token_user(bare_ctx, token) is None
    assert sign_in(bare_ctx, clerk, PASSWORD) is None
    set_active(bare_ctx, clerk, True, "admin")
    assert session_user(bare_ctx, signed.token) is None, "an old session stays ended"
    assert token_user(bare_ctx, token) is None, "reopening an account revives no old token"
    assert sign_in(bare_ctx, clerk, PASSWORD)
    assert [a for a, _ in events(bare_ctx, "user.deactivated")] == ["admin"]
    assert [a for a, _ in events(bare_ctx, "user.activated")] == ["admin"]


def test_nobody_deactivates_their_own_account(bare_ctx, clerk):
    with pytest.raises(Conflict):
        set_active(bare_ctx, clerk, False, clerk)
    with pytest.raises(NotFound):
        set_active(bare_ctx, "nobody", False, "admin")


def test_a_revoked_token_stops_at_once_and_its_row_stays(bare_ctx, clerk):
    keep, drop = (create_token(bare_ctx, clerk, name, "admin") for name in ("ris", "old"))
    by_name = {t.name: t for t in live_tokens(bare_ctx)}
    revoke_token(bare_ctx, by_name["old"].id, "admin")
    assert token_user(bare_ctx, drop) is None and token_user(bare_ctx, keep) is not None
    assert [t.name for t in live_tokens(bare_ctx)] == ["ris"]
    with pytest.raises(NotFound):
        revoke_token(bare_ctx, by_name["old"].id, "admin")
    [(actor, data)] = events(bare_ctx, "token.revoked")
    assert (actor, data["username"], data["name"]) == ("admin", clerk, "old")
    with bare_ctx.uow(readonly=True) as uow:
        assert len(uow.session.scalars(select(ApiToken)).all()) == 2


def test_a_password_reset_ends_sessions_and_revokes_tokens(bare_ctx, clerk):
    """Issue 20: a reset (after a leaked password, say) left the old sessions and tokens alive."""
    signed = sign_in(bare_ctx, clerk, PASSWORD)
    token = create_token(bare_ctx, clerk, "ris", "admin")
    assert signed and session_user(bare_ctx, signed.token) and token_user(bare_ctx, token)
    set_password(bare_ctx, clerk, "et-helt-nyt-kodeord", "admin")
    assert session_user(bare_ctx, signed.token) is None
    assert token_user(bare_ctx, token) is None
    assert live_tokens(bare_ctx) == []
    assert [d["username"] for _, d in events(bare_ctx, "token.revoked")] == [clerk]


def test_api_tokens_expire_after_the_configured_days(bare_ctx, clerk, clock: Clock):
    days = bare_ctx.settings.web.token_days
    token = create_token(bare_ctx, clerk, "ris", "admin")
    clock.advance(days=days, seconds=-1)
    assert token_user(bare_ctx, token) is not None
    clock.advance(seconds=1)
    assert token_user(bare_ctx, token) is None
    assert live_tokens(bare_ctx) == []


def test_a_stranger_cannot_lock_an_account_out_of_its_own_address(bare_ctx, clerk):
    """Issue 20: five wrong passwords from anywhere locked any account, admin included,
    renewable forever. The lock holds for the address the failures came from."""
    for _ in range(bare_ctx.settings.web.lockout_threshold):
        assert sign_in(bare_ctx, "bente", "wrong-password-1", address="198.51.100.7") is None
    assert sign_in(bare_ctx, "bente", PASSWORD, address="198.51.100.7") is None  # locked there
    assert sign_in(bare_ctx, "bente", PASSWORD, address="10.1.2.3") is not None  # not here
    (locked,) = events(bare_ctx, "user.locked")
    assert locked == ("bente", {"until": locked[1]["until"], "address": "198.51.100.7"})


def test_an_address_guessing_many_accounts_is_throttled(bare_ctx, clerk, clock: Clock):
    web = bare_ctx.settings.web
    for i in range(web.lockout_address_threshold):
        sign_in(bare_ctx, f"guess{i}", "wrong-password-1", address="203.0.113.9")
    assert sign_in(bare_ctx, "bente", PASSWORD, address="203.0.113.9") is None
    assert [d["address"] for _, d in events(bare_ctx, "user.address_throttled")] == ["203.0.113.9"]
    assert sign_in(bare_ctx, "bente", PASSWORD, address="10.1.2.3") is not None
    clock.advance(minutes=web.lockout_minutes, seconds=1)
    assert sign_in(bare_ctx, "bente", PASSWORD, address="203.0.113.9") is not None


def test_sign_in_events_carry_the_client_address(bare_ctx, clerk):
    sign_in(bare_ctx, "bente", "wrong-password-1", address="10.1.2.3")
    sign_in(bare_ctx, "bente", PASSWORD, address="10.1.2.4")
    assert [d["address"] for _, d in events(bare_ctx, "user.sign_in_failed")] == ["10.1.2.3"]
    assert [d["address"] for _, d in events(bare_ctx, "user.signed_in")] == ["10.1.2.4"]
