"""The DICOM door's fast paths: everything that reaches into pynetdicom 3.0.4's internals."""
