"""Pure rules of Danish radiology: CPR numbers, deadlines, workflow, queues and slots.

Standard library only, so the rules can be tested without a database or a network,
and every door (HTTP, HL7, DICOM) applies the same ones. ``now`` and ids are always
passed in; nothing here reads the clock.
"""
