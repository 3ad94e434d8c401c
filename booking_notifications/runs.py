"""A booking's workflow run in Temporal: start it, signal it, and make sure it is this booking's.

A workflow id is ``<prefix><booking id>``. Ids come from the database, so a second database on
the same Temporal namespace (recreated, restored from an older backup, another environment) hands
out ids whose workflows may still exist. Every run therefore carries its booking's random ``uid``
in its memo, and any existing run under a booking's id is checked against it: reusing a run is
right only when it is the same booking, anything else is ``WorkflowIdTaken``.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta

from temporalio.api.common.v1 import WorkflowExecution
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

from booking_notifications.db.bookings import workflow_input
from booking_notifications.db.models import Booking
from booking_notifications.workflows.booking import BookingWorkflow
from booking_notifications.workflows.search import BOOKING_ID, BOOKING_STARTS_AT
from booking_notifications.workflows.types import BookingReport

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


class BookingRuns:
    """Starts, signals and identifies the workflow runs of bookings on one task queue."""

    def __init__(
        self, client: Client, task_queue: str, id_prefix: str, retry_for: timedelta
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._id_prefix = id_prefix
        self._retry_for = retry_for

    def workflow_id(self, booking_id: int) -> str:
        """The id of the booking's workflow: ``booking-<id>`` by default."""
        return f"{self._id_prefix}{booking_id}"

    def handle(self, booking_id: int) -> WorkflowHandle[BookingWorkflow, BookingReport]:
        return self._client.get_workflow_handle_for(
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
        try:
            await self._client.start_workflow(
                BookingWorkflow.run,
                workflow_input(booking, self._retry_for),
                id=workflow_id,
                task_queue=self._task_queue,
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
                    ]
                ),
            )
        except WorkflowAlreadyStartedError:
            await self.state(booking)  # WorkflowIdTaken unless the run is this booking's
            if cancel:
                raise  # closed: too late to cancel

    async def state(self, booking: Booking, *, within: timedelta | None = None) -> RunState:
        """Whether the booking's workflow never started, runs or has closed.

        Reads the raw description: decoding every search attribute (as ``handle.describe()``
        does) fails on the time-skipping test server once one has been unset. It asks once,
        without the SDK's retries (for at most ``within``): a caller retries, or has an answer of
        its own to fall back on while Temporal is unreachable.
        """
        try:
            description = await self._client.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(
                    namespace=self._client.namespace,
                    execution=WorkflowExecution(workflow_id=self.workflow_id(booking.id)),
                ),
                timeout=within,
            )
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                return RunState.NONE
            raise
        info = description.workflow_execution_info
        uid = info.memo.fields.get(UID_MEMO)
        # Runs started before uids existed carry none: they are taken to be the booking's own.
        if (
            uid is not None
            and self._client.data_converter.payload_converter.from_payload(uid, str) != booking.uid
        ):
            raise WorkflowIdTaken(
                f"workflow id {self.workflow_id(booking.id)} already belongs to another booking "
                "(another database on the same Temporal namespace?): set a WORKFLOW_ID_PREFIX of "
                "its own for each deployment; nothing was scheduled"
            )
        if info.status == WorkflowExecutionStatus.RUNNING.value:
            return RunState.RUNNING
        return RunState.CLOSED
