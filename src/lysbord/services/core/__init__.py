"""What every use case stands on: the Context (database, settings, clock), appending
events, and the outbox rows those events cause in the same transaction.

Knows no other context; every other package imports it.
"""
