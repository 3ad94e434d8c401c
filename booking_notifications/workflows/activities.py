"""The activities the workflows call: declared by name and types, with how they are called.

Workflows call these declarations, so what they pass and get back is type-checked; the worker
registers the implementations (``booking_notifications.activities``) under the same names, and a
test checks that each implementation has its declaration's signature. Pure: safe in the sandbox.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity
from temporalio.common import RetryPolicy

from booking_notifications.workflows.edit_types import EditBatch, EditOutcome, EditRequest
from booking_notifications.workflows.types import DeliveryOutcome, DeliveryRequest, MirrorRequest

MIRROR_NOTICES = "mirror_notices"
DELIVER_NOTICE = "deliver_notice"
RECONCILE_BOOKINGS = "reconcile_bookings"
RELAY_EVENTS = "relay_events"
EDIT_SENT_MESSAGE = "edit_sent_message"
EDIT_SENT_MESSAGES = "edit_sent_messages"

MIRROR_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
"""Row writes retry until the database is back: a notice's state is never dropped."""
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)
"""Network errors and 5xx retry with backoff; a 429 overrides the delay with its retry_after."""
DELIVERY_ATTEMPT_TIMEOUT = timedelta(seconds=30)
DELIVERY_HEARTBEAT_TIMEOUT = timedelta(seconds=5)
"""A delivery running longer than a second heartbeats; silence this long means its worker died,
and the send is retried then rather than after the whole attempt timeout."""

EDIT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=8,
    non_retryable_error_types=["NotFoundError"],
)
"""An edit retries through flood control and outages, a few times: an old message that stays as
it was is a small loss, a booking's run that never ends is not. A delivery worker that does not
know the edit (an older one during a rolling deploy) fails it with NotFoundError: given up."""
EDIT_GIVE_UP = timedelta(minutes=10)


def events_task_queue(task_queue: str) -> str:
    """The webhook relay has its own queue: a receiver that is down never holds a notice's slot."""
    return f"{task_queue}-events"


def delivery_task_queue(task_queue: str) -> str:
    """Deliveries have their own queue so the server can rate-limit sends across all workers."""
    return f"{task_queue}-delivery"


@activity.defn(name=MIRROR_NOTICES)
async def mirror_notices(request: MirrorRequest) -> None:
    """Write the workflow's view of some notices (and, after a move, the booking's times)."""
    raise NotImplementedError("declared here, run by activities.notices.NoticeActivities")


@activity.defn(name=DELIVER_NOTICE)
async def deliver_notice(request: DeliveryRequest) -> DeliveryOutcome:
    """Send one notice unless it is final or stale by then; say what became of it."""
    raise NotImplementedError("declared here, run by activities.notices.NoticeActivities")


@activity.defn(name=RECONCILE_BOOKINGS)
async def reconcile_bookings() -> list[int]:
    """Start what a crash kept from starting; the ids of the bookings acted on."""
    raise NotImplementedError("declared here, run by activities.reconcile.ReconcileActivities")


@activity.defn(name=RELAY_EVENTS)
async def relay_events(run_for: float) -> None:
    """Send pending events to the webhook for ``run_for`` seconds; prune old ones."""
    raise NotImplementedError("declared here, run by activities.events.EventRelay")


@activity.defn(name=EDIT_SENT_MESSAGE)
async def edit_sent_message(request: EditRequest) -> EditOutcome:
    """Edit the message a notice was sent as, once, for what became of its booking."""
    raise NotImplementedError("declared here, run by activities.edits.EditActivities")


@activity.defn(name=EDIT_SENT_MESSAGES)
async def edit_sent_messages(batch: EditBatch) -> list[EditOutcome]:
    """Edit the messages of several notices of one booking, each once; what each edit did."""
    raise NotImplementedError("declared here, run by activities.edits.EditActivities")
