"""The booking workflow's ``workflow.patched`` ids, each with the change it marks and why.

A patch id is recorded in the histories of runs that took the new path, so an id never changes
and is never reused; runs recorded before a patch (tests/histories) replay without it.
"""

PUBLISH_FIRST = "publish-before-mirror"
"""Patch: show NextNotificationAt before the first row write, so the UI is right even while the
database is down. Runs recorded before it (tests/histories/v1-*) replay without it."""
MOVE_BEFORE_RUN = "keep-a-move-made-before-run"
"""Patch: a move that reached the run's first workflow task runs before ``run`` (the SDK applies
signals and updates before the start); ``run`` used to plan the booking again from its input
then, undoing the move: the move notice and the start were delivered with the old times and both
skipped as "booking moved". Asked only when a move came first, so no other run records it."""
SAME_MOVE = "a-move-to-the-same-times-changes-nothing"
"""Patch: a move to the times the booking already has (a caller's retry of a move whose answer
was lost) returns the plan and tells no one; it used to send the user another "moved" notice.
Asked only for such a move, so no other run records it."""
EDITS = "edit-sent-messages"
"""Patch: a cancel, a move and the booking's end edit the messages already sent (``history``).
Asked only when there is a sent message to edit."""

BUILT_IN = frozenset({PUBLISH_FIRST, MOVE_BEFORE_RUN, SAME_MOVE, EDITS})
"""The patches every ``BookingNotifications2`` run takes without asking (so without a marker):
all there were when that type replaced ``BookingNotifications``. A later patch is asked."""
