"""Indicators and index settings: decoding (`settings`) and the check against the forms (`fields`)."""

from cityindex.fields import FieldInfo, FormFields, check_against_forms, form_fields
from cityindex.settings import IndexSettings, Indicator, SettingsError, decode_settings

__all__ = [
    "FieldInfo",
    "FormFields",
    "IndexSettings",
    "Indicator",
    "SettingsError",
    "check_against_forms",
    "decode_settings",
    "form_fields",
]
