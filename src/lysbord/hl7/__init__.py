"""The HL7 v2 door: MLLP in, the outbox out."""
