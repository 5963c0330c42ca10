"""Images in requests (issue 3, item 4): the media type comes from the bytes, not the label; formats
nobody takes are a local 400; formats one protocol refuses fail over; Gemini gets remote images
downloaded and inlined. Bodies are checked against the SDKs' request types."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from google.genai import types
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming

from activities.providers import anthropic, gemini, openai
from activities.providers.base import ProviderError
from activities.providers.gemini import GeminiAdapter
from activities.providers.http import make_http_client
from activities.providers.images import sniff
from core.attempt import AttemptFailure
from core.errors import ErrorClass
from core.plan import Plan, PlanEntry
from core.walk import ChainWalk
from tests.unit.conftest import assert_fits, build_call

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 8
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
GIF = b"GIF89a\x01\x00\x01\x00"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 "
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00"
TIFF = b"II*\x00\x08\x00\x00\x00"


def data_url(data: bytes, label: str) -> str:
    return f"data:{label};base64,{base64.b64encode(data).decode()}"


def ask_image(url: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                                      {"type": "image_url", "image_url": {"url": url}}]}]}


def test_sniffing() -> None:
    assert [sniff(b) for b in (PNG, JPEG, GIF, WEBP, HEIC, TIFF, b"")] == [
        "image/png", "image/jpeg", "image/gif", "image/webp", "image/heic", None, None]


def test_the_media_type_comes_from_the_bytes_not_the_label() -> None:
    request = ask_image(data_url(PNG, "image/jpeg"))
    wire = anthropic.build_request(build_call("anthropic", request))
    assert_fits(wire.body, MessageCreateParamsNonStreaming)
    assert wire.body["messages"][0]["content"][1]["source"]["media_type"] == "image/png"
    assert "anthropic: image labelled 'image/jpeg' is image/png (media type taken from the bytes)" in wire.notes
    wire = gemini.build_request(build_call("gemini", request))
    types.Content.model_validate(wire.body["contents"][0])
    assert wire.body["contents"][0]["parts"][1]["inlineData"]["mimeType"] == "image/png"
    wire = openai.build_request(build_call("openai", request))
    assert_fits(wire.body, CompletionCreateParamsNonStreaming)
    url = wire.body["messages"][0]["content"][1]["image_url"]["url"]
    assert url == data_url(PNG, "image/png") and any("image/png" in n for n in wire.notes)


def test_a_correct_label_gives_no_note() -> None:
    for protocol, build in (("anthropic", anthropic.build_request), ("gemini", gemini.build_request),
                            ("openai", openai.build_request)):
        assert not any("image" in n for n in build(build_call(protocol, ask_image(data_url(JPEG, "image/jpg")))).notes)


@pytest.mark.parametrize("protocol", ["openai", "anthropic", "gemini"])
@pytest.mark.parametrize(("url", "wording"), [
    (data_url(TIFF, "image/png"), "are TIFF"),
    (data_url(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"), "are SVG"),
    ("data:image/png;base64,not base64!!", "not valid base64"),
    ("data:image/svg+xml,%3Csvg%3E", "must be an http(s) URL or a base64 data URL"),
])
def test_formats_nobody_takes_are_a_local_400(protocol: str, url: str, wording: str) -> None:
    build = {"openai": openai.build_request, "anthropic": anthropic.build_request, "gemini": gemini.build_request}
    with pytest.raises(ProviderError) as e:
        build[protocol](build_call(protocol, ask_image(url)))
    assert e.value.error_class is ErrorClass.LOCAL_INVALID and wording in e.value.message


@pytest.mark.parametrize(("protocol", "data", "mime"), [
    ("gemini", GIF, "image/gif"), ("anthropic", HEIC, "image/heic"), ("openai", HEIC, "image/heic")])
def test_a_format_this_protocol_refuses_fails_over(protocol: str, data: bytes, mime: str) -> None:
    build = {"openai": openai.build_request, "anthropic": anthropic.build_request, "gemini": gemini.build_request}
    with pytest.raises(ProviderError) as e:
        build[protocol](build_call(protocol, ask_image(data_url(data, mime))))
    assert e.value.error_class is ErrorClass.UNSUPPORTED_INPUT and mime in e.value.message


def entry(target: str) -> PlanEntry:
    return PlanEntry(target=target, provider="p", protocol="openai", model="m", region="r", timeout_s=5,
                     context_window=8192)


def test_when_no_target_takes_the_input_the_caller_gets_a_400() -> None:
    walk = ChainWalk(Plan(route="r", entries=[entry("a"), entry("b")]))
    for target in ("a", "b"):
        assert walk.fail(walk.next(), AttemptFailure(target=target, error_class="UnsupportedInput",
                                                    message="gemini does not accept image/gif images")) is None
    stop = walk.exhausted(0.0)
    assert (stop.error_class, stop.status) == ("UnsupportedInput", 400) and "image/gif" in stop.message


# --- Gemini: remote images downloaded and inlined -----------------------------------------------------

ANSWER = {"candidates": [{"content": {"role": "model", "parts": [{"text": "A cat."}]}, "finishReason": "STOP"}],
          "usageMetadata": {"promptTokenCount": 300, "candidatesTokenCount": 3, "totalTokenCount": 303}}


def gemini_world(image_status: int = 200, image: bytes = JPEG, seen: list[Any] | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "img.example.com":
            if request.url.path == "/moved":
                return httpx.Response(302, headers={"location": "https://img.example.com/cat"})
            return httpx.Response(image_status, content=image, headers={"content-type": "image/png"})
        if seen is not None:
            seen.append(json.loads(request.content))
        return httpx.Response(200, json=ANSWER)
    return httpx.MockTransport(handler)


async def test_gemini_downloads_remote_images_and_sends_them_inline() -> None:
    seen: list[Any] = []
    request = ask_image("https://img.example.com/moved")
    async with make_http_client(transport=gemini_world(seen=seen)) as client:
        res = await GeminiAdapter().complete(client, build_call("gemini", request))
    part = seen[0]["contents"][0]["parts"][1]
    assert part == {"inlineData": {"mimeType": "image/jpeg", "data": base64.b64encode(JPEG).decode()}}
    assert "gemini: 1 remote image(s) downloaded and sent inline" in res.notes
    assert any("labelled 'image/png' is image/jpeg" in n for n in res.notes) and res.response.text() == "A cat."


@pytest.mark.parametrize(("status", "image", "expected"), [
    (404, JPEG, ErrorClass.LOCAL_INVALID), (503, JPEG, ErrorClass.UNSUPPORTED_INPUT),
    (200, TIFF, ErrorClass.LOCAL_INVALID), (200, GIF, ErrorClass.UNSUPPORTED_INPUT)])
async def test_gemini_image_download_failures_happen_before_any_provider_call(status: int, image: bytes,
                                                                              expected: ErrorClass) -> None:
    seen: list[Any] = []
    async with make_http_client(transport=gemini_world(status, image, seen)) as client:
        with pytest.raises(ProviderError) as e:
            await GeminiAdapter().complete(client, build_call("gemini", ask_image("https://img.example.com/cat")))
    assert e.value.error_class is expected and seen == []
