"""What a user may choose not to receive: the topics they can mute, and which notice is which.

Cancellation and "moved" notices always go out: they change what the person has to do. The
reminders a user mutes are named by how far ahead they come: "day" reminders (12 hours or more
before the start: the default 24 h one) and "hour" reminders (less: the default 1 h one).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from booking_notifications.core.domain import NoticeKind

DAY_REMINDER_FROM = 12 * 3600
"""A reminder this many seconds or more before the start is a "day" reminder."""


class Topic(StrEnum):
    """A kind of notice a user can mute."""

    DAY_REMINDERS = "day_reminders"
    HOUR_REMINDERS = "hour_reminders"
    START = "start"
    END = "end"


ALL_TOPICS = frozenset(Topic)


def topic_of(kind: NoticeKind, offset_seconds: int | None) -> Topic | None:
    """The topic a notice belongs to; None for the ones that cannot be muted."""
    if kind is NoticeKind.REMINDER:
        early = (offset_seconds or 0) >= DAY_REMINDER_FROM
        return Topic.DAY_REMINDERS if early else Topic.HOUR_REMINDERS
    if kind is NoticeKind.START:
        return Topic.START
    if kind is NoticeKind.END:
        return Topic.END
    return None


def parse_topics(names: Iterable[str]) -> frozenset[Topic]:
    """The topics stored as ``["day_reminders", "end"]``; unknown names (a newer version's) are
    kept out."""
    known = {t.value for t in Topic}
    return frozenset(Topic(name) for name in names if name in known)


def topic_names(topics: Iterable[Topic]) -> list[str]:
    """How a set of topics is stored: their names, sorted."""
    return sorted(Topic(t).value for t in topics)
