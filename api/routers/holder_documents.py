"""Holders fetch their own certificates' sealed PDF and proof bundle (another holder's certificate is not found)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response
from sqlalchemy import select

from api.deps import LibraryDep
from api.errors import responses
from api.routers.holders import Holder
from api.schemas.common import EXAMPLE_IDENTIFIER
from ledger.app.library import Library
from ledger.core.errors import NotFound
from ledger.issue import issuance
from ledger.storage.models import Certificate
from ledger.verify import stored

router = APIRouter(prefix="/holders/me", tags=["holders"])
IdentifierPath = Annotated[str, Path(max_length=128, description="证照标识 (GB/T 36904)", examples=[EXAMPLE_IDENTIFIER])]


def _own(lib: Library, holder: bytes, identifier: str) -> str:
    with lib.sessions() as session:
        found = session.scalar(select(Certificate.identifier)
                               .where(Certificate.identifier == identifier, Certificate.holder_key == holder))
    if found is None:
        raise NotFound("certificate_not_found", f"您没有证照 {identifier} / you hold no certificate {identifier}")
    return found


@router.get(
    "/certificates/{identifier}/document",
    summary="My certificate's sealed PDF (decrypted)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                     "description": "the sealed PDF"}, **responses(401, 404, 422, 503)},
)
def my_document(identifier: IdentifierPath, lib: LibraryDep, holder: Holder) -> Response:
    pdf = issuance.fetch_document(lib, _own(lib, holder, identifier))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{identifier}.pdf"'})


@router.get(
    "/certificates/{identifier}/bundle",
    summary="My certificate's proof bundle (once anchored): anyone verifies it without this service",
    response_model=dict[str, Any],
    responses={200: {"content": {"application/json": {"example": {"format": "certledger/bundle/1", "record": {}}}},
                     "description": "the proof bundle, see docs/proof-bundle.md"}, **responses(401, 404, 409, 422)},
)
def my_bundle(identifier: IdentifierPath, lib: LibraryDep, holder: Holder) -> dict[str, Any]:
    return stored.export_bundle(lib, _own(lib, holder, identifier))
