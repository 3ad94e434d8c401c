"""Leaving the time-skipping server as a test found it: none of the test's workflows
running once its workers are gone.

The server skips time only while nothing is outstanding: a workflow task or an activity that is
scheduled holds time still until a worker completes it, and terminating the workflow does not
release it (temporalio/sdk-java, ``TestWorkflowMutableStateImpl``). A booking left asleep gets a
workflow task when its next timer fires, and with no worker left to take it, every later test of
the module waits for a time that never comes ("No completion event found"). So a test terminates
its workflows while its workers still run, once they have finished what they hold.
"""

from __future__ import annotations

import asyncio

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

RUNNING = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
SETTLE_WITHIN = 10.0
"""Seconds to wait for the workers to finish a workflow's outstanding task before terminating it
anyway (an activity retrying with a long backoff)."""


async def _described(client: Client, workflow_id: str) -> DescribeWorkflowExecutionResponse | None:
    """The raw description (the client's ``describe`` cannot decode this server's datetime
    search attributes), or None when there is no such workflow."""
    request = DescribeWorkflowExecutionRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
    )
    try:
        return await client.workflow_service.describe_workflow_execution(request)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return None
        raise


async def terminate_when_settled(client: Client, workflow_id: str) -> None:
    """Terminate the workflow if it still runs, once nothing of it is outstanding (its workers
    must be running)."""
    deadline = asyncio.get_running_loop().time() + SETTLE_WITHIN
    while True:
        description = await _described(client, workflow_id)
        if description is None or description.workflow_execution_info.status != RUNNING:
            return
        busy = description.pending_activities or description.HasField("pending_workflow_task")
        if not busy or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.05)
    try:
        await client.get_workflow_handle(workflow_id).terminate("the test is over")
    except RPCError as err:  # it completed between the description and now: nothing to end
        if err.status is not RPCStatusCode.NOT_FOUND:
            raise
