"""Client authentication: ``Authorization: Bearer <gateway key>`` -> the key's tenant.

The key may also come in ``x-api-key`` (as clients written for Anthropic's API send it) when no
``Authorization`` header is present; ``Authorization`` wins when both are sent.

With ``gateway.auth: required`` (the default) a request without a valid, unrevoked key gets 401
in OpenAI's shape (``invalid_request_error`` / ``invalid_api_key``, as OpenAI answers a wrong
key), and the database being unreachable is a 503 (our outage, retried by the SDK), never a 401.
With ``gateway.auth: off`` no key is checked: the ``Authorization`` header the SDKs always send is
ignored and the tenant comes from the headers (``inputs.py``). Keys are verified through
:class:`activities.storage.api_keys.ApiKeyStore` (hashed, cached per key id).
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request

from activities.storage.api_keys import key_id_of
from core.config import SwitchyardConfig
from worker.gateway.errors import unauthorized, unavailable
from worker.gateway.inputs import Caller
from worker.gateway.state import Gateway

MISSING = ("You didn't provide an API key. Send your Switchyard gateway key as 'Authorization: Bearer sy-...' "
           "(create one with `switchyard keys create TENANT`).")


async def authenticate(request: Request, gw: Gateway, cfg: SwitchyardConfig) -> Caller:
    """The :class:`Caller`; raises :class:`worker.gateway.errors.GatewayError` (401/503)."""
    if cfg.gateway.auth == "off":
        return Caller()
    header = request.headers.get("authorization", "").strip()
    alt = request.headers.get("x-api-key", "").strip()
    if not header and not alt:
        raise unauthorized(MISSING)
    if header:
        scheme, _, key = header.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise unauthorized("Malformed Authorization header; expected 'Authorization: Bearer <key>'.")
    else:
        key = alt
    try:
        tenant = await gw.keys.verify(key)
    except (SQLAlchemyError, OSError) as e:
        raise unavailable(f"The API key store is unreachable ({type(e).__name__}); retry shortly.") from None
    if tenant is None:
        raise unauthorized(f"Incorrect API key provided: {mask(key)}. Create a key with "
                           "`switchyard keys create TENANT`; revoked keys stop working.")
    return Caller(tenant=tenant, key_id=key_id_of(key))


def mask(key: str) -> str:
    """A key shown safely in messages: its first 6 and last 4 characters (``sy-3f2...9c1d``)."""
    return f"{key[:6]}...{key[-4:]}" if len(key) >= 16 else "***"
