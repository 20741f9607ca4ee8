"""One demo user per role, so a newcomer can sign in as each kind of staff member.

The passwords are generated, printed once and written to ``DATA_DIR/demo-users.txt``
(readable only by its owner): a demo convenience, never something to do with real users.
"""

from __future__ import annotations

import os
from pathlib import Path

from lysbord.domain.access import Role
from lysbord.services.core.context import Context
from lysbord.services.people.users import NewUser, add_user

ACTOR = "demo"
DEMO_USERS = {
    Role.booking_clerk: ("sekretaer", "Bente Sekretær"),
    Role.radiographer: ("radiograf", "Rasmus Radiograf"),
    Role.radiologist: ("radiolog", "Rikke Radiolog"),
    Role.screening_coordinator: ("screening", "Sanne Screening"),
    Role.manager: ("leder", "Lars Leder"),
    Role.admin: ("admin", "Anna Administrator"),
}


def create_demo_users(ctx: Context) -> list[tuple[str, str, Role]]:
    """Add the six users; answers (username, password, role) in role order."""
    made = []
    for role, (username, name) in DEMO_USERS.items():
        _, password = add_user(ctx, NewUser(username, name, (role.value,)), ACTOR)
        made.append((username, password, role))
    return made


def write_demo_users(path: Path, users: list[tuple[str, str, Role]]) -> None:
    lines = ["# Lysbord demo users: username, password, role (made by `lysbord demo`)"]
    lines += [f"{username}\t{password}\t{role.value}" for username, password, role in users]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
