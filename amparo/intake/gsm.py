"""GSM 03.38 text (encoding, SMS parts, folding): moved to amparo.lib.gsm so that the cases app can count
SMS parts too (cases never imports intake). Re-exported here unchanged for intake's callers."""

from amparo.lib.gsm import (
    _PUNCTUATION,
    GSM7_BASIC,
    GSM7_EXTENSION,
    GSM7_MULTI,
    GSM7_SINGLE,
    UCS2_MULTI,
    UCS2_SINGLE,
    USSD_SCREEN_MAX,
    Segmentation,
    fit,
    fold,
    fold_ussd,
    is_gsm7,
    segment,
    truncate_chars,
)

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "GSM7_MULTI",
    "GSM7_SINGLE",
    "UCS2_MULTI",
    "UCS2_SINGLE",
    "USSD_SCREEN_MAX",
    "_PUNCTUATION",
    "Segmentation",
    "fit",
    "fold",
    "fold_ussd",
    "is_gsm7",
    "segment",
    "truncate_chars",
]
