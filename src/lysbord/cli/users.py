"""``lysbord user ...``: accounts and API tokens from the command line (actor ``cli``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from lysbord.bootstrap import build_context
from lysbord.config import load_settings
from lysbord.domain.access import Role
from lysbord.domain.calendar import local_dt
from lysbord.domain.errors import LysbordError
from lysbord.services.core.context import Context
from lysbord.services.people.sessions import create_token, live_tokens, revoke_token
from lysbord.services.people.users import NewUser, add_user, set_active, set_password

app = typer.Typer(help="Users, passwords and API tokens.", no_args_is_help=True)
console = Console(highlight=False)
ACTOR = "cli"
T = TypeVar("T")

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory [./var]")]
DbUrl = Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL")]
ConfigFile = Annotated[Path | None, typer.Option("--config", help="TOML settings file")]
Password = Annotated[
    str | None, typer.Option(help="The password (10 or more characters) [generated]")
]
Prompt = Annotated[bool, typer.Option("--prompt", help="Type the password in (hidden)")]


def _with_context(
    config: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    use: Callable[[Context], T],
) -> T:
    """Run one service call; a refusal is printed (naming the field) and exits 1."""
    try:
        ctx = build_context(load_settings(config, data_dir=data_dir, database_url=database_url))
    except LysbordError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    try:
        return use(ctx)
    except LysbordError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    finally:
        ctx.db.dispose()


def _password(password: str | None, prompt: bool) -> str | None:
    if prompt:
        typed: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return typed
    return password


@app.command("add")
def add(
    username: str,
    role: Annotated[list[Role], typer.Option("--role", help="Repeat for several roles")],
    name: Annotated[str, typer.Option("--name", help="Display name [the username]")] = "",
    password: Password = None,
    prompt: Prompt = False,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
    config: ConfigFile = None,
) -> None:
    """Add a user with one or more roles; prints the password when it was generated."""
    chosen = _password(password, prompt)
    cmd = NewUser(username, name, tuple(r.value for r in role), chosen)
    user, secret = _with_context(
        config, data_dir, database_url, lambda ctx: add_user(ctx, cmd, ACTOR)
    )
    console.print(f"Added {user.username} ({', '.join(sorted(user.roles))}).")
    if chosen is None:
        console.print(f"Password: {secret}")


@app.command("password")
def password(
    username: str,
    new: Password = None,
    prompt: Prompt = False,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
    config: ConfigFile = None,
) -> None:
    """Set a new password (and lift a lock-out); prints it when it was generated."""
    chosen = _password(new, prompt)
    secret = _with_context(
        config, data_dir, database_url, lambda ctx: set_password(ctx, username, chosen, ACTOR)
    )
    console.print(f"Password of {username} set.")
    if chosen is None:
        console.print(f"Password: {secret}")


@app.command("token")
def token(
    username: str,
    name: Annotated[str, typer.Option("--name", help="What the token is for")] = "cli",
    data_dir: DataDir = None,
    database_url: DbUrl = None,
    config: ConfigFile = None,
) -> None:
    """Print a new API token for the user (send it as ``Authorization: Bearer <token>``)."""
    secret = _with_context(
        config, data_dir, database_url, lambda ctx: create_token(ctx, username, name, ACTOR)
    )
    console.print(secret)


@app.command("deactivate")
def deactivate(
    username: str, data_dir: DataDir = None, database_url: DbUrl = None, config: ConfigFile = None
) -> None:
    """Close an account: it can no longer sign in, its sessions end, its tokens stop working."""
    _switch(username, False, data_dir, database_url, config)


@app.command("activate")
def activate(
    username: str, data_dir: DataDir = None, database_url: DbUrl = None, config: ConfigFile = None
) -> None:
    """Reopen a closed account (its old sessions stay ended)."""
    _switch(username, True, data_dir, database_url, config)


def _switch(
    username: str,
    active: bool,
    data_dir: Path | None,
    database_url: str | None,
    config: Path | None,
) -> None:
    _with_context(
        config, data_dir, database_url, lambda ctx: set_active(ctx, username, active, ACTOR)
    )
    console.print(f"{username} {'activated' if active else 'deactivated'}.")


@app.command("tokens")
def tokens(data_dir: DataDir = None, database_url: DbUrl = None, config: ConfigFile = None) -> None:
    """The API tokens not revoked: id, user, name, created, last used (Copenhagen time)."""
    for t in _with_context(config, data_dir, database_url, live_tokens):
        used = local_dt(t.last_used_at) if t.last_used_at else "never"
        console.print(f"{t.id}\t{t.username}\t{t.name}\t{local_dt(t.created_at)}\t{used}")


@app.command("revoke")
def revoke(
    token_id: int, data_dir: DataDir = None, database_url: DbUrl = None, config: ConfigFile = None
) -> None:
    """Revoke an API token by its id (see ``lysbord user tokens``)."""
    _with_context(config, data_dir, database_url, lambda ctx: revoke_token(ctx, token_id, ACTOR))
    console.print(f"Token {token_id} revoked.")
