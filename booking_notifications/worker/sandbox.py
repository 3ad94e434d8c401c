"""The workflow sandbox of the worker: our own modules imported once, not once per workflow.

Temporal's sandbox re-imports a workflow's module, and every module it imports that is not passed
through, for each workflow instance it creates: that isolates module state between runs. With a
thousand bookings waking at once and instances evicted from the cache, it was a quarter of the
worker's CPU (py-spy of the uncapped burst: ``_create_workflow_instance`` 25 % of samples,
re-executing ``workflows/booking.py`` and its siblings 18 %; BENCHMARKS.md, issue 20 target 4).

Our workflow modules keep no module state that a run changes (constants, frozen sets, functions
and classes; the import contract lets them import only the pure core), so passing
``booking_notifications`` through loses no isolation that they use. What the sandbox would still
catch, a workflow calling the clock or I/O, is checked where it is cheap: the replay tests and
the workers of the stub-activity tests run every workflow under the default, strict sandbox.
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PASSED_THROUGH = ("booking_notifications",)


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox with the default restrictions, our package passed through."""
    restrictions = SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)
    return SandboxedWorkflowRunner(restrictions=restrictions)
