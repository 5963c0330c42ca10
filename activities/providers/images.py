"""Images in requests: the media type read from the bytes, and what each protocol accepts.

Callers send images as OpenAI ``image_url`` parts holding a ``data:`` URL (base64) or an http(s)
URL. The label of a data URL is not trusted: the bytes' signature decides (a PNG sent as
``image/jpeg`` is sent as ``image/png``, with a trace note). Signatures (first bytes):

    PNG   89 50 4E 47 0D 0A 1A 0A            (PNG spec, section 5.2)
    JPEG  FF D8 FF                           (JFIF / Exif SOI marker + next marker)
    GIF   "GIF87a" | "GIF89a"
    WebP  "RIFF" <4-byte size> "WEBP"        (RIFF container)
    HEIC  ISO-BMFF "ftyp" box, brand heic/heix/hevc/hevx/heim/heis
    HEIF  ISO-BMFF "ftyp" box, brand mif1/msf1/heif

Accepted per protocol (providers.md §1.1-1.3, §4.1 "Images"): OpenAI and Anthropic take PNG, JPEG,
GIF and WebP; Gemini takes PNG, JPEG, WebP, HEIC and HEIF. Errors (nothing is sent):

- bytes that are not valid base64, or in none of the formats above (BMP, TIFF, SVG, a PDF sent as
  an image, garbage): ``LocalInvalidRequest`` (400; no target could take them);
- a known format this protocol does not take (a GIF for Gemini, HEIC for OpenAI or Anthropic):
  ``UnsupportedInput``, so the request fails over to a target that takes it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from activities.providers.base import ProviderError
from core.errors import ErrorClass

PNG, JPEG, GIF, WEBP, HEIC, HEIF = "image/png", "image/jpeg", "image/gif", "image/webp", "image/heic", "image/heif"
ACCEPTED: dict[str, frozenset[str]] = {
    "openai": frozenset({PNG, JPEG, GIF, WEBP}),
    "anthropic": frozenset({PNG, JPEG, GIF, WEBP}),
    "gemini": frozenset({PNG, JPEG, WEBP, HEIC, HEIF}),
}
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"}
_HEIF_BRANDS = {b"mif1", b"msf1", b"heif"}
_KNOWN_OTHERS = ((b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"%PDF", "PDF"), (b"<svg", "SVG"),
                 (b"<?xml", "XML/SVG"))


def sniff(data: bytes) -> str | None:
    """The image media type of ``data`` from its signature (table above), or ``None``."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        return HEIC if brand in _HEIC_BRANDS else HEIF if brand in _HEIF_BRANDS else None
    return None


def describe(data: bytes) -> str:
    """A short name for bytes :func:`sniff` does not accept, for error messages."""
    return next((name for sig, name in _KNOWN_OTHERS if data.startswith(sig)), "an unrecognised format")


@dataclass(frozen=True)
class Image:
    """A checked image: ``mime`` from the bytes, ``b64`` the base64 text to send, ``note`` a trace
    note when the caller's label was wrong (``None`` otherwise)."""

    mime: str
    b64: str
    note: str | None = None


def checked_image(label: str, b64: str, protocol: str) -> Image:
    """Decode and check one base64 image for ``protocol``; raises :class:`ProviderError` (see the
    module docstring for the two classes)."""
    b64 = "".join(b64.split())
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ProviderError(ErrorClass.LOCAL_INVALID, "image data URL is not valid base64") from None
    mime = sniff(data)
    if mime is None:
        raise ProviderError(ErrorClass.LOCAL_INVALID, f"unsupported image format: the bytes labelled {label!r} "
                            f"are {describe(data)}, not PNG, JPEG, GIF, WebP, HEIC or HEIF")
    if mime not in ACCEPTED[protocol]:
        raise ProviderError(ErrorClass.UNSUPPORTED_INPUT, f"{protocol} does not accept {mime} images")
    note = None if label.lower() in (mime, "image/jpg" if mime == JPEG else mime) else \
        f"{protocol}: image labelled {label!r} is {mime} (media type taken from the bytes)"
    return Image(mime, b64, note)
