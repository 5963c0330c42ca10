"""Connect a Temporal client the same way everywhere: envconfig, pydantic converter, tracing.

Connection settings come from Temporal's standard environment configuration
(``temporalio.envconfig``: ``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``,
``TEMPORAL_TLS_CLIENT_CERT_PATH``/``..._KEY_PATH``, ``TEMPORAL_PROFILE`` with
``TEMPORAL_CONFIG_FILE``), so the same code reaches the embedded dev server, a self-hosted
cluster with mTLS, or Temporal Cloud with an API key. Without any of them the embedded dev
server at ``localhost:<SWITCHYARD_DEV_PORT>`` is used.

Workers built from the client inherit its data converter (pydantic, so every input and result is
a typed model) and interceptors (OpenTelemetry ``TracingInterceptor``: one trace per execution).
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig

from worker.settings import Settings


class TemporalUnreachable(RuntimeError):
    """No Temporal server answers at the configured address (the message says which and what to do)."""


async def connect(settings: Settings | None = None, *, target: str | None = None) -> Client:
    """A connected client (see module docstring). ``target`` overrides the address.

    Raises :class:`TemporalUnreachable` when nothing answers there (the SDK's own error is a bare
    ``RuntimeError("Failed client connect: ...")``)."""
    settings = settings or Settings()
    config = ClientConfig.load_client_connect_config()
    config.setdefault("target_host", f"localhost:{settings.dev_port}")
    if target:
        config["target_host"] = target
    try:
        return await Client.connect(**config, data_converter=pydantic_data_converter,
                                    interceptors=[TracingInterceptor()])
    except RuntimeError as e:
        if "Failed client connect" not in str(e):
            raise
        raise TemporalUnreachable(
            f"no Temporal server answers at {config['target_host']}: start the embedded stack with "
            "`switchyard up`, or point TEMPORAL_ADDRESS at your cluster") from e
