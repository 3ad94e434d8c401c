"""Every Russian text as a native speaker would write it: one pinned rendering per text.

Titles come from booking code and have any gender or number ("Корт 3", "Стрижка", "Занятия"), so
no Russian text makes a title the subject of a participle: each names the booking as "бронь «…»"
and agrees with that noun ("Бронь «Корт 3» отменена", never "Корт 3 … отменено").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking_notifications.core.domain import NoticeKind
from booking_notifications.core.topics import Topic
from booking_notifications.texts import bot as texts
from booking_notifications.texts import keyboards
from booking_notifications.texts.messages import (
    CANCELLED_IN_TELEGRAM,
    MessageContext,
    booking_name,
    render,
)

START = datetime(2026, 12, 2, 15, tzinfo=UTC)  # a Wednesday: 18:00 in Moscow
MOSCOW = "Europe/Moscow"


def notice(kind: NoticeKind, title: str | None = "Корт 3", reason: str | None = None) -> str:
    ctx = MessageContext(7, title, START, START + timedelta(hours=1), MOSCOW, "ru", reason)
    return render(kind, ctx, now=START - timedelta(hours=1))


def ru(text: str) -> str:
    return keyboards.translator("ru")(text)


NOTICES = {
    NoticeKind.REMINDER: (
        "⏰ Напоминание: бронь «<b>Корт 3</b>» начнётся через 1 час — "
        "ср 2 дек., 18:00–19:00 (Europe/Moscow)."
    ),
    NoticeKind.START: (
        "▶️ Бронь «<b>Корт 3</b>» начинается сейчас: ср 2 дек., 18:00–19:00 (Europe/Moscow)."
    ),
    NoticeKind.END: "✅ Бронь «<b>Корт 3</b>» завершена (ср 2 дек., 18:00–19:00, Europe/Moscow).",
    NoticeKind.MOVED: (
        "📅 Бронь «<b>Корт 3</b>» перенесена на ср 2 дек., 18:00–19:00 (Europe/Moscow)."
    ),
    NoticeKind.CANCEL: (
        "❌ Бронь «<b>Корт 3</b>» на ср 2 дек., 18:00–19:00 (Europe/Moscow) отменена."
    ),
}


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_each_russian_notice_names_the_booking_and_agrees_with_it(kind: NoticeKind) -> None:
    assert notice(kind) == NOTICES[kind]


def test_a_booking_without_a_title_is_bron_with_its_number() -> None:
    assert notice(NoticeKind.CANCEL, title=None).startswith("❌ Бронь <b>№7</b> на ср 2 дек.")
    assert booking_name("  ", 7, "ru") == "<b>№7</b>"


def test_a_cancel_reason_of_booking_code_is_shown_as_given() -> None:
    text = notice(NoticeKind.CANCEL, reason="корт закрыт")

    assert text.endswith("отменена.\nПричина: корт закрыт")


def test_a_cancel_tapped_in_telegram_gives_its_reason_in_russian() -> None:
    text = notice(NoticeKind.CANCEL, reason=CANCELLED_IN_TELEGRAM)

    assert text.endswith("\nПричина: отмена в Telegram")


def test_a_russian_reminder_90_seconds_ahead_says_one_minute_as_readme_says() -> None:
    ctx = MessageContext(7, "Корт 3", START, START + timedelta(hours=1), MOSCOW, "ru")
    english = MessageContext(7, "Court 3", START, START + timedelta(hours=1), MOSCOW, "en")
    ahead = START - timedelta(seconds=90)

    assert "начнётся через 1 минуту — " in render(NoticeKind.REMINDER, ctx, now=ahead)
    assert "starts in 1 minute: " in render(NoticeKind.REMINDER, english, now=ahead)


BOT_TEXTS = {
    texts.CONNECTED: "✅ Готово: напоминания о бронированиях будут приходить сюда.",
    texts.LINK_UNKNOWN: (
        "Эта ссылка нам неизвестна. Откройте ссылку, которую дал сервис бронирования, "
        "или попросите новую."
    ),
    texts.LINK_USED: "Эта ссылка уже использована. Попросите новую в сервисе бронирования.",
    texts.LINK_EXPIRED: "Срок действия ссылки истёк. Попросите новую в сервисе бронирования.",
    texts.HOW_TO_CONNECT: (
        "Здравствуйте! Чтобы получать здесь напоминания о бронированиях, откройте ссылку "
        "«Подключить Telegram» из сервиса бронирования."
    ),
    texts.ALREADY_CONNECTED: (
        "Вы подключены: напоминания о бронированиях приходят сюда. /settings — выбрать, что "
        "присылать, /stop — приостановить напоминания."
    ),
    texts.PAUSED: "Напоминания приостановлены: приходят только отмены и переносы. Возобновить?",
    texts.STOPPED: (
        "Напоминания приостановлены: теперь будут приходить только отмены и переносы. "
        "/start — снова получать все уведомления."
    ),
    texts.SETTINGS: (
        "Что вам присылать? Нажмите на пункт, чтобы включить или выключить его. "
        "Об отменах и переносах сообщаем всегда."
    ),
    texts.RESUMED: "Готово: снова присылаем все уведомления о бронированиях.",
    texts.CONFIRMED_LINE: "✅ Вы подтвердили, что придёте.",
    texts.CONFIRMED: "Спасибо, до встречи!",
    texts.ALREADY_CONFIRMED: "Уже подтверждено.",
    texts.CANCELLED_LINE: "❌ Вы отменили эту бронь.",
    texts.CANCELLED: "Бронь отменена.",
    texts.ALREADY_CANCELLED: "Эта бронь уже отменена.",
    texts.KEPT_ANSWER: "Бронь сохранена.",
    texts.NOT_VALID: "Эта кнопка недействительна.",
    texts.NOT_YOURS: "Это не ваша бронь.",
    texts.OVER: "Эта бронь уже прошла.",
    texts.MOVED: "Бронь уже перенесена: смотрите более позднее сообщение.",
    texts.GONE: "Этой брони больше нет.",
    texts.BOOKINGS: "Ваши предстоящие брони:",
    texts.NO_BOOKINGS: "У вас нет предстоящих броней.",
    texts.BOOKINGS_NOT_YOURS: "Список броней может посмотреть только их владелец.",
    keyboards.CONFIRM: "✅ Я приду",
    keyboards.ASK_CANCEL: "❌ Отменить бронь",
    keyboards.YES_CANCEL: "Да, отменить",
    keyboards.KEEP: "Оставить",
    keyboards.RESUME: "🔔 Снова присылать уведомления",
    keyboards.OPEN_BOOKING: "Открыть бронь",
}


@pytest.mark.parametrize("source", list(BOT_TEXTS))
def test_each_russian_bot_text_reads_as_pinned(source: str) -> None:
    assert ru(source) == BOT_TEXTS[source]


NAMING = {
    texts.ASK_CANCEL: "Отменить бронь «<b>Корт 3</b>» на ср 2 дек., 18:00–19:00?",
    texts.KEPT: "👍 Бронь «<b>Корт 3</b>» на ср 2 дек., 18:00–19:00 остаётся в силе.",
    texts.BOOKING_CONFIRMED: (
        "2. Бронь «<b>Корт 3</b>»: ср 2 дек., 18:00–19:00 (Europe/Moscow), ✅ подтверждена"
    ),
    texts.BOOKING_UNCONFIRMED: (
        "2. Бронь «<b>Корт 3</b>»: ср 2 дек., 18:00–19:00 (Europe/Moscow), ещё не подтверждена"
    ),
    texts.MORE_BOOKINGS: "Показаны только ближайшие 10.",
}


@pytest.mark.parametrize("source", list(NAMING))
def test_the_bot_names_a_booking_as_the_notices_do(source: str) -> None:
    about = {"title": booking_name("Корт 3", 7, "ru"), "span": "ср 2 дек., 18:00–19:00"}
    about |= {"number": "2", "zone": MOSCOW, "count": "10"}

    assert ru(source) % about == NAMING[source]


TOPICS = {
    Topic.DAY_REMINDERS: "Напоминания за день",
    Topic.HOUR_REMINDERS: "Напоминания за час",
    Topic.START: "Уведомления о начале",
    Topic.END: "Уведомления об окончании",
}


@pytest.mark.parametrize("topic", list(Topic))
def test_every_topic_is_a_plural_noun_and_its_switch_agrees_with_it(topic: Topic) -> None:
    label = ru(keyboards.TOPIC_LABELS[topic])

    assert label == TOPICS[topic]
    assert ru(texts.TOPIC_ON) % {"topic": label} == f"{label}: включены"
    assert ru(texts.TOPIC_OFF) % {"topic": label} == f"{label}: выключены"


def test_every_russian_text_is_pinned_here() -> None:
    pinned = {*BOT_TEXTS, *NAMING, texts.TOPIC_ON, texts.TOPIC_OFF}
    pinned |= set(keyboards.TOPIC_LABELS.values())
    bot_texts = {v for k, v in vars(texts).items() if k.isupper() and isinstance(v, str)}
    assert bot_texts <= pinned
