"""A site's contact for its appointments (SIU SCH-16, SCH-17): required, the number kept
in one form (``+45 35451234``) that the HL7 door can split into country and number."""

from __future__ import annotations

import pytest

from lysbord.domain.errors import InvalidValue
from lysbord.services.core.context import Context
from lysbord.services.operations.region import SiteContact, add_site, list_sites


def test_the_contact_is_kept_and_listed(ctx: Context) -> None:
    add_site(ctx, "CCC", "Gamma Hospital", [], SiteContact(" Booking Gamma ", "+45 3545 1234"))
    site = next(s for s in list_sites(ctx) if s.code == "CCC")
    assert site.contact == SiteContact("Booking Gamma", "+45 35451234")


@pytest.mark.parametrize(
    ("contact", "field", "reason"),
    [
        (SiteContact("  ", "+45 35451234"), "contact.name", "needs a contact"),
        (SiteContact("Booking", "35451234"), "contact.phone", "with its country code"),
        (SiteContact("Booking", "+45 ring os"), "contact.phone", "with its country code"),
    ],
)
def test_a_site_without_a_usable_contact_is_refused(
    ctx: Context, contact: SiteContact, field: str, reason: str
) -> None:
    with pytest.raises(InvalidValue) as refused:
        add_site(ctx, "DDD", "Delta Hospital", [], contact)
    assert refused.value.field == field and reason in refused.value.reason
    assert "DDD" not in {s.code for s in list_sites(ctx)}
