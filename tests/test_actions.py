"""The data behind a button: at most 64 bytes, signed for one chat, and anything else refused."""

from __future__ import annotations

import importlib
import sys
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking_notifications import bot
from booking_notifications.core.topics import Topic
from booking_notifications.texts import actions

SIGNER = actions.Signer("123456:TEST-TOKEN")
chats = st.integers(-(2**52) + 1, 2**52 - 1).filter(bool)
booking_ids = st.integers(1, 2**63 - 1)
starts = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(3000, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(actions.BookingAction), booking_ids, starts, chats)
def test_a_booking_button_fits_telegram_and_reads_back_only_in_its_chat(
    action: actions.BookingAction, booking_id: int, starts_at: datetime, chat_id: int
) -> None:
    data = SIGNER.booking(action, booking_id, starts_at, chat_id)

    assert len(data.encode()) <= actions.DATA_MAX
    assert SIGNER.read(data, chat_id) == actions.BookingTap(
        action, booking_id, actions.stamp_of(starts_at)
    )
    assert SIGNER.read(data, chat_id + 1) is None  # replayed from another chat
    assert actions.Signer("another-secret").read(data, chat_id) is None  # another bot's key


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(actions.BookingAction), booking_ids, starts, chats, st.data())
def test_any_change_to_the_data_is_refused(
    action: actions.BookingAction,
    booking_id: int,
    starts_at: datetime,
    chat_id: int,
    data: st.DataObject,
) -> None:
    signed = SIGNER.booking(action, booking_id, starts_at, chat_id)
    index = data.draw(st.integers(0, len(signed) - 1))
    replacement = data.draw(st.characters(codec="ascii").filter(lambda c: c != signed[index]))
    altered = signed[:index] + replacement + signed[index + 1 :]

    assert SIGNER.read(altered, chat_id) is None


@given(st.sampled_from(Topic), chats)
def test_a_settings_button_reads_back_its_topic(topic: Topic, chat_id: int) -> None:
    data = SIGNER.settings(actions.SettingsAction.TOGGLE, topic.value, chat_id)

    assert SIGNER.read(data, chat_id) == actions.SettingsTap(
        actions.SettingsAction.TOGGLE, topic.value
    )


@given(st.text(max_size=80))
def test_data_that_is_not_ours_reads_as_nothing(data: str) -> None:
    assert SIGNER.read(data, 42) is None


def test_the_old_actions_path_warns_once_and_still_gives_every_name() -> None:
    sys.modules.pop("booking_notifications.actions", None)
    with pytest.warns(
        DeprecationWarning, match=r"import signer_for from booking_notifications\.bot"
    ):
        old = importlib.import_module("booking_notifications.actions")
    assert old.signer_for is bot.signer_for
    assert (old.Signer, old.BookingAction, old.DATA_MAX) == (
        actions.Signer,
        actions.BookingAction,
        actions.DATA_MAX,
    )
