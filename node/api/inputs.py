"""Reading request input: path and query parameters, bodies within their limits.

May import aiohttp, consensus and the standard library. Every failure is a 400 (or 413) with
a specific code, never an exception that would end as a 500.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from aiohttp import web

from consensus.addresses import address_to_lock
from consensus.errors import AddressError
from consensus.hashing import hex_to_hash
from node.api.errors import ApiError, bad_request

_HASH_RE = re.compile(r"[0-9a-fA-F]{64}")
_UINT_RE = re.compile(r"[0-9]{1,10}")
MAX_HEIGHT = 0xFFFF_FFFF


def parse_hash(text: str, what: str = "hash") -> bytes:
    """A 64-hex-digit hash in display order -> internal byte order (400 ``bad_hash``)."""
    if not _HASH_RE.fullmatch(text):
        raise bad_request("bad_hash", f"{what} must be 64 hex digits")
    return hex_to_hash(text)


def parse_height(text: str, what: str = "height") -> int:
    if not _UINT_RE.fullmatch(text) or int(text) > MAX_HEIGHT:
        raise bad_request("bad_height", f"{what} must be a whole number from 0 to {MAX_HEIGHT}")
    return int(text)


def parse_int(text: str, what: str, low: int, high: int) -> int:
    if not _UINT_RE.fullmatch(text) or not low <= int(text) <= high:
        raise bad_request(f"bad_{what}", f"{what} must be a whole number from {low} to {high}")
    return int(text)


def parse_flag(text: str, what: str) -> bool:
    """A yes/no query parameter: ``true``/``1`` or ``false``/``0`` (400 ``bad_<what>``)."""
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise bad_request(f"bad_{what}", f"{what} must be true or false")


def parse_address(text: str, hrp: str) -> bytes:
    """An address of this network -> its lock (400 with the ``AddressError``'s code)."""
    try:
        return address_to_lock(text, hrp)
    except AddressError as exc:
        raise bad_request(exc.code, str(exc)) from None


def parse_hex(text: str, what: str) -> bytes:
    text = text.strip()
    if not text:
        raise bad_request("empty_body", f"{what} is empty")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise bad_request("bad_hex", f"{what} is not an even number of hex digits") from None


# --- cursors --------------------------------------------------------------------------------
def encode_cursor(height: int, position: int) -> str:
    """An opaque, URL-safe position in an address history: (height, position) of the last
    item returned."""
    raw = height.to_bytes(4, "big") + position.to_bytes(4, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(text: str) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:  # binascii.Error, or characters outside ASCII
        raw = b""
    height, position = int.from_bytes(raw[:4], "big"), int.from_bytes(raw[4:], "big")
    if len(raw) != 8 or encode_cursor(height, position) != text:
        raise bad_request("bad_cursor", "cursor is not one this API returned")
    return height, position


# --- bodies ---------------------------------------------------------------------------------
async def read_body(request: web.Request, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes (413 ``body_too_large`` beyond, checked on
    the declared length first and again while reading, for chunked bodies)."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise ApiError(413, "body_too_large", f"body of {declared} bytes is over {limit}")
    content = request.content
    if content.is_eof():  # all of it arrived already (a small body comes with the headers)
        data = content.read_nowait()
        if len(data) > limit:
            raise ApiError(413, "body_too_large", f"body is over {limit} bytes")
        return data
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            raise ApiError(413, "body_too_large", f"body is over {limit} bytes")
    return bytes(body)


async def read_json_object(request: web.Request, limit: int) -> dict[str, Any]:
    body = await read_body(request, limit)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("bad_json", "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise bad_request("bad_json", "body must be a JSON object")
    return data


_REQUIRED: Any = object()


def json_field(data: dict[str, Any], name: str, kind: type, default: Any = _REQUIRED) -> Any:
    """The body's field ``name`` of type ``kind``; absent or null: ``default`` if given, else
    400 ``missing_field``. 400 ``bad_field`` for another type (a bool is no int)."""
    value = data.get(name)
    if value is None:
        if default is not _REQUIRED:
            return default
        raise bad_request("missing_field", f"body needs the field {name!r}")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise bad_request("bad_field", f"field {name!r} must be a {kind.__name__}")
    return value


def address_locks(data: dict[str, Any], hrp: str, limit: int) -> frozenset[bytes]:
    """The locks of the body's ``addresses``: a list of 1 to ``limit`` addresses of this
    network (400 otherwise)."""
    texts = json_field(data, "addresses", list)
    if not 1 <= len(texts) <= limit or not all(isinstance(t, str) for t in texts):
        raise ApiError(400, "bad_field", f"'addresses' must list 1 to {limit} addresses")
    return frozenset(parse_address(text, hrp) for text in texts)
