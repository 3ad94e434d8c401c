"""A booking's workflow run in Temporal: start it, signal it, and make sure it is this booking's.

A workflow id is ``<prefix><booking id>``. Ids come from the database, so a second database on
the same Temporal namespace (recreated, restored from an older backup, another environment) hands
out ids whose workflows may still exist. Every run therefore carries its booking's random ``uid``
in its memo, and any existing run under a booking's id is checked against it: reusing a run is
right only when it is the same booking, anything else is ``WorkflowIdTaken``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from booking_notifications.api.bookings import workflow_input
from booking_notifications.db.models import Booking
from booking_notifications.db.session import Sessions, sessions_location
from booking_notifications.errors import Servers
from booking_notifications.workflows import plan
from booking_notifications.workflows.booking import BookingWorkflow
from booking_notifications.workflows.search import (
    BOOKING_ID,
    BOOKING_STARTS_AT,
    NEXT_NOTIFICATION_AT,
)
from booking_notifications.workflows.types import BookingInput, BookingReport

UID_MEMO = "booking_uid"
ASK_ONCE = timedelta(seconds=3)
"""How long a question whose caller can fall back on SQL may wait for Temporal."""


class WorkflowIdTaken(RuntimeError):
    """The booking's workflow id already names another booking's run; nothing was scheduled."""


class RunState(enum.Enum):
    """Where a booking's workflow stands in Temporal."""

    NONE = "none"
    """Never started (a crash between the commit and the start), or long gone from retention."""
    RUNNING = "running"
    CLOSED = "closed"
    """It ran to its end: the booking is over (or an operator ended it)."""


def static_summary(booking_id: int, starts_at: datetime) -> str:
    """What the Temporal UI shows for a run: ids and times only, never the title."""
    return f"Booking {booking_id} · {starts_at.astimezone(UTC):%d %b %H:%M} UTC"


def next_notification(start: BookingInput) -> list[SearchAttributePair[datetime]]:
    """NextNotificationAt as the run will find it, given with its start: free there, where the
    run's own first upsert of it is an action Temporal Cloud bills (a cancel's run, whose first
    notice is its cancellation, publishes its own)."""
    upcoming = plan.next_pending(plan.plan_notices(start, start.planned_at or datetime.now(UTC)))
    return [SearchAttributePair(NEXT_NOTIFICATION_AT, upcoming.due_at)] if upcoming else []


@dataclass
class BookingRuns:
    """Starts, signals and identifies the workflow runs of bookings on one task queue."""

    client: Client
    task_queue: str
    id_prefix: str
    """Workflow ids are ``<id_prefix><booking id>``."""
    retry_for: timedelta
    """How long past a notice's latest moment a failing send is retried."""

    @property
    def address(self) -> str:
        """The Temporal frontend the runs are on, as messages name it."""
        return self.client.service_client.config.target_host

    def workflow_id(self, booking_id: int) -> str:
        """The id of the booking's workflow: ``booking-<id>`` by default."""
        return f"{self.id_prefix}{booking_id}"

    def handle(self, booking_id: int) -> WorkflowHandle[BookingWorkflow, BookingReport]:
        return self.client.get_workflow_handle_for(
            BookingWorkflow.run, self.workflow_id(booking_id)
        )

    async def start(self, booking: Booking, *, cancel: bool = False) -> None:
        """Start the booking's workflow (``booking.user`` loaded), or reuse the run it has.

        With ``cancel`` the start carries the cancel signal (signal-with-start): a running
        workflow is signalled, and a booking whose workflow never started starts cancelled, so
        it announces the cancellation and nothing else; ``WorkflowAlreadyStartedError`` then
        means the booking's run has closed. ``WorkflowIdTaken``: the id is another booking's
        (a cancel checks ``state`` first, as a signal reaches whatever runs under the id).
        """
        workflow_id = self.workflow_id(booking.id)
        start = workflow_input(booking, self.retry_for)
        try:
            await self.client.start_workflow(
                BookingWorkflow.run,
                start,
                id=workflow_id,
                task_queue=self.task_queue,
                start_signal=BookingWorkflow.cancel.__name__ if cancel else None,
                # Signal-with-start must reach a running run; a plain start must not swallow one
                # that may be another booking's, so it fails and is checked below.
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING
                if cancel
                else WorkflowIDConflictPolicy.FAIL,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                memo={UID_MEMO: booking.uid},
                static_summary=static_summary(booking.id, booking.starts_at),
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(BOOKING_ID, str(booking.id)),
                        SearchAttributePair(BOOKING_STARTS_AT, booking.starts_at),
                        *([] if cancel else next_notification(start)),
                    ]
                ),
            )
        except WorkflowAlreadyStartedError:
            await self.check_owned(booking)
            if cancel:
                raise  # closed: too late to cancel

    async def state(self, booking: Booking, *, within: timedelta | None = None) -> RunState:
        """Whether the booking's workflow never started, runs or has closed; ``WorkflowIdTaken``
        when the run under its id is another booking's.

        It asks once, without the SDK's retries (for at most ``within``): a caller retries, or
        has an answer of its own to fall back on while Temporal is unreachable.
        """
        info = await self._run_of(booking, within)
        if info is None:
            return RunState.NONE
        if info.status == WorkflowExecutionStatus.RUNNING.value:
            return RunState.RUNNING
        return RunState.CLOSED

    async def check_owned(self, booking: Booking) -> None:
        """``WorkflowIdTaken`` unless the run under the booking's id, if any, is this booking's:
        before a signal or a query, which reach whatever runs there."""
        await self._run_of(booking, None)

    async def _run_of(
        self, booking: Booking, within: timedelta | None
    ) -> WorkflowExecutionInfo | None:
        """The run under the booking's id, checked to be this booking's; None when there is none.

        Reads the raw description: decoding every search attribute (as ``handle.describe()``
        does) fails on the time-skipping test server once one has been unset.
        """
        try:
            description = await self.client.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(
                    namespace=self.client.namespace,
                    execution=WorkflowExecution(workflow_id=self.workflow_id(booking.id)),
                ),
                timeout=within,
            )
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                return None
            raise
        info = description.workflow_execution_info
        uid = info.memo.fields.get(UID_MEMO)
        # Runs started before uids existed carry none: they are taken to be the booking's own.
        if (
            uid is not None
            and self.client.data_converter.payload_converter.from_payload(uid, str) != booking.uid
        ):
            raise WorkflowIdTaken(
                f"workflow id {self.workflow_id(booking.id)} already belongs to another booking "
                "(another database on the same Temporal namespace?): set a WORKFLOW_ID_PREFIX of "
                "its own for each deployment; nothing was scheduled"
            )
        return info


class OnRunsAndRows:
    """A part of the API that reaches Temporal through ``_runs`` and the database through
    ``_sessions``; ``servers`` names both for its messages (``errors.in_our_words``)."""

    _runs: BookingRuns
    _sessions: Sessions

    @property
    def servers(self) -> Servers:
        """Where its Temporal and database are, as its messages name them."""
        return Servers(self._runs.address, sessions_location(self._sessions))
