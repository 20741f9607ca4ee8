"""The DICOM door: pynetdicom server, handlers, matching, worklist, MPPS."""
