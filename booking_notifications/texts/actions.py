"""What a person can do from a message: its buttons, and their signed callback data.

A button's data comes back to the bot when it is tapped; anyone can send a bot any data, so
every button is signed. The signature covers the action, the booking, the booking's start as the
message showed it (a booking moved since then is "stale") and the chat the message was sent to
(data replayed from another chat fails), with a key derived from ``CALLBACK_SECRET`` or, when
none is set, from the bot token. Telegram allows 64 bytes of data; ours take about 40.

    b:<action>:<booking id>:<start, epoch minutes>:<signature>    a booking's buttons
    s:<action>:<topic or ->:<signature>                            the /settings buttons
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from booking_notifications.settings import Settings, derived_key

KEY_CONTEXT = b"booking-notifications/callback-data/v1"
SIGNATURE_BYTES = 12
DATA_MAX = 64


class BookingAction(StrEnum):
    """The buttons of a reminder or start notice, of ``/bookings``, and of the cancel question."""

    CONFIRM = "c"
    CONFIRM_IN_LIST = "l"
    """ "I'll be there" under a ``/bookings`` list: the list is shown again, updated."""
    ASK_CANCEL = "x"
    CANCEL = "y"
    KEEP = "k"


class SettingsAction(StrEnum):
    TOGGLE = "t"
    RESUME = "r"


@dataclass(frozen=True)
class BookingTap:
    action: BookingAction
    booking_id: int
    stamp: int
    """The booking's start, in minutes since the epoch, as the message showed it."""


@dataclass(frozen=True)
class SettingsTap:
    action: SettingsAction
    topic: str


def stamp_of(starts_at: datetime) -> int:
    """A booking's start as buttons carry it: whole minutes since the epoch."""
    return int(starts_at.astimezone(UTC).timestamp()) // 60


class Signer:
    """Signs and checks callback data for one bot; the key never leaves it."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a signing secret is needed")
        self._key = derived_key(secret, KEY_CONTEXT)

    def booking(
        self, action: BookingAction, booking_id: int, starts_at: datetime, chat_id: int
    ) -> str:
        body = f"b:{action.value}:{booking_id}:{stamp_of(starts_at)}"
        return self._signed(body, chat_id)

    def settings(self, action: SettingsAction, topic: str, chat_id: int) -> str:
        return self._signed(f"s:{action.value}:{topic or '-'}", chat_id)

    def read(self, data: str, chat_id: int) -> BookingTap | SettingsTap | None:
        """What a tap in ``chat_id`` asks for; None when the data is not ours, altered, or was
        signed for another chat."""
        body, _, signature = data.rpartition(":")
        expected = self._signature(body, chat_id).encode()
        if not body or not hmac.compare_digest(signature.encode(), expected):
            return None
        parts = body.split(":")
        try:
            if parts[0] == "b" and len(parts) == 4:
                return BookingTap(BookingAction(parts[1]), int(parts[2]), int(parts[3]))
            if parts[0] == "s" and len(parts) == 3:
                return SettingsTap(SettingsAction(parts[1]), "" if parts[2] == "-" else parts[2])
        except ValueError:
            return None
        return None

    def _signed(self, body: str, chat_id: int) -> str:
        data = f"{body}:{self._signature(body, chat_id)}"
        assert len(data.encode()) <= DATA_MAX, data
        return data

    def _signature(self, body: str, chat_id: int) -> str:
        mac = hmac.new(self._key, f"{body}|{chat_id}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:SIGNATURE_BYTES]).decode().rstrip("=")


def signer_for(settings: Settings) -> Signer | None:
    """The key of the buttons' signatures, for the delivery activity and ``booking_router``.

    Args:
        settings: the process's settings; ``CALLBACK_SECRET`` signs when set, else a key derived
            from ``TELEGRAM_BOT_TOKEN``.

    Returns:
        The signer, or None without either secret (no bot: notices carry no buttons).
    """
    secret = settings.callback_secret or settings.telegram_bot_token
    return None if secret is None else Signer(secret.get_secret_value())
