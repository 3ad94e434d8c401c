"""The data that crosses the workflow boundary: ids, times and notice states only.

These dataclasses live outside the sandboxed workflow module (a dataclass with a ``datetime``
field declared inside it fails to decode) and carry no personal data: no chat ids, names or
titles ever reach Temporal's history. The delivery activity reads those from SQL at send time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from booking_notifications.core.domain import NoticeKind, NoticeStatus, QuietWindow

NOT_CONNECTED = "user not connected"
"""Why a notice whose user never connected is skipped: written by the workflow when its latest
moment passes, and by the delivery activity when it finds it past that moment."""


@dataclass
class BookingInput:
    """What a booking workflow starts from: ids and times only."""

    booking_id: int
    starts_at: datetime
    ends_at: datetime
    reminders: list[int] = field(default_factory=lambda: [86400, 3600])
    """Seconds before the start at which a reminder is due."""
    start_notice: bool = True
    end_notice: bool = True
    quiet: list[QuietWindow] = field(default_factory=list)
    """The user's quiet hours between now and the start, as UTC intervals."""
    retry_for: int = 300
    """Seconds a failing delivery keeps retrying past the notice's latest moment, then FAILED."""
    planned_at: datetime | None = None
    """When the API planned the notices and wrote their rows: the workflow plans from this same
    moment (so its plan is the rows') and skips its first row write. None in runs started before
    this field existed, and for bookings whose rows the API did not write."""
    plan_version: int = 1
    """The planning rules this booking follows (``plan.PLAN_VERSION`` for new bookings). A booking
    keeps its rules for life, moves included, so a history replays into the plan it recorded;
    1, the default, is what runs started before this field existed planned by."""


@dataclass
class Notice:
    """One planned notice and its state, as the workflow sees it (the rows mirror it)."""

    key: str
    """Unique within the booking: ``reminder_24h``, ``start``, ``end``, ``cancel``."""
    kind: NoticeKind
    due_at: datetime
    latest_at: datetime
    """Past this moment the notice is stale: it is skipped, never sent late."""
    offset_seconds: int | None = None
    status: NoticeStatus = NoticeStatus.PENDING
    reason: str | None = None
    message_id: int | None = None


@dataclass
class MirrorRequest:
    """Notice states for the mirror activity to write into the rows (and new booking times)."""

    booking_id: int
    notices: list[Notice]
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass
class RescheduleRequest:
    """New times for a booking; every pending notice moves with them."""

    starts_at: datetime
    ends_at: datetime
    quiet: list[QuietWindow] = field(default_factory=list)


@dataclass
class DeliveryRequest:
    """Which notice to deliver, and the booking times it was planned for (to spot a stale one)."""

    booking_id: int
    key: str
    kind: NoticeKind
    due_at: datetime
    latest_at: datetime
    starts_at: datetime
    ends_at: datetime
    then_edit: list[str] = field(default_factory=list)
    """Keys of messages already sent whose buttons go once this one is sent: the end notice's,
    as the booking is over. Tried once each, after the send; one left as it was is logged."""


@dataclass
class DeliveryOutcome:
    """What became of one delivery, with the reason or message id.

    SENT, FAILED or SKIPPED when the delivery settled the notice; PENDING when it is held (its
    user has not connected yet): the workflow keeps the notice and waits for the connection.
    """

    status: NoticeStatus
    reason: str | None = None
    message_id: int | None = None


@dataclass
class BookingReport:
    """The live plan of a booking workflow: its query answer and its result."""

    booking_id: int
    starts_at: datetime
    ends_at: datetime
    cancelled: bool
    notices: list[Notice]
