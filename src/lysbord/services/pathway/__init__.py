"""A referral's pathway: intake, triage, HL7 orders, booking, the procedure's steps
(arrival, MPPS, no-show), reports, the scanners' worklist and the tracker.

Reads the archive (studies, priors) and people; never writes their tables.
"""
