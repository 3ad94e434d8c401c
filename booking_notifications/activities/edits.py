"""The edit of a sent message when its booking is cancelled, moved or over (``workflows.history``).

It runs on the delivery queue, where the pacer gives every edit a send slot like any send: the
messages of one change in one activity (``edit_all``; runs recorded before it asked one activity
per message, ``edit``). It reads the row at edit time (the chat, the message id,
the language) and records the outcome there: ``edited_at``, and ``edit_error`` when Telegram
refused. A refusal (the message is too old to edit, or the user deleted it) is final: recorded,
never retried. A row already edited is left alone, so a retried activity edits nothing twice.
Flood control and outages are retried by the workflow's ``EDIT_RETRY``, a bounded number of times.

What the message becomes: cancelled, its text struck through with "❌ Cancelled." below and no
buttons; moved, its text as it was with "📅 Moved to …" below and no buttons; over, its buttons
removed. The text as it was is rendered again from the row (its kind, its send moment) and the
times the message showed, which the workflow passes: it never stores what was sent.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from booking_notifications.activities.contexts import message_context
from booking_notifications.channels import DeliveryError, Editor, RateLimited, Unavailable
from booking_notifications.channels import Misconfigured as ChannelMisconfigured
from booking_notifications.core.clock import Clock, utcnow
from booking_notifications.db.models import Booking, Notification
from booking_notifications.db.session import Sessions
from booking_notifications.texts.messages import (
    CANCELLED_MARK,
    MOVED_TO,
    catalogue,
    format_span,
    render,
)
from booking_notifications.workflows import activities as declared
from booking_notifications.workflows.edit_types import (
    EditBatch,
    EditOutcome,
    EditReason,
    EditRequest,
)

NOTHING_TO_EDIT = "nothing to edit"
CANNOT_EDIT = "the channel cannot edit messages"
log = logging.getLogger(__name__)


class EditActivities:
    """Edits sent messages through ``editor``, with the notices' rows in ``sessions``."""

    def __init__(
        self, sessions: Sessions, channel: object, clock: Clock = utcnow, buttons: bool = True
    ) -> None:
        """``channel`` edits when it is an ``Editor`` (Telegram, the console); any other edits
        nothing. ``buttons``: whether notices were sent with buttons (a signing key is set);
        without them, a booking that is over has nothing to take away and no call is made."""
        self._sessions, self._clock, self._buttons = sessions, clock, buttons
        self._editor = channel if isinstance(channel, Editor) else None

    @activity.defn(name=declared.EDIT_SENT_MESSAGE)
    async def edit(self, request: EditRequest) -> EditOutcome:
        """Edit the message of one sent notice for what became of its booking, once."""
        if self._editor is None:
            return EditOutcome(False, CANNOT_EDIT)
        async with self._sessions() as session:
            mine = (Notification.booking_id == request.booking_id, Notification.key == request.key)
            row = await session.scalar(select(Notification).where(*mine))
            booking = await session.get(
                Booking, request.booking_id, options=[selectinload(Booking.user)]
            )
        if row is None or booking is None or row.edited_at is not None:
            return EditOutcome(False, NOTHING_TO_EDIT)
        chat_id, message_id = booking.user.chat_id, row.telegram_message_id
        over = request.reason is EditReason.OVER
        if chat_id is None or message_id is None or (over and not self._buttons):
            return EditOutcome(False, NOTHING_TO_EDIT)
        try:
            await self._editor.edit(chat_id, message_id, self._text(row, booking, request))
        except (RateLimited, Unavailable, ChannelMisconfigured) as err:
            delay = timedelta(seconds=err.retry_after) if isinstance(err, RateLimited) else None
            log.info("edit of %s of booking %s retried: %s", row.key, row.booking_id, err)
            raise ApplicationError(
                str(err),
                type=type(err).__name__,
                next_retry_delay=delay,
                category=ApplicationErrorCategory.BENIGN,
            ) from None
        except DeliveryError as err:  # refused as it is (too old, deleted): final, recorded
            log.info("edit of %s of booking %s refused: %s", row.key, row.booking_id, err)
            await self._record(request, str(err))
            return EditOutcome(False, str(err))
        await self._record(request, None)
        return EditOutcome(True)

    @activity.defn(name=declared.EDIT_SENT_MESSAGES)
    async def edit_all(self, batch: EditBatch) -> list[EditOutcome]:
        """Edit the messages of several notices of one booking, in one activity (one action on
        Temporal Cloud). Each is edited once: a retry after flood control finds the ones done
        recorded and goes on with the rest."""
        return [await self.edit(request) for request in batch.requests()]

    async def tidy(
        self, booking_id: int, keys: list[str], shown: tuple[datetime, datetime]
    ) -> None:
        """Take the buttons away from sent messages of a booking that is over, as its end notice
        goes out (``DeliveryRequest.then_edit``): each tried once, and one left as it was (flood
        control, an outage) only logged, since the bot refuses a tap on an ended booking anyway."""
        for key in keys:
            try:
                await self.edit(EditRequest(booking_id, key, EditReason.OVER, *shown))
            except ApplicationError as err:
                log.info("buttons of %s of booking %s left as they were: %s", key, booking_id, err)

    def _text(self, row: Notification, booking: Booking, request: EditRequest) -> str | None:
        """The message's new text; None to keep it (only its buttons go)."""
        if request.reason is EditReason.OVER:
            return None
        user = booking.user
        shown = message_context(
            booking, starts_at=request.shown_starts_at, ends_at=request.shown_ends_at
        )
        lang = shown.language
        sent_at = row.sent_at or row.due_at
        was = render(row.kind, shown, now=max(sent_at, row.due_at), live=True)
        gettext = catalogue(lang).gettext
        if request.reason is EditReason.CANCELLED:
            return f"<s>{was}</s>\n{gettext(CANCELLED_MARK)}"
        span = format_span(
            booking.starts_at, booking.ends_at, user.time_zone, lang, now=self._clock(), live=True
        )
        moved = gettext(MOVED_TO) % {"span": span, "zone": html.escape(user.time_zone)}
        return f"{was}\n{moved}"

    async def _record(self, request: EditRequest, error: str | None) -> None:
        async with self._sessions() as session:
            await session.execute(
                update(Notification)
                .where(Notification.booking_id == request.booking_id)
                .where(Notification.key == request.key)
                .values(edited_at=self._clock(), edit_error=error)
            )
            await session.commit()
