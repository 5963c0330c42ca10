"""The fast lane of a streamed answer (``shared/STREAMING.md`` "Two lanes"): deltas published by the
attempt activity as they arrive, read by the gateway or a Temporal-client caller.

- ``events.py``: what travels (text at an offset of the glued answer, complete tool calls).
- ``hub.py``: the in-process hub and its per-stream state (bounded: the answer so far, never a
  queue of deltas, so a slow reader costs no memory).
- ``publisher.py``: the attempt's side: local hub when the reader is in this process, the shared
  channel otherwise.
- ``sql_channel.py`` / ``redis_channel.py``: the shared channels (database: the embedded default;
  Redis Streams: several replicas), and ``remote.py``: the reader's poller that feeds the hub from one.

Best effort, never the source of truth: a reader that loses the fast lane finishes from the
durable answer (the workflow result).
"""
