"""DICOM bytes and datasets without a socket, shared by the DICOM and DICOMweb doors:
the Part 10 file meta header, the indexed header read from raw bytes, the SOP classes
and transfer syntaxes we accept, and the corrections an instance carries on its way out.
"""
