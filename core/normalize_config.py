"""A route's output normalisation settings (``normalize:``), applied by ``core/normalize.py``.

Shape::

    normalize:
      strip_preamble: true        # "Sure! Here is the summary:" before the answer
      strip_signoff: true         # "Let me know if you have any other questions!" after it
      max_chars: 1200             # cut at the last sentence end within the limit (prose only)
      unwrap_json_fence: true     # ```json ... ``` (or JSON inside prose) -> the JSON itself
      markdown: keep | plain | standard
      json_schema: {...}          # validate JSON answers; default: the request's response_format schema
      repair: true                # one bounded repair call when the JSON is invalid (per request)

Every field is off by default; a route without ``normalize:`` sends answers as the target wrote them.
"""

from __future__ import annotations

from typing import Any, Literal

import jsonschema_rs
from pydantic import BaseModel, ConfigDict, Field, field_validator

MarkdownMode = Literal["keep", "plain", "standard"]


class NormalizeConfig(BaseModel):
    """See module docstring. ``max_chars`` in characters; ``json_schema`` a JSON Schema (checked
    at config load: an invalid schema is a config error naming ``routes.X.normalize.json_schema``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strip_preamble: bool = False
    strip_signoff: bool = False
    max_chars: int | None = Field(default=None, ge=16, le=1_000_000)
    unwrap_json_fence: bool = False
    markdown: MarkdownMode = "keep"
    json_schema: dict[str, Any] | None = None
    repair: bool = False

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None:
            try:
                jsonschema_rs.validator_for(v)
            except (jsonschema_rs.ValidationError, ValueError) as e:
                raise ValueError(f"not a valid JSON Schema: {str(e).splitlines()[0]}") from None
        return v
