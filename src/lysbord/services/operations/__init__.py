"""Running the region: its sites, rooms, opening hours, catalogue and slots; the
invariant check over the whole database; the status a manager sees.

May read every other context; no other context imports it.
"""
