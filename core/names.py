"""Stable names of activities, workflows and task queues.

Explicit names (``@activity.defn(name=...)``) mean renaming a module never breaks a running
workflow, and test doubles can register under the same name (STYLE.md). Workflows refer to
activities only through these strings, so the workflow sandbox never imports activity code.
"""

PLAN_ACTIVITY = "switchyard.plan"
ATTEMPT_ACTIVITY = "switchyard.attempt"

REQUEST_WORKFLOW = "AIRequestWorkflow"

DEFAULT_TASK_QUEUE = "switchyard-requests"
