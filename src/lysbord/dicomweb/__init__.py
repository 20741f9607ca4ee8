"""DICOMweb (QIDO-RS, WADO-RS, STOW-RS) and the OHIF viewer."""
