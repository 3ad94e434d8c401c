"""The activities of a booking workflow, as methods of one class built with its resources.

``mirror_notices`` writes the workflow's view of the plan into the rows. ``deliver_notice`` sends
one notice: it reads the row, the booking and the user at send time, and refuses to send what has
become stale (already final, booking cancelled or moved, past its latest moment).

Telegram has no idempotency key. Once it accepted a message, the attempt heartbeats the message
id (``heartbeats``), so a retry after the row failed to say SENT records the earlier send instead
of repeating it, and an attempt timed out while it waited for its turn finds the retry's claim
(``claims``) instead of sending too. What is left is a process killed (or stalled past its
heartbeat timeout) between the request leaving and the heartbeat of Telegram's answer: the only
way a notice can be duplicated, and a crash can catch at most the process's sends in that window
(DELIVERY_CONCURRENCY bounds them).

A failure that is expected and retried (flood control, an outage, a refused bot) is one log line
here and a BENIGN ``ApplicationError`` for Temporal, which then logs it at DEBUG instead of a
WARNING with a traceback per attempt; a traceback is for what nobody expected.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from booking_notifications.activities.claims import Claim, Superseded, claimed
from booking_notifications.activities.contexts import message_context
from booking_notifications.activities.edits import EditActivities
from booking_notifications.activities.heartbeats import Progress, heartbeating
from booking_notifications.activities.outcomes import Outcomes
from booking_notifications.activities.reasons import hold_or_skip
from booking_notifications.channels import (
    Channel,
    DeliveryError,
    Keyboard,
    Migrated,
    Misconfigured,
    RateLimited,
    Unavailable,
    Unreachable,
)
from booking_notifications.core.clock import Clock, utcnow
from booking_notifications.core.domain import NoticeKind, NoticeStatus
from booking_notifications.db.bookings import copy_notice, notice_row
from booking_notifications.db.events import EventType, emit, iso
from booking_notifications.db.models import Booking, Notification
from booking_notifications.db.session import Sessions
from booking_notifications.observe.jsonlog import notice_context
from booking_notifications.observe.metrics import DeliveryMetrics
from booking_notifications.texts.actions import Signer
from booking_notifications.texts.keyboards import WITH_BUTTONS, booking_keyboard, with_page
from booking_notifications.texts.messages import render
from booking_notifications.workflows import activities as declared
from booking_notifications.workflows.types import DeliveryOutcome, DeliveryRequest, MirrorRequest

MISCONFIGURED_RETRY = timedelta(minutes=5)
"""How long a notice waits for its next attempt while Telegram refuses the bot (a wrong or revoked
token, a wrong Bot API URL). Nothing but an operator fixes that, so the notice is kept rather than
failed, but retried rarely: a 24 h reminder makes ~13 doomed calls over its hour of tolerance
instead of ~65, and once the token is fixed (and the worker restarted) every notice still
in time goes out within these five minutes. The channel raises the alarm in the log."""
MIGRATIONS_FOLLOWED = 2
"""A group becomes a supergroup once; more hops within one delivery mean something is wrong."""
RETRIED = (RateLimited, Unavailable, Misconfigured, Migrated)
BENIGN = ApplicationErrorCategory.BENIGN

log = logging.getLogger(__name__)


class NoticeActivities:
    """Activities sharing one session factory and one channel, opened once per worker."""

    def __init__(
        self,
        sessions: Sessions,
        channel: Channel,
        clock: Clock = utcnow,
        signer: Signer | None = None,
        metrics: DeliveryMetrics | None = None,
        edits: EditActivities | None = None,
    ) -> None:
        """``signer`` signs the buttons of reminders and start notices; without it, none.
        ``metrics`` counts outcomes and errors; without it, nothing is recorded. ``edits`` takes
        the buttons of a booking's messages away as its end notice goes out."""
        self._sessions = sessions
        self._channel = channel
        self._clock = clock
        self._signer = signer
        self._metrics = metrics or DeliveryMetrics()
        self._outcomes = Outcomes(sessions, clock, self._metrics)
        self._edits = edits

    @activity.defn(name=declared.MIRROR_NOTICES)
    async def mirror(self, request: MirrorRequest) -> None:
        """Create or update the rows of the given notices; a SENT or FAILED row is never undone.

        After a move the booking's new times come along, written in the same transaction, so a
        delivery that reads the booking sees the times its notice was planned for.
        """
        async with self._sessions() as session:
            if request.starts_at is not None and request.ends_at is not None:
                booking = await session.get(Booking, request.booking_id)
                if booking is None:
                    raise ApplicationError(f"no booking {request.booking_id}")
                if (booking.starts_at, booking.ends_at) != (request.starts_at, request.ends_at):
                    emit(
                        session,
                        EventType.BOOKING_MOVED,
                        at=self._clock(),
                        booking_id=booking.id,
                        data={
                            "starts_at": iso(request.starts_at),
                            "ends_at": iso(request.ends_at),
                        },
                    )
                booking.starts_at, booking.ends_at = request.starts_at, request.ends_at
            rows = {
                row.key: row
                for row in await session.scalars(
                    select(Notification).where(Notification.booking_id == request.booking_id)
                )
            }
            for notice in request.notices:
                row = rows.get(notice.key)
                was = None if row is None else row.status
                if row is None:
                    session.add(notice_row(request.booking_id, notice))
                elif row.status not in (NoticeStatus.SENT, NoticeStatus.FAILED):
                    copy_notice(notice, row)
                else:
                    continue
                if notice.status is NoticeStatus.SKIPPED and was is not NoticeStatus.SKIPPED:
                    self._outcomes.event(
                        session,
                        notice.status,
                        request.booking_id,
                        notice.key,
                        notice.kind,
                        notice.reason,
                    )
            await session.commit()

    @activity.defn(name=declared.DELIVER_NOTICE)
    async def deliver(self, request: DeliveryRequest) -> DeliveryOutcome:
        """Send one notice unless it is already final or stale; record what happened."""
        with notice_context(request.booking_id, request.key):
            progress = Progress()
            return await heartbeating(self._deliver(request, progress), progress)

    async def _deliver(self, request: DeliveryRequest, progress: Progress) -> DeliveryOutcome:
        async with self._sessions() as session:
            row = await session.scalar(
                select(Notification)
                .where(Notification.booking_id == request.booking_id)
                .where(Notification.key == request.key)
                .options(
                    joinedload(Notification.booking, innerjoin=True).joinedload(
                        Booking.user, innerjoin=True
                    )
                )
                .with_for_update(of=Notification)
            )
            if row is None:
                raise ApplicationError(f"no row for notice {request.key} of {request.booking_id}")
            if row.status.final:
                return DeliveryOutcome(row.status, row.last_error, row.telegram_message_id)
            if (earlier := progress.sent_before()) is not None:
                await session.commit()  # the row's lock, before the record's UPDATE waits on it
                return await self._sent(request, earlier)
            now = self._clock()
            booking, user = row.booking, row.booking.user
            verdict = hold_or_skip(row, request, now)
            if not verdict.send:
                row.last_error = verdict.reason
                if verdict.status is NoticeStatus.SKIPPED:
                    row.status = verdict.status
                    self._outcomes.event(
                        session, row.status, booking.id, row.key, row.kind, verdict.reason
                    )
                await session.commit()
                if verdict.status is NoticeStatus.SKIPPED:
                    self._metrics.finished(request.kind, verdict.status)
                return DeliveryOutcome(verdict.status, verdict.reason)
            row.status = NoticeStatus.PROCESSING
            row.attempts += 1
            text = render(
                request.kind,
                message_context(booking, cancel_reason=booking.cancel_reason),
                now=max(now, request.due_at),
                live=True,  # times as date_time entities: each reader's own zone, a live countdown
            )
            chat_id = user.chat_id
            assert chat_id is not None  # a user with no chat was held or skipped above
            await session.commit()  # booking and user stay readable (expire_on_commit=False)
            claim = Claim(self._sessions, row.id, row.attempts)

        try:
            with claimed(claim):
                message_id = await self._send(request.kind, booking, user.language, chat_id, text)
        except Superseded as err:
            log.info("%s of booking %s not sent: %s", request.key, request.booking_id, err)
            if err.outcome is not None:
                return err.outcome
            raise ApplicationError(str(err), type="Superseded", category=BENIGN) from None
        except RETRIED as err:
            self._metrics.failed_send(err)
            await self._outcomes.record(request, NoticeStatus.PROCESSING, str(err))
            raise _retry_later(request, err) from None
        except DeliveryError as err:
            self._metrics.failed_send(err)
            unreachable = isinstance(err, Unreachable)
            await self._outcomes.record(
                request, NoticeStatus.FAILED, str(err), unreachable=unreachable
            )
            self._metrics.finished(request.kind, NoticeStatus.FAILED)
            return DeliveryOutcome(NoticeStatus.FAILED, str(err))
        except (
            Exception
        ) as err:  # a bug (a channel breaking its contract): the traceback says where
            reason = f"unexpected {type(err).__name__} while sending"
            await self._outcomes.record(request, NoticeStatus.PROCESSING, reason)
            raise
        progress.sent(message_id)
        return await self._sent(request, message_id)

    async def _sent(self, request: DeliveryRequest, message_id: int) -> DeliveryOutcome:
        """Record a message Telegram accepted (in this attempt or an earlier one)."""
        self._metrics.sent(request.kind, (self._clock() - request.due_at).total_seconds())
        try:
            await self._outcomes.record(request, NoticeStatus.SENT, None, message_id)
        except SQLAlchemyError as err:  # a short failure: a statement's text exceeds the UI's
            log.warning(
                "%s of booking %s sent, not recorded: %s", request.key, request.booking_id, err
            )
            reason = f"sent as message {message_id}, not recorded ({type(err).__name__}): the retry records it"
            raise ApplicationError(reason, type="NotRecorded") from None
        if request.then_edit and self._edits is not None:
            shown = (request.starts_at, request.ends_at)
            await self._edits.tidy(request.booking_id, request.then_edit, shown)
        return DeliveryOutcome(NoticeStatus.SENT, message_id=message_id)

    def _keyboard(
        self, kind: NoticeKind, booking: Booking, chat_id: int, language: str
    ) -> Keyboard:
        """The buttons a notice carries: none without a signing key (the console, no bot); a
        reminder's "Open booking" when the booking has a page."""
        page = booking.url if kind is NoticeKind.REMINDER else None
        if self._signer is None or kind not in WITH_BUTTONS:
            return with_page((), page, language)
        keyboard = booking_keyboard(self._signer, booking.id, booking.starts_at, chat_id, language)
        return with_page(keyboard, page, language)

    async def _send(
        self, kind: NoticeKind, booking: Booking, language: str, chat_id: int, text: str
    ) -> int:
        """Send, following a group that became a supergroup to its new chat id.

        The buttons' data is signed for the chat; after a migration it is signed again for the
        new one (a tap is checked against the chat its message is in).
        """
        for _ in range(MIGRATIONS_FOLLOWED):
            keyboard = self._keyboard(kind, booking, chat_id, language)
            try:
                return await self._channel.send(chat_id, text, keyboard)
            except Migrated as moved:
                await self._outcomes.follow(booking.id, moved.chat_id)
                chat_id = moved.chat_id
        keyboard = self._keyboard(kind, booking, chat_id, language)
        return await self._channel.send(chat_id, text, keyboard)


def _retry_later(request: DeliveryRequest, err: DeliveryError) -> ApplicationError:
    """One log line, and the error that asks Temporal for another attempt without a traceback."""
    delay, level = None, logging.WARNING
    if isinstance(err, RateLimited):
        delay, level = timedelta(seconds=err.retry_after), logging.INFO
    elif isinstance(err, Misconfigured):  # the channel has raised the alarm once, loudly
        delay, level = MISCONFIGURED_RETRY, logging.INFO
    log.log(
        level,
        "%s of booking %s not sent, retried %s: %s",
        request.key,
        request.booking_id,
        f"in {delay.total_seconds():g} s" if delay else "with backoff",
        err,
    )
    return ApplicationError(
        str(err),
        type=type(err).__name__,
        next_retry_delay=delay,
        category=BENIGN,
    )
