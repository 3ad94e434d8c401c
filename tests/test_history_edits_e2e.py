"""History that follows the booking, end to end on the dev server with the real worker, the
real bot and the fake Bot API: a person gets two reminders, cancels from the second one in
Telegram, and both reminders are edited: struck through, "cancelled" in their language, no
buttons. The cancel tapped is the final cancel (one cancellation notice, nothing after it)."""

from __future__ import annotations

import pytest
from temporalio.testing import WorkflowEnvironment

from booking_notifications.testing.fake_chats import StoredMessage
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.support.bot_world import ANN, CANCEL, YES, connect, world
from tests.support.messages import struck

pytestmark = [pytest.mark.slow, pytest.mark.backends("sqlite")]


def _reminders(fake: FakeTelegram) -> list[StoredMessage]:
    return [m for m in fake.messages_to(ANN.id) if m.versions[0].text.startswith("⏰")]


async def test_a_cancel_tapped_after_two_reminders_strikes_both_through(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, telegram: FakeTelegram
) -> None:
    fake = telegram
    async with world(dev_env, db_url, task_queue, fake) as w:
        await connect(w, ANN, "ann")
        await w.book("ann", 12, "--reminders", "10s,6s")
        await fake.wait_until(lambda: len(_reminders(fake)) == 2, 30)
        second = _reminders(fake)[1]
        await w.tap(second, CANCEL)
        await w.tap(fake.message(ANN.id, second.message_id), YES)
        notice = await w.message_with(ANN.id, "❌ Court 3")

        def both_edited() -> bool:
            return all(m.text.endswith("❌ Cancelled.") for m in _reminders(fake))

        await fake.wait_until(both_edited, 30)

    assert len(_reminders(fake)) == 2
    for message in _reminders(fake):
        assert message.buttons() == []
        assert struck(message) and message.text.startswith(message.versions[0].text)
    after = [m for m in fake.messages_to(ANN.id) if m.message_id > notice.message_id]
    assert after == []  # nothing sent after the cancellation notice
    assert fake.unanswered_callbacks() == []
