"""Messages with other systems: the HL7 inbox (every message kept, applied once), patient
administration from ADT, and the outbox's delivery queue (claim, retry, resend).

What a message says is the HL7 door's; what it causes is the other contexts'.
"""
