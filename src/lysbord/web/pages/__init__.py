"""Every page router of the web application; ``web.app.mount_web`` includes them in order."""

from __future__ import annotations

from lysbord.web.pages import acute, admin, auth, home, intake, roster, status, users
from lysbord.web.pages import booking as booking_pages
from lysbord.web.pages import patients as patient_pages
from lysbord.web.pages import reading as reading_pages
from lysbord.web.pages import referrals as referral_pages
from lysbord.web.pages import report_templates as template_pages
from lysbord.web.pages import rooms as room_pages
from lysbord.web.pages import tracker as tracker_pages
from lysbord.web.pages import unmatched as unmatched_pages

PAGES = (
    auth,
    home,
    patient_pages,
    intake,
    referral_pages,
    booking_pages,
    room_pages,
    reading_pages,
    acute,
    unmatched_pages,
    tracker_pages,
    status,
    admin,
    users,
    template_pages,
    roster,
)
