"""The FastAPI application: routers per audience, one error shape, a body limit, public rate limits, an
access-log line and request metrics for every request (``api.observe``).

``create_app(lib)`` serves a given Library (tests, the CLI); without one the app builds its Library from the
environment (``api.serve``'s workers as they start, ``api.app:app`` on its first request), so any number of
workers can be started with the same configuration.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from api import errors
from api.bodylimit import BodyLimit
from api.deps import library_of
from api.fast_verify import FastVerifyIdentifier
from api.jsonguard import JsonGuard
from api.observe import Observe
from api.ratelimit import TokenBuckets
from api.routers import (
    admin,
    administration,
    associations,
    browser_verifier,
    counters,
    credentials,
    departments,
    foreign_vc,
    health,
    holder_documents,
    holder_page,
    holders,
    imports,
    intake,
    pages,
    plan_targets,
    public,
    report_search,
    sharing,
    verify_assets,
)
from api.settings import ApiSettings
from ledger.app.library import Library
from ledger.verify.service import warm_service_verifier

log = logging.getLogger(__name__)

DESCRIPTION = """\
certledger keeps the city's e-certificates (电子证照): departments issue them with their electronic
seal, every certificate is anchored in a Merkle batch on the permissioned chain, documents live
encrypted in IPFS, counters verify certificates, and anyone can verify a proof bundle.

Authenticate with your organisation's API key in the `X-API-Key` header. Every error has the
shape `{"error": {"code", "message", "details"}}`; `code` is stable and machine-readable; `message` (and every
check's message) is in Chinese unless `Accept-Language` prefers English.
"""

TAGS = [
    {"name": "admin", "description": "platform administration: organisations, API keys, the certificate catalogue, "
                                      "service items and their material coverage"},
    {"name": "departments", "description": "issuing departments: issue, read and export their own certificates"},
    {"name": "associations", "description": "associations: submit report summaries in batches, read and export their own"},
    {"name": "counters", "description": "service counters: verify a certificate by identifier, proof bundle or PDF; "
                                         "open an intake with the holder's use code; search and verify report summaries"},
    {"name": "holders", "description": "certificate holders (bearer token): my certificates, use codes, my access "
                                        "log and its anchors"},
    {"name": "public", "description": "anyone: verify a proof bundle or a QR code address (rate-limited, no key)"},
    {"name": "health", "description": "liveness (`/healthz`) and readiness (`/readyz`: dependencies and workers)"},
]


@contextlib.asynccontextmanager
async def _library_at_start(app: FastAPI) -> AsyncIterator[None]:
    """Build the worker's Library before it accepts a request: built by its first request instead, it held every
    request arriving meanwhile (a fresh worker's first second of traffic) behind one lock. A configuration it is
    refused for is reported by the requests that need a Library, as before, and ``/healthz`` still answers. Then
    the verifier's chain facts (``warm_service_verifier``); a chain node that does not answer delays nothing more
    than its first refused read."""
    try:
        lib = library_of(app)
    except Exception:  # noqa: BLE001 - the first request that needs it raises it again, to its caller
        log.warning("the library could not be built at start", exc_info=True)
    else:
        if lib.contract is not None:
            try:
                warm_service_verifier(lib)
            except Exception:  # noqa: BLE001 - each verification reads what it needs itself, as without the warm-up
                log.warning("the verifier's chain facts could not be read at start", exc_info=True)
    yield


def create_app(lib: Library | None = None, settings: ApiSettings | None = None, *,
               library_at_start: bool = False) -> FastAPI:
    """The API over ``lib``, else over a Library built from configuration on first use, or with
    ``library_at_start`` as the server starts (``api.serve``'s workers)."""
    settings = settings or ApiSettings()
    app = FastAPIOffline(  # /docs from the Swagger UI files the package ships: no CDN, works offline
        lifespan=_library_at_start if library_at_start and lib is None else None,
        static_url="/docs-assets",
        redoc_url=None,
        title="certledger",
        version="1",
        summary="Blockchain-anchored e-certificate ledger",
        description=DESCRIPTION,
        openapi_tags=TAGS,
    )
    app.state.library = lib
    app.state.api_settings = settings
    app.state.public_buckets = TokenBuckets(settings.public_rate, settings.public_burst, settings.public_max_clients)
    errors.install(app)
    app.add_middleware(JsonGuard)  # inside the body limit: what it scans is bounded
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    # outside both: it answers only a body of at most 1 KB that orjson parses into exactly the route's model (one
    # string), which both accept too (UTF-8, no lone surrogate, no number, depth 1), and passes any other on
    app.add_middleware(FastVerifyIdentifier)
    app.add_middleware(Observe)  # last, so the outermost: it sees every request and every answer
    # by audience; where two routes could match one path, the first listed answers (administration before admin)
    routers = (
        administration.router, holder_documents.router, sharing.router, sharing.public, holder_page.router,
        admin.router, departments.router, imports.router, associations.router, counters.router, intake.router,
        report_search.router, foreign_vc.router, holders.router, public.router, health.router, pages.router,
        verify_assets.router, plan_targets.router,
        credentials.router,  # standard formats: VC 2.0, status lists, did:web, SD-JWT VC
        browser_verifier.router,
    )
    for router in routers:
        app.include_router(router)
    return app


app = create_app()
