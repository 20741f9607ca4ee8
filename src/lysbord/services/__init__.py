"""Use cases: each public function runs one unit of work and commits it.

One package per context, each owning its tables' changes; a package imports only
those below it (``core`` at the bottom; ``make lint`` checks it):

- ``operations``: the region's set-up (sites, rooms, slots) and its health (check, status).
- ``messaging``: the HL7 inbox, patient administration from ADT, the outbox's delivery queue.
- ``pathway``: a referral's way from intake through booking, examination (MPPS) and report.
- ``archive``: images: storing, the studies, reconciliation with orders, retrieval, priors.
- ``people``: patients and their merges, user accounts and sessions.
- ``core``: the Context, appending events, and the outbox rows events cause.
"""
