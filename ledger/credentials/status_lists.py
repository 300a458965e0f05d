"""Bitstring status lists (W3C Bitstring Status List v1.0): one per department and purpose, public.

Bit ``status_index`` of a department's ``revocation`` list is set when the certificate is revoked,
cancelled, withdrawn or superseded (codes 03, 04, 07, 08), of its ``suspension`` list when it is
suspended (02); expiry is ``validUntil`` in the credential itself. The statuses are the ones the platform
recorded from its chain transactions (``ledger.issue.status_changes`` writes the chain first).

A list is made on request and kept ``CACHE_S`` seconds, or until a status changes, an index is given or
a snapshot is anchored (a cheap stamp: the newest certificate event, the department's next index, its
anchored snapshots), so a change shows at the next request. Each new state of a list is recorded as a
snapshot whose record (credit code, purpose, SHA-256 of the bitstring) is anchored from the department's
account like a certificate; the credential carries the anchor of its snapshot as ``evidence`` once the
batch is on chain. Associations have no status lists (their account may anchor report summaries only).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
import threading
import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ledger.app.library import Library
from ledger.core.errors import NotFound
from ledger.core.merkle import split_proof
from ledger.core.record import record_bytes, record_leaf
from ledger.storage.engine import writing
from ledger.storage.models import Batch, Certificate, CertificateEvent, StatusListCounter, StatusListSnapshot
from ledger.storage.outbox import insert_anchored

from .contexts import VC_V2, our_context_url
from .data_integrity import require_p256, sign_document
from .evidence import anchor_evidence
from .issuers import department, department_did, signing_key

PURPOSES = {"revocation": ("03", "04", "07", "08"), "suspension": ("02",)}
MIN_BITS = 131_072  # the specification's minimum: 16 KB, so one list hides who is on it
CACHE_S = 30.0
LIST_VALIDITY = dt.timedelta(hours=1)
# validFrom is this much before the list is made: a verifier whose clock runs behind ours, or that read its clock
# before asking for the list (it was made for that request), must not find a fresh list "not yet valid"
LIST_BACKDATE = dt.timedelta(minutes=1)
SNAPSHOT_FORMAT = "certledger/status-list/1"

_cache: dict[tuple[int, int, str], tuple[float, Any, dict[str, Any]]] = {}
_lock = threading.Lock()


def list_url(public_url: str, credit_code: str, purpose: str) -> str:
    """Where the platform serves a department's status list credential."""
    return f"{public_url.rstrip('/')}/status-lists/{credit_code}/{purpose}"


def entries(public_url: str, credit_code: str, index: int) -> list[dict[str, Any]]:
    """The ``credentialStatus`` of a certificate: one ``BitstringStatusListEntry`` per purpose."""
    out = []
    for purpose in PURPOSES:
        url = list_url(public_url, credit_code, purpose)
        out.append({"id": f"{url}#{index}", "type": "BitstringStatusListEntry", "statusPurpose": purpose,
                    "statusListIndex": str(index), "statusListCredential": url})
    return out


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise NotFound("status_list_not_found", f"没有该状态列表 / no status list {purpose!r}: use one of "
                       f"{sorted(PURPOSES)}", purpose=purpose)


