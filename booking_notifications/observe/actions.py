"""What a booking's run costs on Temporal Cloud, which bills per action, counted from its history.

The rules are Temporal Cloud's ("Temporal Cloud Actions" in its documentation), as far as a
history shows them: a workflow start, each timer, each activity attempt (a retry is another),
each search-attribute upsert (the ``TemporalChangeVersion`` one that ``workflow.patched`` writes
is exempt, and attributes given at the start are free), each signal and each accepted update,
and the markers of one workflow task as one (a ``workflow.patched`` marker, local activities).
Queries (the UI's views of a run, ``status``) and activity heartbeats are billed too but never
reach the history: a quick send does not heartbeat, so a plan's figure leaves them out.
"""

from __future__ import annotations

from collections import Counter

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

CHANGE_VERSION = "TemporalChangeVersion"

_ONE_EACH = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: "start",
    EventType.EVENT_TYPE_TIMER_STARTED: "timers",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "signals",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "updates",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED: "options",
}


def billable_actions(history: WorkflowHistory) -> Counter[str]:
    """The run's billed actions by kind: ``start``, ``timers``, ``activities``, ``upserts``,
    ``markers``, ``signals``, ``updates``; ``sum(...values())`` is the run's total."""
    counted: Counter[str] = Counter()
    scheduled: set[int] = set()
    marked_tasks: set[int] = set()
    for event in history.events:
        kind = _ONE_EACH.get(event.event_type)
        if kind is not None:
            counted[kind] += 1
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled.add(event.event_id)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attributes = event.activity_task_started_event_attributes
            scheduled.discard(attributes.scheduled_event_id)
            counted["activities"] += max(attributes.attempt, 1)
        elif event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            counted["upserts"] += _billed_upsert(event)
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            marked_tasks.add(
                event.marker_recorded_event_attributes.workflow_task_completed_event_id
            )
    counted["activities"] += len(scheduled)  # scheduled, never started: one attempt asked
    counted["markers"] += len(marked_tasks)
    return +counted


def _billed_upsert(event: HistoryEvent) -> int:
    fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
    return int(any(name != CHANGE_VERSION for name in fields.indexed_fields))
