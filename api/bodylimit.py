"""Refuse request bodies over the limit while they stream in, before they are spooled or parsed.

A declared Content-Length over the limit is refused before the app runs; a body without one (chunked)
is counted as it is received and refused as soon as it passes the limit. Both answer 413
``upload_too_large`` in the API's error shape. (Starlette's own body limit answers in plain text.)
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import body_limit_message, error_body


class UploadTooLarge(HTTPException):
    """An HTTPException, so that FastAPI passes it through body parsing to the error handler."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="upload_too_large")


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _refusal(self) -> JSONResponse:
        return JSONResponse(error_body("upload_too_large", body_limit_message(self.max_bytes),
                                       {"max_bytes": self.max_bytes}), status_code=413)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refusal()(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise UploadTooLarge()
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except UploadTooLarge:
            if started:
                raise
            await self._refusal()(scope, receive, send)
