"""Bitstring status lists: a revocation or suspension on chain sets the certificate's bit in its department's
list at the next request, and the Digital Bazaar verifier then refuses the VC; each new state of a list is
anchored (its evidence leads to the root on chain); status indices are stable and backfilled by the
migration."""

from __future__ import annotations

import datetime as dt

import base64
import gzip
import hashlib

import sqlalchemy as sa
from sqlalchemy import select

from ledger.core.merkle import process_proof
from ledger.core.record import record_leaf
from ledger.issue.anchoring import Anchorer
from ledger.storage.engine import make_engine, migrate
from ledger.storage.models import Certificate
from tests.fixtures.credentials import VcWorld, digital_bazaar_verify


def _bits(status_list: dict) -> bytes:
    encoded = status_list["credentialSubject"]["encodedList"]
    assert encoded[0] == "u"
    return gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))


def _bit(bits: bytes, index: int) -> bool:
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def _vc(w: VcWorld, identifier: str) -> dict:
    r = w.call("GET", f"/holders/me/certificates/{identifier}/vc", token=w.token)
    assert r.status_code == 200, r.text
    return r.json()


def _change(w: VcWorld, identifier: str, action: str) -> None:
    r = w.call("POST", f"/departments/certificates/{identifier}/status", "market",
               json={"action": action, "reason": "测试"})
    assert r.status_code == 200, r.text


def test_revocation_and_suspension_show_in_the_lists_and_verifiers_refuse(vc_world: VcWorld) -> None:
    w = vc_world
    revoked, suspended = w.issue(), w.issue()
    Anchorer(w.env.lib).run_once(force=True)
    vcs = {i: _vc(w, i) for i in (revoked, suspended)}
    for vc in vcs.values():
        assert digital_bazaar_verify(vc, w.resolved(vc))["verified"] is True
    index = {i: int(vc["credentialStatus"][0]["statusListIndex"]) for i, vc in vcs.items()}
    assert index[suspended] == index[revoked] + 1

    _change(w, revoked, "revoke")
    _change(w, suspended, "suspend")
    revocation = w.get_json(vcs[revoked]["credentialStatus"][0]["statusListCredential"])
    suspension = w.get_json(vcs[suspended]["credentialStatus"][1]["statusListCredential"])
    assert len(_bits(revocation)) * 8 >= 131_072
    made = dt.datetime.fromisoformat(revocation["proof"]["created"].replace("Z", "+00:00"))
    assert revocation["validFrom"] == (made - dt.timedelta(minutes=1)).isoformat().replace("+00:00", "Z")  # clocks
    assert _bit(_bits(revocation), index[revoked]) and not _bit(_bits(revocation), index[suspended])
    assert _bit(_bits(suspension), index[suspended]) and not _bit(_bits(suspension), index[revoked])
    result = digital_bazaar_verify(vcs[revoked], w.resolved(vcs[revoked]))
    assert result == {"verified": False, "errors": ["status set: revocation"]}
    result = digital_bazaar_verify(vcs[suspended], w.resolved(vcs[suspended]))
    assert result == {"verified": False, "errors": ["status set: suspension"]}

    _change(w, suspended, "reinstate")
    assert digital_bazaar_verify(vcs[suspended], w.resolved(vcs[suspended]))["verified"] is True
    assert _vc(w, suspended)["credentialStatus"] == vcs[suspended]["credentialStatus"]  # the index is stable


def test_a_list_state_is_anchored_and_its_evidence_checks_out(vc_world: VcWorld) -> None:
    w = vc_world
    changed = w.issue()
    Anchorer(w.env.lib).run_once(force=True)
    _change(w, changed, "revoke")
    url = f"/status-lists/{w.env.departments['market'].uscc}/revocation"
    first = w.get_json(url)
    Anchorer(w.env.lib).run_once(force=True)
    listed = w.get_json(url)
    evidence = listed["evidence"][0]
    record = evidence["record"]
    assert record["bitstring_sha256"] == hashlib.sha256(_bits(listed)).hexdigest() == \
        hashlib.sha256(_bits(first)).hexdigest()
    leaf = record_leaf(record)
    assert "0x" + leaf.hex() == evidence["leaf"]
    root = process_proof(leaf, evidence["merkleProof"])
    assert "0x" + root.hex() == evidence["merkleRoot"]
    contract = w.env.lib.require_contract()
    assert contract.anchor_of(w.env.departments["market"].chain_address, root) is not None
    assert digital_bazaar_verify(_vc(w, w.identifier), w.resolved(_vc(w, w.identifier)))["verified"] is True


def test_the_migration_numbers_existing_certificates_per_department(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(engine, "0008")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO organizations (id, kind, name, uscc, active, created_at) VALUES "
                             "(1, 'department', 'A', 'A', 1, '2024-01-01'), (2, 'department', 'B', 'B', 1, '2024-01-01')"))
        conn.execute(sa.text("INSERT INTO certificate_types (id, code, name, department_id, holder_kind, fields, active,"
                             " created_at) VALUES (1, 'T', 'T', 1, 'both', '[]', 1, '2024-01-01')"))
        for cid, org in ((1, 1), (2, 2), (3, 1), (4, 1)):
            conn.execute(sa.text(
                "INSERT INTO certificates (id, identifier, type_code, issuer_org_id, number, version, holder_key, status,"
                " issued_on, valid_from, metadata, record, salt, record_seal, leaf, created_at) VALUES (:id, :ident, 'T',"
                " :org, :n, 1, x'00', '01', '2024-01-01', '2024-01-01', '{}', '{}', 's', x'00', :leaf, '2024-01-01')"),
                {"id": cid, "ident": f"I{cid}", "org": org, "n": f"N{cid}",
                 "leaf": record_leaf(b"{}")})  # the record's own: 0020 checks it
    migrate(engine)
    with engine.connect() as conn:
        got = dict(conn.execute(select(Certificate.id, Certificate.status_index)).all())
        counters = dict(conn.execute(sa.text("SELECT org_id, next_index FROM status_list_counters")).all())
    assert got == {1: 0, 3: 1, 4: 2, 2: 0}
    assert counters == {1: 3, 2: 1}
    engine.dispose()
