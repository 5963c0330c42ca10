"""The design ``ConversationWorkflow`` did not take, for ``bench/conversation.py`` only: an entity
workflow whose ``turn`` update runs each turn as a child ``AIRequestWorkflow`` carrying the whole
history (a module of its own: the workflow sandbox cannot load workflows defined in ``__main__``)."""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core.chat import ChatMessage, ChatRequest
    from core.names import REQUEST_WORKFLOW
    from core.request import RequestInput, RequestResult


@workflow.defn(name="BenchChildTurnConversation")
class ChildTurnConversation:
    """Holds the messages in workflow state; one child request workflow per turn, one at a time."""

    @workflow.init
    def __init__(self, request_queue: str) -> None:
        self._queue = request_queue
        self._messages: list[ChatMessage] = []
        self._lock = asyncio.Lock()
        self._turns = 0

    @workflow.run
    async def run(self, request_queue: str) -> int:
        await workflow.wait_condition(lambda: False)
        return self._turns

    @workflow.update(name="turn")
    async def turn(self, text: str) -> RequestResult:
        async with self._lock:
            self._turns += 1
            messages = [*self._messages, ChatMessage(role="user", content=text)]
            result = await workflow.execute_child_workflow(
                REQUEST_WORKFLOW, RequestInput(request=ChatRequest(messages=messages, max_tokens=200),
                                               task_type="support_reply"),
                id=f"{workflow.info().workflow_id}-turn-{self._turns}", task_queue=self._queue,
                result_type=RequestResult)
            reply = result.response.text() if result.response else ""
            self._messages = [*messages, ChatMessage(role="assistant", content=reply)]
            return result
