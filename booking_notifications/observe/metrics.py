"""Our metrics, made through the Temporal runtime's meter so that its Prometheus exporter serves
them beside the SDK's own (one exposition, one scrape).

Every name has the ``booking_notify_`` prefix, durations are in seconds, counters end in
``_total`` (the exporter appends it, see ``sdk_prometheus``). Labels take a handful of values
each (a notice kind, a final status, an error class): never a booking id, a chat id or a title,
which would make one series per booking and put personal data in the monitoring system.

Without ``METRICS_ADDRESS`` the meter is ``MetricMeter.noop``: the same calls, nothing recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from temporalio.common import MetricCounter, MetricMeter

from booking_notifications import channels
from booking_notifications.channels import DeliveryError
from booking_notifications.core.domain import NoticeKind, NoticeStatus

PREFIX = "booking_notify_"
NOTICES = PREFIX + "notices"
LATENESS = PREFIX + "delivery_lateness_seconds"
TELEGRAM_ERRORS = PREFIX + "telegram_errors"
UNREACHABLE = PREFIX + "users_unreachable"
DUE_NOT_SENT = PREFIX + "notices_due_not_sent"
BOT_UPDATES = PREFIX + "bot_updates"
BOT_TAPS_REFUSED = PREFIX + "bot_taps_refused"
BOT_WEBHOOK_REFUSED = PREFIX + "bot_webhook_refused"
WEBHOOK_ATTEMPTS = PREFIX + "webhook_attempts"
EVENTS_OLDEST_PENDING = PREFIX + "events_oldest_pending_seconds"
WEBHOOK_OUTCOMES = ("delivered", "retried", "refused", "expired")
"""What became of an attempt to deliver an event: a 2xx; no answer, a 5xx, 408, 429 or a
redirect (tried again); another 4xx (final); the retry window closed (final)."""

LATENESS_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
"""Seconds from a notice's due time to Telegram accepting it. A healthy send takes well under a
second, a flood-control wait seconds, an outage minutes; past an hour a reminder is stale. The
web defaults (5 ms to 10 s) would put every outage in one bucket."""
BUCKETS: Mapping[str, Sequence[float]] = {LATENESS: LATENESS_BUCKETS}
"""Histogram buckets the exporter must use instead of its defaults, by metric name."""

FINAL = (NoticeStatus.SENT, NoticeStatus.FAILED, NoticeStatus.SKIPPED)
"""The outcomes a delivery decides (CANCELLED rows are written by the workflow, not here)."""
ERROR_CLASSES: Sequence[tuple[type[DeliveryError], str]] = (
    (channels.RateLimited, "rate_limited"),
    (channels.Unreachable, "unreachable"),
    (channels.Rejected, "rejected"),
    (channels.NoAnswer, "network"),
    (channels.Unavailable, "unavailable"),
    (channels.Misconfigured, "misconfigured"),
    (channels.Migrated, "migrated"),
)
"""The ``error`` label of a channel failure: 429, blocked or unknown chat, a refused message, no
answer at all, a 5xx (or an answer that is not the Bot API's), the token or URL refused. Subclasses
come before their base (``NoAnswer`` is an ``Unavailable``)."""


def error_class(err: DeliveryError) -> str:
    """The ``error`` label for ``err``."""
    for kind, label in ERROR_CLASSES:
        if isinstance(err, kind):
            return label
    return "other"


class DeliveryMetrics:
    """What the delivery activity records: outcomes, lateness, Telegram errors, lost chats."""

    def __init__(self, meter: MetricMeter = MetricMeter.noop) -> None:
        self._notices = meter.create_counter(
            NOTICES, "Notices that reached a final state in delivery, by kind and status"
        )
        self._lateness = meter.create_histogram_float(
            LATENESS, "Seconds from a notice's due time to Telegram accepting it"
        )
        self._errors = meter.create_counter(
            TELEGRAM_ERRORS, "Failed sends to Telegram, by class of error"
        )
        self._unreachable = meter.create_counter(
            UNREACHABLE, "Users marked unreachable (they blocked the bot, their chat is gone)"
        )
        # Every series starts at 0, so its first increase is a rate and not a series appearing
        # from nothing (which rate() and increase() read as no change).
        for kind in NoticeKind:
            for status in FINAL:
                self._notice(kind, status).add(0)
        for _, label in ERROR_CLASSES:
            self._errors.with_additional_attributes({"error": label}).add(0)
        self._unreachable.add(0)

    def _notice(self, kind: NoticeKind, status: NoticeStatus) -> MetricCounter:
        return self._notices.with_additional_attributes(
            {"kind": kind.value, "status": status.value}
        )

    def finished(self, kind: NoticeKind, status: NoticeStatus) -> None:
        """A notice became SENT, FAILED or SKIPPED."""
        self._notice(kind, status).add(1)

    def sent(self, kind: NoticeKind, lateness: float) -> None:
        """Telegram accepted a notice ``lateness`` seconds after it was due."""
        self.finished(kind, NoticeStatus.SENT)
        self._lateness.with_additional_attributes({"kind": kind.value}).record(max(lateness, 0.0))

    def failed_send(self, err: DeliveryError) -> None:
        """A send failed (retried or not)."""
        self._errors.with_additional_attributes({"error": error_class(err)}).add(1)

    def user_unreachable(self) -> None:
        self._unreachable.add(1)


class BotMetrics:
    """What the bot records: updates it handled, taps and webhook requests it refused."""

    def __init__(self, meter: MetricMeter = MetricMeter.noop) -> None:
        self._updates = meter.create_counter(BOT_UPDATES, "Telegram updates the bot handled")
        self._taps_refused = meter.create_counter(
            BOT_TAPS_REFUSED, "Button taps refused, changing nothing, by reason"
        )
        self._webhook_refused = meter.create_counter(
            BOT_WEBHOOK_REFUSED, "Webhook requests refused (wrong secret token)"
        )
        self._updates.add(0)
        self._webhook_refused.add(0)

    def update(self) -> None:
        self._updates.add(1)

    def tap_refused(self, reason: str) -> None:
        """``reason``: one of a few fixed words (``not_valid``, ``not_yours``, ``moved``, ...)."""
        self._taps_refused.with_additional_attributes({"reason": reason}).add(1)

    def webhook_refused(self) -> None:
        self._webhook_refused.add(1)


class EventMetrics:
    """What the webhook relay records: its attempts by outcome, and how old the oldest event
    still waiting for the receiver is (0 when none waits): above a few minutes, booking code is
    not hearing what happens."""

    def __init__(self, meter: MetricMeter = MetricMeter.noop) -> None:
        self._attempts = meter.create_counter(
            WEBHOOK_ATTEMPTS, "Attempts to deliver an event to the webhook, by outcome"
        )
        self._oldest = meter.create_gauge_float(
            EVENTS_OLDEST_PENDING, "Seconds since the oldest event not yet delivered happened"
        )
        for outcome in WEBHOOK_OUTCOMES:
            self._attempts.with_additional_attributes({"outcome": outcome}).add(0)
        self._oldest.set(0.0)

    def attempt(self, outcome: str, count: int = 1) -> None:
        """``outcome``: one of ``WEBHOOK_OUTCOMES``."""
        self._attempts.with_additional_attributes({"outcome": outcome}).add(count)

    def oldest_pending(self, seconds: float) -> None:
        self._oldest.set(max(seconds, 0.0))
