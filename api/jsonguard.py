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

import math
import re

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body

MAX_DEPTH = 32
MAX_DIGITS = 40
_TOKEN = re.compile(
    rb'"[^"\\]*(?:\\.[^"\\]*)*"'  # a string, escapes included
    rb"|[\[\]{}]"
    rb"|-?(?:NaN|Infinity)"
    rb"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?",
    re.DOTALL,
)
_ESCAPE = re.compile(rb"\\(?:\\|u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|(u[dD][89a-fA-F][0-9a-fA-F]{2}))")
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")


def _is_json(scope: Scope) -> bool:
    content_type = b""
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value.split(b";", 1)[0].strip().lower()
            break
    return content_type in (b"", b"application/json") or content_type.endswith(b"+json")


def _number_problem(token: bytes) -> bool:
    if token.lstrip(b"-")[:1] in (b"N", b"I"):
        return True
    return len(token) > MAX_DIGITS or not math.isfinite(float(token))


def problem(body: bytes) -> tuple[str, str, dict[str, object]] | None:
    """Why this JSON body must be refused (code, message, details), or None when it may be parsed."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as e:
        return "json_encoding_invalid", f"请求体不是 UTF-8 编码。 / The body is not UTF-8 (byte {e.start}).", {}
    depth = 0
    for match in _TOKEN.finditer(body):
        token = match.group()
        first = token[0]
        if first in _OPEN:
            depth += 1
            if depth > MAX_DEPTH:
                return ("json_too_deep", f"JSON 嵌套超过 {MAX_DEPTH} 层。 / JSON nested deeper than {MAX_DEPTH} levels.",
                        {"max_depth": MAX_DEPTH})
        elif first in _CLOSE:
            depth -= 1
        elif first == ord('"'):
            if b"\\u" in token and any(m.group(1) for m in _ESCAPE.finditer(token)):
                return ("text_invalid", "文本含有不成对的代理字符 (\\uD800-\\uDFFF)。 / "
                        "The text holds a lone surrogate escape (\\uD800-\\uDFFF).", {})
        elif _number_problem(token):
            return ("number_invalid", f"数字无效：{token[:20].decode()}（不允许 NaN、Infinity、溢出或超过 {MAX_DIGITS} 位）。 / "
                    f"Invalid number {token[:20].decode()!r}: NaN, infinities, overflowing numbers and numbers of "
                    f"more than {MAX_DIGITS} characters are refused.", {})
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
