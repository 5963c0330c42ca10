"""The OpenAI-compatible HTTP gateway: every ``POST /v1/chat/completions`` becomes a durable
``AIRequestWorkflow``, started eagerly on a request worker hosted in the same process.

Modules (one idea each):

- ``app.py``: the Starlette app, its routes and OpenAI-shaped error handling;
- ``state.py``: the shared :class:`~worker.gateway.state.Gateway` and :func:`open_gateway` (worker
  on the same Temporal client, so eager start works);
- ``chat.py``: the chat endpoint's pipeline; ``auth.py``: gateway API keys; ``body.py``: size limit
  and strict validation; ``inputs.py``: headers/metadata -> ``RequestInput``;
  ``model_map.py``: ``model`` -> route; ``headers.py``: trace headers; ``sse.py``: response body and
  its SSE form; ``errors.py``: the error tree and OpenAI's error body;
- ``models.py``, ``health.py``, ``openapi.py``: the other endpoints;
- ``server.py``: uvicorn, embedded or as the ``switchyard gateway`` process; ``keys_cli.py``:
  ``switchyard keys create|list|revoke``.
"""
