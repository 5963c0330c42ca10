"""Download remote images and send them inline, for protocols that cannot fetch URLs themselves.

Gemini's Developer API does not reliably read http(s) URLs in ``fileData`` (providers.md §1.3 "Media
limits"); the safe path, LiteLLM's, is to download the image and send it as ``inlineData``.
:func:`inline_remote_images` returns the call with every http(s) ``image_url`` replaced by a
``data:`` URL of the downloaded bytes (the translation then reads the media type from the bytes,
``images.py``). OpenAI and Anthropic fetch URLs themselves and do not use this.

Limits: each download has :data:`FETCH_TIMEOUT_S` (bounded by the call's own timeout) and the
images of one request may total :data:`MAX_INLINE_BYTES` (Gemini's ~20 MB request limit, §1.3);
redirects are followed (image hosts use them; the client's own cap of 20 applies). Errors, before
any call to the provider: the URL answers 4xx -> ``LocalInvalidRequest`` (the caller's URL is wrong for every target);
5xx, a network failure, a timeout or too many bytes -> ``UnsupportedInput`` (another target that
fetches URLs itself may still serve the request).
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import httpx

from activities.providers.base import ProviderCall, ProviderError
from core.errors import ErrorClass

FETCH_TIMEOUT_S = 10.0
MAX_INLINE_BYTES = 20 * 1024 * 1024


def remote_image_urls(call: ProviderCall) -> list[str]:
    """The distinct http(s) ``image_url`` URLs of the request, in order."""
    urls: list[str] = []
    for msg in call.request.messages:
        for part in msg.content if isinstance(msg.content, list) else []:
            url = str((part.get("image_url") or {}).get("url", "")) if part.get("type") == "image_url" else ""
            if url.startswith(("http://", "https://")) and url not in urls:
                urls.append(url)
    return urls


async def inline_remote_images(client: httpx.AsyncClient, call: ProviderCall,
                               protocol: str) -> tuple[ProviderCall, list[str]]:
    """``(call with remote images inlined, trace notes)``; the call itself when it has none."""
    urls = remote_image_urls(call)
    if not urls:
        return call, []
    inlined: dict[str, str] = {}
    budget = MAX_INLINE_BYTES
    for url in urls:
        label, data = await _fetch(client, url, min(FETCH_TIMEOUT_S, call.timeout_s), budget)
        budget -= len(data)
        inlined[url] = f"data:{label};base64,{base64.b64encode(data).decode()}"
    messages = [m.model_copy(update={"content": _replaced(m.content, inlined)}) if isinstance(m.content, list) else m
                for m in call.request.messages]
    request = call.request.model_copy(update={"messages": messages})
    note = f"{protocol}: {len(urls)} remote image(s) downloaded and sent inline"
    return dataclasses.replace(call, request=request), [note]


def _replaced(parts: list[dict[str, Any]], inlined: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for part in parts:
        url = (part.get("image_url") or {}).get("url") if part.get("type") == "image_url" else None
        if url in inlined:
            part = {**part, "image_url": {**part["image_url"], "url": inlined[url]}}
        out.append(part)
    return out


async def _fetch(client: httpx.AsyncClient, url: str, timeout_s: float, budget: int) -> tuple[str, bytes]:
    """``(content-type label, bytes)`` of one image (see the module docstring for errors)."""
    where = url if len(url) <= 120 else url[:117] + "..."
    try:
        async with client.stream("GET", url, timeout=timeout_s, follow_redirects=True) as resp:
            if 400 <= resp.status_code < 500:
                raise ProviderError(ErrorClass.LOCAL_INVALID, f"image URL {where} answered HTTP {resp.status_code}")
            if resp.status_code >= 300:
                raise ProviderError(ErrorClass.UNSUPPORTED_INPUT,
                                    f"image URL {where} answered HTTP {resp.status_code}")
            data = bytearray()
            async for chunk in resp.aiter_bytes():
                data += chunk
                if len(data) > budget:
                    raise ProviderError(ErrorClass.UNSUPPORTED_INPUT, f"images over {MAX_INLINE_BYTES} bytes "
                                        "cannot be sent inline")
            label = resp.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
            return label or "application/octet-stream", bytes(data)
    except ProviderError:
        raise
    except httpx.HTTPError as e:
        raise ProviderError(ErrorClass.UNSUPPORTED_INPUT,
                            f"image URL {where} could not be fetched ({type(e).__name__})") from None
