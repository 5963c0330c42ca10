"""Stable names of activities, workflows and task queues.

Explicit names (``@activity.defn(name=...)``) mean renaming a module never breaks a running
workflow, and test doubles can register under the same name (STYLE.md). Workflows refer to
activities only through these strings, so the workflow sandbox never imports activity code.
"""

PLAN_ACTIVITY = "switchyard.plan"
ATTEMPT_ACTIVITY = "switchyard.attempt"
CACHE_STALE_ACTIVITY = "switchyard.cache.stale"

REQUEST_WORKFLOW = "AIRequestWorkflow"
EMBEDDING_WORKFLOW = "EmbeddingWorkflow"
EMBED_ACTIVITY = "switchyard.embed"

CONVERSATION_WORKFLOW = "ConversationWorkflow"
CONVERSATION_TURN_UPDATE = "turn"
CONVERSATION_CLOSE_UPDATE = "close"
CONVERSATION_VIEW_QUERY = "view"
CONVERSATION_ATTEMPT_ACTIVITY = "switchyard.conversation.attempt"
CONVERSATION_RECORD_ACTIVITY = "switchyard.conversation.record"
CONVERSATION_RESUME_ACTIVITY = "switchyard.conversation.resume"
CONVERSATION_MARK_ACTIVITY = "switchyard.conversation.mark"
CONVERSATION_HEALTH_ACTIVITY = "switchyard.conversation.health"

LEARNING_WORKFLOW = "LearningWorkflow"
LEARNING_RANKINGS_QUERY = "rankings"
LEARNING_GATHER_ACTIVITY = "switchyard.learning.gather"
LEARNING_WRITE_ACTIVITY = "switchyard.learning.write"
LEARNING_SCHEDULE_ID = "switchyard-learning"

DEFAULT_TASK_QUEUE = "switchyard-requests"

DRILL_WORKFLOW = "DrillWorkflow"
DRILL_PREPARE_ACTIVITY = "switchyard.drill.prepare"
DRILL_RECORD_ACTIVITY = "switchyard.drill.record"
DRILL_SCHEDULE_PREFIX = "switchyard-drill"
DRILL_OPEN_WINDOW_ACTIVITY = "switchyard.drill.open_window"
DRILL_MEASURE_ACTIVITY = "switchyard.drill.measure"
