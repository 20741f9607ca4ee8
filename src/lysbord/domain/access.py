"""Who may do what: the roles of the region's staff and the one rule that checks them.

Manager and admin may *view* everything; admin may also *do* everything. Every other
role passes only where it is named. Pure: the doors (web pages, REST API) ask here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lysbord.domain.errors import InvalidValue, Msg


class Role(StrEnum):
    booking_clerk = "booking_clerk"
    radiographer = "radiographer"
    radiologist = "radiologist"
    screening_coordinator = "screening_coordinator"
    manager = "manager"
    admin = "admin"


@dataclass(frozen=True, slots=True)
class CurrentUser:
    """The signed-in person (or the owner of an API token); writes carry ``username``."""

    username: str
    display_name: str
    roles: frozenset[Role]

    def may(self, *roles: Role, read: bool = False) -> bool:
        """Admin passes everything, manager every read; anyone else needs a named role.

        No roles named means "any signed-in user".
        """
        if not roles or Role.admin in self.roles or self.roles & set(roles):
            return True
        return read and Role.manager in self.roles


def parse_roles(names: list[str] | tuple[str, ...]) -> frozenset[Role]:
    """Role names as stored or typed -> roles; an unknown name is refused, naming it."""
    known = {role.value for role in Role}
    for name in names:
        if name not in known:
            raise InvalidValue(
                Msg(
                    "unknown role {name!r}: one of {known}",
                    name=name,
                    known=", ".join(sorted(known)),
                ),
                field="roles",
                value=name,
            )
    return frozenset(Role(name) for name in names)
