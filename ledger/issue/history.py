"""A certificate's history, for its department and for counters: every version's issue and every change.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select

from ledger.app.library import Library
from ledger.core.errors import Forbidden, NotFound
from ledger.core.identifiers import parse_identifier
from ledger.issue.changes import EVENTS
from ledger.storage.certificate_anchors import CERTIFICATES_WITH_BATCH
from ledger.storage.models import (
    BATCHES,
    CERTIFICATES,
    Organization,
    as_utc,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HistoryEvent:
    at: dt.datetime
    action: str
    status: str
    reason: str | None
    tx_hash: str | None
    block_number: int | None
    identifier: str
    by: str
    actor: str | None


@dataclass(frozen=True)
class History:
    identifier: str
    current_version: str
    events: list[HistoryEvent]


def history(lib: Library, identifier: str, *, org_id: int | None = None) -> History:
    """Every event of the certificate and its other versions (same issuer, type and number), oldest first.

    Each version's issue is listed with the transaction that anchored it (none while queued).
    ``org_id``: refuse unless that organization issued it (a department reads only its own).
    """
    ident = str(parse_identifier(identifier))
    c = CERTIFICATES.c
    with lib.engine.connect() as conn:
        base = conn.execute(select(c.issuer_org_id, c.type_code, c.number).where(c.identifier == ident)).first()
        if base is None:
            raise NotFound("certificate_not_found", f"no certificate has the identifier {ident}", identifier=ident)
        if org_id is not None and base.issuer_org_id != org_id:
            raise Forbidden("not_your_certificate", f"certificate {ident} was issued by another department; a "
                            "department reads only its own", identifier=ident)
        issuer = conn.execute(select(Organization.name).where(Organization.id == base.issuer_org_id)).scalar_one()
        versions = conn.execute(
            select(c.id, c.identifier, c.version, c.created_at, BATCHES.c.tx_hash, BATCHES.c.block_number,
                   BATCHES.c.status.label("batch_status"))
            .select_from(CERTIFICATES_WITH_BATCH)
            .where(c.issuer_org_id == base.issuer_org_id, c.type_code == base.type_code, c.number == base.number)
            .order_by(c.version)).all()
        names = {v.id: v.identifier for v in versions}
        stored = conn.execute(
            select(EVENTS, Organization.name.label("by"))
            .join(Organization, Organization.id == EVENTS.c.actor_org_id)
            .where(EVENTS.c.certificate_id.in_(list(names))).order_by(EVENTS.c.at, EVENTS.c.id)).all()
    events = []
    for v in versions:
        anchored = v.batch_status == "anchored"
        events.append(HistoryEvent(as_utc(v.created_at), "issue", "01", None,
                                   "0x" + v.tx_hash.hex() if anchored else None, v.block_number if anchored else None,
                                   v.identifier, issuer, None))
    for e in stored:
        events.append(HistoryEvent(as_utc(e.at), e.action, e.status, e.reason,
                                   "0x" + e.tx_hash.hex() if e.tx_hash else None, e.block_number,
                                   names[e.certificate_id], e.by, e.actor))
    events.sort(key=lambda e: e.at)
    return History(ident, versions[-1].identifier, events)
