"""What the archive accepts (DOMAIN.md §7): storage SOP classes and transfer syntaxes."""

from __future__ import annotations

from pydicom import uid
from pydicom.uid import (
    JPEG2000,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

STORAGE_SOP_CLASSES: tuple[str, ...] = tuple(
    str(u)
    for u in (
        uid.CTImageStorage,
        uid.EnhancedCTImageStorage,
        uid.MRImageStorage,
        uid.EnhancedMRImageStorage,
        uid.ComputedRadiographyImageStorage,
        uid.DigitalXRayImageStorageForPresentation,
        uid.DigitalXRayImageStorageForProcessing,
        uid.UltrasoundImageStorage,
        uid.UltrasoundMultiFrameImageStorage,
        uid.DigitalMammographyXRayImageStorageForPresentation,
        uid.DigitalMammographyXRayImageStorageForProcessing,
        uid.BreastTomosynthesisImageStorage,
        uid.SecondaryCaptureImageStorage,
        uid.MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
        uid.BasicTextSRStorage,
        uid.EnhancedSRStorage,
        uid.ComprehensiveSRStorage,
        uid.GrayscaleSoftcopyPresentationStateStorage,
        uid.KeyObjectSelectionDocumentStorage,
        uid.EncapsulatedPDFStorage,
    )
)

TRANSFER_SYNTAXES: tuple[str, ...] = tuple(
    str(u)
    for u in (
        ExplicitVRLittleEndian,
        ImplicitVRLittleEndian,
        DeflatedExplicitVRLittleEndian,
        JPEGBaseline8Bit,
        JPEGLosslessSV1,
        JPEGLSLossless,
        JPEGLSNearLossless,
        JPEG2000Lossless,
        JPEG2000,
        RLELossless,
    )
)
