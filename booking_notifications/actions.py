"""Deprecated: signed button data moved to ``booking_notifications.texts.actions``; ``signer_for``
is public as ``booking_notifications.bot.signer_for``. Kept one release for booking services
that imported it from here."""

import warnings

from booking_notifications.texts.actions import (
    DATA_MAX,
    KEY_CONTEXT,
    SIGNATURE_BYTES,
    BookingAction,
    BookingTap,
    SettingsAction,
    SettingsTap,
    Signer,
    signer_for,
    stamp_of,
)

__all__ = [
    "DATA_MAX",
    "KEY_CONTEXT",
    "SIGNATURE_BYTES",
    "BookingAction",
    "BookingTap",
    "SettingsAction",
    "SettingsTap",
    "Signer",
    "signer_for",
    "stamp_of",
]

warnings.warn(
    "booking_notifications.actions is deprecated: import signer_for from booking_notifications.bot",
    DeprecationWarning,
    stacklevel=2,
)
