"""``lysbord user ...``, the demo's users, and ``lysbord check`` leaving its result for /status."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from lysbord.cli import app
from lysbord.demo.users import DEMO_USERS, create_demo_users, write_demo_users
from lysbord.domain.access import Role
from lysbord.services.core.context import Context
from lysbord.services.operations.status import last_check
from lysbord.services.people.sessions import sign_in, token_user
from tests import web_fixtures  # noqa: F401  (sets the tests' argon2 cost)
from tests.conftest import PG_ADMIN_URL


def cli(database_url: str, tmp_path: Path, *args: str) -> tuple[int, str]:
    where = ["--database-url", database_url, "--data-dir", str(tmp_path / "var")]
    result = CliRunner().invoke(app, [*args, *where])
    return result.exit_code, result.output


def test_user_add_prints_a_generated_password_that_signs_in(bare_ctx, database_url, tmp_path):
    code, out = cli(
        database_url,
        tmp_path,
        "user",
        "add",
        "rikke",
        "--role",
        "radiologist",
        "--role",
        "manager",
        "--name",
        "Rikke R",
    )
    assert code == 0, out
    password = out.split("Password: ")[1].split()[0]
    signed = sign_in(bare_ctx, "rikke", password)
    assert signed and signed.user.roles == {Role.radiologist, Role.manager}
    assert signed.user.display_name == "Rikke R"


def test_user_add_refusals_name_the_field(database_url, tmp_path):
    code, out = cli(database_url, tmp_path, "user", "add", "x", "--role", "janitor")
    assert code == 2 and "janitor" in out
    code, out = cli(database_url, tmp_path, "user", "add", "x y", "--role", "admin")
    assert code == 1 and "username" in out
    code, out = cli(
        database_url, tmp_path, "user", "add", "x", "--role", "admin", "--password", "short"
    )
    assert code == 1 and "password" in out


def test_an_empty_password_is_refused_not_silently_generated(bare_ctx, database_url, tmp_path):
    """``--password ''`` used to add an account whose generated password was never shown."""
    for password in ("", " " * 10):
        code, out = cli(
            database_url, tmp_path, "user", "add", "x", "--role", "admin", "--password", password
        )
        assert code == 1 and "password" in out, out
    code, out = cli(database_url, tmp_path, "user", "add", "x", "--role", "admin")
    assert code == 0 and "Password: " in out  # nothing was added by the refused attempts


def test_user_token_and_password(bare_ctx, database_url, tmp_path):
    cli(
        database_url,
        tmp_path,
        "user",
        "add",
        "robot",
        "--role",
        "booking_clerk",
        "--password",
        "long-enough-1",
    )
    code, out = cli(database_url, tmp_path, "user", "token", "robot", "--name", "HL7 bridge")
    assert code == 0 and token_user(bare_ctx, out.strip()).username == "robot"
    code, out = cli(database_url, tmp_path, "user", "password", "robot")
    assert code == 0 and sign_in(bare_ctx, "robot", out.split("Password: ")[1].split()[0])
    assert cli(database_url, tmp_path, "user", "token", "nobody")[0] == 1


def test_demo_users_one_per_role_saved_for_the_owner_only(bare_ctx: Context, tmp_path):
    made = create_demo_users(bare_ctx)
    assert [role for _, _, role in made] == list(Role) == list(DEMO_USERS)
    saved = tmp_path / "var" / "demo-users.txt"
    write_demo_users(saved, made)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    for username, password, role in made:
        assert f"{username}\t{password}\t{role.value}" in saved.read_text(encoding="utf-8")
        signed = sign_in(bare_ctx, username, password)
        assert signed and signed.user.roles == {role}


def test_check_leaves_its_result_for_the_status_page(bare_ctx, database_url, tmp_path):
    assert last_check(bare_ctx) is None
    code, out = cli(database_url, tmp_path, "check", "--skip-blobs")
    assert code == 0, out
    run = last_check(bare_ctx)
    assert run and run.broken == {} and run.rules > 5 and run.skipped_blobs and run.actor == "cli"


def test_user_deactivate_tokens_revoke_and_activate(bare_ctx, database_url, tmp_path):
    add = ("user", "add", "robot", "--role", "booking_clerk", "--password", "long-enough-1")
    cli(database_url, tmp_path, *add)
    secret = cli(database_url, tmp_path, "user", "token", "robot", "--name", "bridge")[1].strip()
    code, out = cli(database_url, tmp_path, "user", "tokens")
    assert code == 0 and "robot" in out and "bridge" in out and "never" in out
    assert cli(database_url, tmp_path, "user", "deactivate", "robot")[0] == 0
    assert (
        token_user(bare_ctx, secret) is None and sign_in(bare_ctx, "robot", "long-enough-1") is None
    )
    assert cli(database_url, tmp_path, "user", "activate", "robot")[0] == 0
    assert token_user(bare_ctx, secret) is None, "reopening the account revives no old token"
    old_id = out.split()[0]
    assert cli(database_url, tmp_path, "user", "revoke", old_id)[0] == 1  # revoked already
    fresh = cli(database_url, tmp_path, "user", "token", "robot", "--name", "bridge")[1].strip()
    assert token_user(bare_ctx, fresh) is not None
    token_id = cli(database_url, tmp_path, "user", "tokens")[1].split()[0]
    assert cli(database_url, tmp_path, "user", "revoke", token_id)[0] == 0
    assert token_user(bare_ctx, fresh) is None


def test_check_refuses_a_data_directory_with_no_lysbord_database(tmp_path):
    """Issue 23: ``lysbord check`` on a mistyped directory made an empty database there
    and reported it healthy."""
    missing = tmp_path / "no-such-dir"
    result = CliRunner().invoke(app, ["check", "--data-dir", str(missing)])
    assert result.exit_code == 2 and "no Lysbord database" in result.output
    assert not missing.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(app, ["check", "--data-dir", str(empty)])
    assert result.exit_code == 2 and "no Lysbord database" in result.output
    assert list(empty.iterdir()) == []


@pytest.fixture
def pg_url_empty() -> Iterator[str]:
    """A PostgreSQL database that exists but holds no tables."""
    name = f"lysbord_empty_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_check_refuses_a_database_url_with_no_lysbord_schema(pg_url_empty, tmp_path):
    where = ["--database-url", pg_url_empty, "--data-dir", str(tmp_path)]
    result = CliRunner().invoke(app, ["check", *where])
    assert result.exit_code == 2 and "no Lysbord database" in result.output