def bitstring(lib: Library, org_id: int, purpose: str) -> bytes:
    """The list's bits (index 0 is the first byte's most significant bit), at least ``MIN_BITS`` long."""
    c = Certificate.__table__.c
    with lib.engine.connect() as conn:
        size = conn.scalar(select(StatusListCounter.next_index).where(StatusListCounter.org_id == org_id)) or 0
        set_bits = conn.execute(select(c.status_index).where(c.issuer_org_id == org_id, c.status_index.is_not(None),
                                                             c.status.in_(PURPOSES[purpose]))).scalars().all()
    bits = bytearray(max(MIN_BITS, -(-size // 8) * 8) // 8)
    for i in set_bits:
        bits[i // 8] |= 0x80 >> (i % 8)
    return bytes(bits)


def encode_list(bits: bytes) -> str:
    """``encodedList``: GZIP, then multibase base64url without padding."""
    return "u" + base64.urlsafe_b64encode(gzip.compress(bits, mtime=0)).rstrip(b"=").decode()


def _stamp(lib: Library, org_id: int) -> tuple[Any, ...]:
    """Changes when a status changes, an index is given or a snapshot of the department's lists is anchored."""
    snaps = StatusListSnapshot.__table__.c
    with lib.engine.connect() as conn:
        return (conn.scalar(select(func.max(CertificateEvent.id))),
                conn.scalar(select(StatusListCounter.next_index).where(StatusListCounter.org_id == org_id)),
                conn.scalar(select(func.count()).where(snaps.org_id == org_id, snaps.proof.is_not(None))))


def _snapshot(lib: Library, org: Any, purpose: str, digest: bytes) -> Any:
    """The newest snapshot of the list, recorded (and queued for anchoring) first if the bits changed."""
    table = StatusListSnapshot.__table__
    for _ in range(3):  # another worker may record the same state at the same moment: read again
        try:
            with writing(lib.engine) as conn:
                rows = conn.execute(select(table).where(table.c.org_id == org.id, table.c.purpose == purpose)
                                    .order_by(table.c.id.desc()).limit(1)).all()
                if rows and rows[0].digest == digest:
                    break
                sequence = conn.scalar(select(func.count()).select_from(table)
                                       .where(table.c.org_id == org.id, table.c.purpose == purpose))
                record = {"format": SNAPSHOT_FORMAT, "issuer_code": org.uscc, "purpose": purpose,
                          "sequence": sequence, "bitstring_sha256": digest.hex()}
                data = record_bytes(record)
                insert_anchored(conn, "status_list", [{
                    "identifier": f"SL.{org.uscc}.{purpose}.{sequence}", "org_id": org.id, "purpose": purpose,
                    "digest": digest, "record": data.decode(), "leaf": record_leaf(data), "batch_id": None,
                    "leaf_index": None, "proof": None, "created_at": dt.datetime.now(dt.UTC)}],
                    org_key="org_id", seal=None)
        except IntegrityError:
            continue
    with lib.engine.connect() as conn:
        snap = conn.execute(select(table).where(table.c.org_id == org.id, table.c.purpose == purpose)
                            .order_by(table.c.id.desc()).limit(1)).one()
        batch = conn.execute(select(Batch.__table__).where(Batch.__table__.c.id == snap.batch_id)).first() \
            if snap.batch_id is not None else None
    return snap, batch


def _credential(lib: Library, org: Any, purpose: str) -> dict[str, Any]:
    key, method = signing_key(lib, org)
    require_p256(key)  # before a snapshot is recorded: a refused request stores nothing
    bits = bitstring(lib, org.id, purpose)
    snap, batch = _snapshot(lib, org, purpose, hashlib.sha256(bits).digest())
    public_url = lib.settings.public_url
    url = list_url(public_url, org.uscc, purpose)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    credential: dict[str, Any] = {
        "@context": [VC_V2, our_context_url(public_url)],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": department_did(public_url, org.uscc),
        "validFrom": (now - LIST_BACKDATE).isoformat().replace("+00:00", "Z"),
        "validUntil": (now + LIST_VALIDITY).isoformat().replace("+00:00", "Z"),
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": purpose,
                              "encodedList": encode_list(bits)},
    }
    if batch is not None and batch.status == "anchored" and snap.proof is not None:
        contract = lib.require_contract()
        credential["evidence"] = [anchor_evidence(
            json.loads(snap.record), snap.leaf, batch.root, split_proof(snap.proof),
            {"chain_id": contract.client.chain_id, "contract": contract.address, "tx_hash": "0x" + batch.tx_hash.hex(),
             "block_number": batch.block_number, "anchored_at": batch.block_time.isoformat()})]
    return sign_document(credential, key, method)


def status_list_credential(lib: Library, credit_code: str, purpose: str) -> dict[str, Any]:
    """The signed status list credential of a department and purpose (cached, see the module docstring)."""
    _check_purpose(purpose)
    org = department(lib, credit_code, ("department",))
    stamp = _stamp(lib, org.id)
    key = (id(lib), org.id, purpose)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] > now and hit[1] == stamp:
        return hit[2]
    credential = _credential(lib, org, purpose)
    with _lock:
        _cache[key] = (now + CACHE_S, stamp, credential)
    return credential
