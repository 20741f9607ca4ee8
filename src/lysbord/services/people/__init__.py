"""Patients (registration, identifiers, merges and their undoing) and users (accounts,
passwords, sessions, tokens).

Knows nothing of referrals or images but a study's patient columns, which a merge moves.
"""
