"""A lean path for the counters' busiest call, ``POST /counters/verify/identifier``.

Through FastAPI that call costs several times the verification: routing, dependency solving, Pydantic
validation and a hand-off to the 40-thread pool, whose threads contend for the GIL and stretch the
latency tail. This middleware answers, on the event loop, the common case: a small JSON body that the route's own
model accepts, an API key with one of the route's roles, and a certificate whose verification needs database reads
alone: a remembered VALID result, or a first verification under a batch root whose anchor the worker has seen or
the indexer stored, while its look at the status events is current
(``ledger.verify.service.verifications_without_chain``; it never waits on the chain node). The verifications
waiting on one turn of the event loop are made together, in arrival order, their rows read in one statement
(:class:`WaitingVerifications`): under load a worker's requests arrive many at a turn, and a read each cost the
worker and the database more than the verifications themselves. A key locked out for unknown identifiers
(``ledger.holders.attempts``) is answered nothing here: the route refuses it (429). It sits outside the body limit
and the JSON guard (inside the access log): every body it answers, at most ``MAX_BODY`` bytes that orjson parses
into the model's one string, both accept.

Everything else goes on to the regular route with the body replayed: a new root or seal to read from the
chain, a status map to bring up to date, a missing or unknown key, another role, a locked-out key, a body
the model refuses, an unknown identifier, any error. So every refusal and every chain read is the route's
own, and an answer given here is the same bytes the route sends for it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import API_KEY_HEADER, authorize
from api.routers.counters import COUNTER_ROLES
from api.schemas.verification import VerifyIdentifierRequest
from api.verifying import without_consent
from ledger.app.metrics import count_verdict
from ledger.core.messages import language
from ledger.holders import attempts
from ledger.holders.lookups import note_lookup
from ledger.plan.verifications import count_verification
from ledger.verify import service as verification

if TYPE_CHECKING:
    from ledger.app.library import Library
    from ledger.verify.fragments import VerificationResult

PATH = "/counters/verify/identifier"
MAX_BODY = 1024  # an identifier is at most 128 characters; anything larger goes the regular way
_KEY = API_KEY_HEADER.lower().encode()


class WaitingVerifications:
    """The identifiers whose verification waits for the end of this turn of the event loop, verified then together."""

    def __init__(self) -> None:
        self._waiting: list[tuple[str, asyncio.Future[VerificationResult | Exception | None]]] = []

    def verification(self, lib: Library, identifier: str) -> asyncio.Future[VerificationResult | Exception | None]:
        """Its answer as :func:`verification.verifications_without_chain` gives it, once the turn ends."""
        loop = asyncio.get_running_loop()
        if not self._waiting:
            loop.call_soon(self._verify, lib)
        answer: asyncio.Future[VerificationResult | Exception | None] = loop.create_future()
        self._waiting.append((identifier, answer))
        return answer

    def _verify(self, lib: Library) -> None:
        waiting, self._waiting = self._waiting, []
        try:
            answers = verification.verifications_without_chain(lib, [identifier for identifier, _ in waiting])
        except Exception as error:  # noqa: BLE001 - the read failed: each request's route answers (or refuses) it
            answers = [error] * len(waiting)
        for (_, future), answer in zip(waiting, answers, strict=True):
            if not future.done():
                future.set_result(answer)


class FastVerifyIdentifier:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.waiting = WaitingVerifications()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        key = _eligible_key(scope)
        received: list[Message] = []
        body = await _small_body(receive, received) if key is not None else None
        answer = await self._answer(scope, key, body) if key is not None and body is not None else None
        if answer is not None:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", str(len(answer)).encode()),
                                    (b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": answer})
            return

        async def replay() -> Message:
            return received.pop(0) if received else await receive()

        await self.app(scope, replay, send)

    async def _answer(self, scope: Scope, key: str, body: bytes) -> bytes | None:
        """The route's answer if it needs no chain read, else None to let the route answer itself."""
        lib = scope["app"].state.library
        if lib is None:  # the first request builds it, in the route's thread
            return None
        try:
            request = VerifyIdentifierRequest.model_validate(orjson.loads(body))
            caller = authorize(lib, key, COUNTER_ROLES)
            if attempts.locked_out(lib, caller.key_prefix, attempts.IDENTIFIERS):
                return None
        except Exception:  # noqa: BLE001 - the route answers (or refuses) it with its own errors
            return None
        result = await self.waiting.verification(lib, request.identifier)
        if result is None or isinstance(result, Exception):
            return None
        count_verdict("identifier", result.verdict.value)
        count_verification(lib, caller.org)
        note_lookup(lib, result.certificate, caller.org, caller.staff_id)
        return without_consent(result, language(_header(scope, b"accept-language")))


def _eligible_key(scope: Scope) -> str | None:
    """The API key of a JSON request with a small declared body, else None."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name, value)  # the first of a repeated header, as Starlette reads it
    key, length = headers.get(_KEY), headers.get(b"content-length", b"")
    if not (key and headers.get(b"content-type") == b"application/json" and length.isdigit()
            and int(length) <= MAX_BODY):
        return None
    return key.decode("latin-1")


async def _small_body(receive: Receive, received: list[Message]) -> bytes | None:
    """The whole body if it is at most MAX_BODY bytes; every message read is kept in ``received``."""
    size = 0
    while True:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request":
            return None
        size += len(message.get("body", b""))
        if size > MAX_BODY:
            return None
        if not message.get("more_body", False):
            return b"".join(m.get("body", b"") for m in received)


def _header(scope: Scope, name: bytes) -> str | None:
    value = next((v for n, v in scope["headers"] if n == name), None)
    return value.decode("latin-1") if value is not None else None
