"""Refuse JSON bodies that would crash or silently corrupt the service, before any router or key check runs.

Every JSON body (``application/json``, ``*+json``, or no content type, which FastAPI also parses as JSON) is
scanned once before it is parsed: nesting deeper than ``MAX_DEPTH`` (the C parser recurses per level: 100,000
``[`` once overflowed the C stack and killed the process), a lone UTF-16 surrogate escape (it cannot be stored
or sealed as UTF-8), ``NaN`` / ``Infinity`` or a number that overflows a double or has more than
``MAX_DIGITS`` digits (Python would accept them and a field would be dropped or a later step fail), and bytes
that are not UTF-8. Each is 422 in the API's error shape with a code of its own; nothing runs for such a request.
The body is bounded in size first (``api.bodylimit``), so the scan is bounded too.
"""

from __future__ import annotations

import itertools
import math
import re

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body

MAX_DEPTH = 32
MAX_DIGITS = 40
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # a string, escapes included
_ESCAPE = re.compile(rb"\\(?:\\|u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|(u[dD][89a-fA-F][0-9a-fA-F]{2}))")
# what separates numbers and literals once the strings are gone
_SEPARATORS = bytes.maketrans(b'[]{}:,"\t\r\n', b" " * 10)
_ANY_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")  # rare (characters beyond the BMP): only then is each escape read
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _is_json(scope: Scope) -> bool:
    content_type = b""
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value.split(b";", 1)[0].strip().lower()
            break
    return content_type in (b"", b"application/json") or content_type.endswith(b"+json")


def _bad_number(token: bytes) -> bool:
    """NaN, an infinity, a number too long or overflowing a double; short plain numbers are always fine."""
    if token in (b"true", b"false", b"null") or (len(token) <= 15 and token.lstrip(b"-").isdigit()):
        return False
    if token.lstrip(b"-") in (b"NaN", b"Infinity") or len(token) > MAX_DIGITS:
        return True
    try:
        return not math.isfinite(float(token))
    except ValueError:  # not a number after all: the parser refuses it
        return False


def problem(body: bytes) -> tuple[str, str, dict[str, object]] | None:
    """Why this JSON body must be refused (code, message, details), or None when it may be parsed."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as e:
        return "json_encoding_invalid", f"请求体不是 UTF-8 编码。 / The body is not UTF-8 (byte {e.start}).", {}
    if _ANY_SURROGATE.search(body) and any(m.group(1) for m in _ESCAPE.finditer(body)):
        return ("text_invalid", "文本含有不成对的代理字符 (\\uD800-\\uDFFF)。 / "
                "The text holds a lone surrogate escape (\\uD800-\\uDFFF).", {})
    # without an escaped quote, every other piece between quotes is a string's content (split runs at C speed; the
    # regex costs about a microsecond per string)
    outside = _STRING.sub(b'""', body) if b'\\"' in body else b" ".join(body.split(b'"')[0::2])
    brackets = outside.translate(None, _NOT_BRACKETS)
    if brackets and max(itertools.accumulate(map(_STEP.__getitem__, brackets))) > MAX_DEPTH:
        return ("json_too_deep", f"JSON 嵌套超过 {MAX_DEPTH} 层。 / JSON nested deeper than {MAX_DEPTH} levels.",
                {"max_depth": MAX_DEPTH})
    for token in outside.translate(_SEPARATORS).split():
        if _bad_number(token):
            shown = token[:20].decode()
            return ("number_invalid", f"数字无效：{shown}（不允许 NaN、Infinity、溢出或超过 {MAX_DIGITS} 位）。 / "
                    f"Invalid number {shown!r}: NaN, infinities, overflowing numbers and numbers of more than "
                    f"{MAX_DIGITS} characters are refused.", {})
    return None


class JsonGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS") or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        received: list[Message] = []
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        found = problem(b"".join(m.get("body", b"") for m in received if m["type"] == "http.request"))
        if found is not None:
            code, message_text, details = found
            await JSONResponse(error_body(code, message_text, details), status_code=422)(scope, receive, send)
            return

        async def replay() -> Message:
            return received.pop(0) if received else await receive()

        await self.app(scope, replay, send)
