"""Association report summaries against the real chain, IPFS node, seals and both databases:
submit, anchor (as REPORT_SUMMARIES from the association's account), search, export, verify, tamper."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ledger.app.config import REPO_ROOT
from ledger.app.onboarding import create_organization
from ledger.chain.contract import BatchKind
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.errors import (
    BadInput,
    ChainRevert,
    Conflict,
    Forbidden,
    NotFound,
    TooLarge,
)
from ledger.core.record import REPORT_KEYS, record_leaf
from ledger.core.uscc import derive_uscc
from ledger.issue import reports
from ledger.issue.anchoring import Anchorer
from ledger.storage.models import AnchorOutbox, Batch, Organization, ReportSummary
from ledger.verify.bundle import build_bundle
from ledger.verify.service import service_verifier
from ledger.verify.standalone import verify_bundle_standalone
from tests.fixtures.library import LibraryEnv
from tests.fixtures.merkle import tree_with_proofs

pytestmark = pytest.mark.chains("anvil", "hardhat", "besu")


def new_association(lib: Any, name: str = "市示例评估协会") -> Organization:
    return create_organization(lib, kind="association", name=name,
                               uscc=derive_uscc(uuid.uuid4().hex, division=CITY_DIVISION, prefix="51"))


def summary(**overrides: Any) -> dict[str, Any]:
    """A valid report summary with a number unique in the session."""
    doc = f"report document {uuid.uuid4()}".encode()
    item = {
        "name": "示例大厦主体结构检测报告", "number": f"湘建检〔2026〕{uuid.uuid4().hex[:10].upper()}号",
        "kind": "检测报告", "issuing_body": "湖南示例建设工程质量检测有限公司", "subject": "长沙示例大厦",
        "report_date": "2026-10-20", "conclusion": "主体结构混凝土强度符合设计要求。",
        "catalogue": ["一、工程概况", {"section": "二", "title": "检测结果", "page": 5}],
        "document_sha256": hashlib.sha256(doc).hexdigest(),
    }
    item.update(overrides)
    return item


def _stored(lib: Any) -> tuple[int, int]:
    with lib.sessions() as s:
        return (s.scalar(select(func.count()).select_from(ReportSummary)),
                s.scalar(select(func.count()).select_from(AnchorOutbox)  # not the lookups written meanwhile
                         .where(AnchorOutbox.kind != "access_log")))


@pytest.fixture(scope="module")
def association(library_env: LibraryEnv) -> Organization:
    return new_association(library_env.lib)


@pytest.fixture(scope="module")
def anchored_reports(library_env: LibraryEnv, association: Organization) -> dict[str, Any]:
    """Three summaries (one with its document, a PDF-like blob), submitted in one batch and anchored."""
    lib = library_env.lib
    document = b"%PDF-1.7 report " + os.urandom(2000)
    tag = uuid.uuid4().hex[:8]
    items = [
        summary(name=f"主体结构检测报告{tag}", kind="检测报告", report_date="2026-03-01",
                document=base64.b64encode(document).decode(), document_sha256=None),
        summary(name=f"资产评估报告{tag}", kind="评估报告", subject=f"示例公司{tag}", report_date="2026-04-15"),
        summary(name=f"年度审计报告{tag}", kind="审计报告", issuing_body=f"示例会计师事务所{tag}",
                report_date="2026-05-30"),
    ]
    submitted = reports.submit_batch(lib, association, items)
    anchored = Anchorer(lib).run_once(force=True)
    assert any(b.org_id == association.id for b in anchored)
    return {"submitted": submitted, "items": items, "document": document, "tag": tag}


def test_submitted_reports_are_sealed_queued_and_anchored_as_report_summaries(
        library_env: LibraryEnv, association: Organization, anchored_reports: dict[str, Any]) -> None:
    lib = library_env.lib
    first = anchored_reports["submitted"][0]
    assert first.identifier == f"RS.{association.uscc}.{first.number}"
    assert first.document_sha256 == hashlib.sha256(anchored_reports["document"]).hexdigest()
    assert first.document_cid is not None and anchored_reports["submitted"][1].document_cid is None
    report, batch = reports.get_report(lib, first.identifier)
    record = json.loads(report.record)
    assert set(record) == REPORT_KEYS and record["association_code"] == association.uscc
    assert record["file"]["cid"] == first.document_cid and record["file"]["encrypted"] is True
    assert report.leaf == first.leaf == record_leaf(record)
    assert batch is not None and batch.kind == "report" and batch.status == "anchored" and report.proof is not None
    on_chain = lib.require_contract().anchor_of(association.chain_address, batch.root)
    assert on_chain.kind is BatchKind.REPORT_SUMMARIES and on_chain.issuer == association.chain_address
    with lib.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AnchorOutbox).where(
            AnchorOutbox.org_id == association.id)) == 0
    # the document went to IPFS encrypted, and comes back decrypted
    envelope = lib.ipfs.get(first.document_cid)
    assert anchored_reports["document"][16:80] not in envelope
    data, media_type = reports.fetch_document(lib, first.identifier)
    assert data == anchored_reports["document"] and media_type == "application/pdf"
    with pytest.raises(NotFound) as err:
        reports.fetch_document(lib, anchored_reports["submitted"][1].identifier)
    assert err.value.code == "document_not_found"


def test_verify_by_identifier_is_valid_with_every_fragment(
        library_env: LibraryEnv, anchored_reports: dict[str, Any]) -> None:
    lib = library_env.lib
    ident = anchored_reports["submitted"][0].identifier
    result = reports.verify(lib, ident)
    assert result.verdict.value == "VALID", result.to_dict()
    reasons = {c.name: c.reason for c in result.checks}
    assert reasons["record_integrity"] == "leaf_matches"
    assert reasons["anchor_on_chain"] == "anchored_by_association"
    assert result.check("anchor_on_chain").data["batch_kind"] == "REPORT_SUMMARIES"
    assert reasons["anchor_issuer"] == "association_and_seal_registered"
    assert reasons["seal"] == "seal_valid" and reasons["seal_signer_matches"] == "department_matches"
    assert reasons["status"] == "valid" and "validity_period" not in reasons
    assert reasons["document_digest"] == "no_document"
    assert result.certificate["identifier"] == ident and result.certificate["kind"] == "检测报告"
    # with the document at hand
    with_doc = reports.verify(lib, ident, anchored_reports["document"])
    assert with_doc.verdict.value == "VALID" and with_doc.check("document_digest").reason == "digest_matches"
    by_doc = reports.verify_document(lib, anchored_reports["document"])
    assert by_doc.verdict.value == "VALID" and by_doc.certificate["identifier"] == ident
    wrong = reports.verify(lib, ident, anchored_reports["document"] + b"x")
    assert wrong.verdict.value == "INVALID" and wrong.check("document_digest").reason == "digest_mismatch"
    with pytest.raises(NotFound) as err:
        reports.verify_document(lib, b"a document nobody submitted")
    assert err.value.code == "report_document_unknown"


def test_queued_report_is_pending_not_invalid(library_env: LibraryEnv, association: Organization) -> None:
    lib = library_env.lib
    [queued] = reports.submit_batch(lib, association, [summary()])
    result = reports.verify(lib, queued.identifier)
    assert result.verdict.value == "PENDING"  # sealed and recorded, not yet anchored
    assert result.check("merkle_proof").reason == "not_yet_anchored"
    assert result.check("record_integrity").status.value == "VALID"
    with pytest.raises(Conflict) as err:
        reports.export_bundle(lib, queued.identifier)
    assert err.value.code == "report_not_anchored"
    Anchorer(lib).run_once(force=True)
    assert reports.verify(lib, queued.identifier).verdict.value == "VALID"


def test_bundle_verifies_standalone_and_tampering_names_the_fragment(
        library_env: LibraryEnv, rpc_url: str, anchored_reports: dict[str, Any]) -> None:
    lib = library_env.lib
    bundle = reports.export_bundle(lib, anchored_reports["submitted"][1].identifier)
    assert bundle["record"]["format"] == "certledger/report/1" and bundle["document"] is None
    assert verify_bundle_standalone(bundle, rpc_url, library_env.trust()).verdict.value == "VALID"
    verifier = service_verifier(lib)

    changed = copy.deepcopy(bundle)
    changed["record"]["conclusion"] = "结论：不合格。"
    result = verifier.verify_bundle(changed)
    assert result.verdict.value == "INVALID"
    assert result.check("record_integrity").reason == "leaf_mismatch"
    assert result.check("seal_intact").reason == "digest_mismatch"

    relinked = copy.deepcopy(changed)
    relinked["leaf"] = "0x" + record_leaf(relinked["record"]).hex()
    result = verifier.verify_bundle(relinked)
    assert result.check("record_integrity").status.value == "VALID"
    assert result.check("merkle_proof").reason == "proof_mismatch"

    other = reports.export_bundle(lib, anchored_reports["submitted"][2].identifier)
    swapped = {**copy.deepcopy(bundle), "proof": other["proof"][:-1] + ["0x" + "11" * 32]}
    assert verifier.verify_bundle(swapped).check("merkle_proof").status.value == "INVALID"

    renamed = copy.deepcopy(bundle)
    renamed["record"]["association_code"] = library_env.departments["market"].uscc
    renamed["leaf"] = "0x" + record_leaf(renamed["record"]).hex()
    result = verifier.verify_bundle(renamed)
    assert result.verdict.value == "INVALID" and result.check("seal_signer_matches").status.value == "INVALID"


def test_report_anchored_by_a_department_fails_anchor_on_chain(
        library_env: LibraryEnv, anchored_reports: dict[str, Any]) -> None:
    """A department may anchor certificates only; a report leaf it slips into such a batch is not the
    association's anchor (the root is looked for under the association's accounts)."""
    lib = library_env.lib
    report, _ = reports.get_report(lib, anchored_reports["submitted"][2].identifier)
    record = json.loads(report.record)
    tree, proofs = tree_with_proofs([report.leaf, os.urandom(32)])
    contract = lib.require_contract()
    tx = contract.anchor(lib.org_account(library_env.departments["market"]), tree.root, 2, BatchKind.CERTIFICATES)
    bundle = build_bundle(
        record=record, seal=report.record_seal, leaf=report.leaf, root=tree.root, proof=proofs[0],
        chain_id=contract.client.chain_id, contract=contract.address, tx_hash=bytes.fromhex(tx.tx_hash[2:]),
        block_number=tx.block_number, anchored_at=dt.datetime.fromtimestamp(tx.block_time, dt.UTC),
        city_root_der=lib.seal_registry().root_der,
    )
    result = service_verifier(lib).verify_bundle(bundle)
    assert result.verdict.value == "INVALID"
    assert result.check("merkle_proof").status.value == "VALID"
    assert result.check("anchor_on_chain").reason == "root_not_anchored"
    assert result.check("anchor_issuer").status.value == "SKIPPED"


def test_contract_refuses_report_summaries_from_a_department(library_env: LibraryEnv) -> None:
    lib = library_env.lib
    with pytest.raises(ChainRevert) as err:
        lib.require_contract().anchor(lib.org_account(library_env.departments["land"]), os.urandom(32), 1,
                                      BatchKind.REPORT_SUMMARIES)
    assert err.value.error_name == "BatchKindNotAllowed"


def test_search(library_env: LibraryEnv, association: Organization, anchored_reports: dict[str, Any]) -> None:
    lib, tag = library_env.lib, anchored_reports["tag"]
    numbers = [s.number for s in anchored_reports["submitted"]]

    def found(**criteria: Any) -> list[str]:
        page, _ = reports.search(lib, **criteria)
        return [r.number for r, _ in page]

    assert found(number=numbers[1]) == [numbers[1]]
    assert found(name=tag) == numbers[::-1]  # newest first
    assert found(name=f"资产评估报告{tag}".upper()) == [numbers[1]]
    assert numbers[2] in found(kind="审计报告") and numbers[0] not in found(kind="审计报告")
    assert found(issuing_body=f"事务所{tag}") == [numbers[2]]
    assert found(subject=f"示例公司{tag}") == [numbers[1]]
    assert found(name=tag, date_from=dt.date(2026, 4, 1), date_to=dt.date(2026, 4, 30)) == [numbers[1]]
    assert found(name=tag, date_from=dt.date(2026, 4, 16)) == [numbers[2]]
    assert found(name="100%_no_such") == []
    assert found(association_id=association.id, name=tag) == numbers[::-1]
    first, cursor = reports.search(lib, name=tag, limit=2)
    rest, last = reports.search(lib, name=tag, limit=2, after=cursor)
    assert [r.number for r, _ in first + rest] == numbers[::-1] and last is None
    with pytest.raises(BadInput) as err:
        reports.search(lib, date_from=dt.date(2026, 5, 1), date_to=dt.date(2026, 4, 1))
    assert err.value.code == "date_range_invalid"


def test_only_an_association_submits(library_env: LibraryEnv) -> None:
    lib = library_env.lib
    before = _stored(lib)
    with pytest.raises(Forbidden) as err:
        reports.submit_batch(lib, library_env.departments["market"], [summary()])
    assert err.value.code == "organization_not_association"
    assert _stored(lib) == before


@pytest.mark.parametrize(("change", "error", "code"), [
    ({"number": "A/B"}, BadInput, "report_number_invalid"),
    ({"number": "含 空格"}, BadInput, "report_number_invalid"),
    ({"name": " "}, BadInput, "report_field_missing"),
    ({"subject": "x" * 201}, BadInput, "report_field_too_long"),
    ({"report_date": "2026-13-01"}, BadInput, "report_date_invalid"),
    ({"report_date": (dt.date.today() + dt.timedelta(days=3)).isoformat()}, BadInput, "report_date_invalid"),
    ({"catalogue": "一、概况"}, BadInput, "report_catalogue_invalid"),
    ({"catalogue": [{"title": ["nested"]}]}, BadInput, "report_catalogue_invalid"),
    ({"document_sha256": "00" * 31}, BadInput, "document_sha256_invalid"),
    ({"document_sha256": None}, BadInput, "document_sha256_missing"),
    ({"document": base64.b64encode(b"other bytes").decode()}, BadInput, "document_digest_mismatch"),
    ({"document": "not base64!"}, BadInput, "document_invalid"),
    ({"colour": "red"}, BadInput, "report_field_unknown"),
    ({"document_media_type": "pdf"}, BadInput, "document_media_type_invalid"),
])
def test_malformed_summary_in_a_batch_stores_nothing(
        library_env: LibraryEnv, association: Organization, change: dict[str, Any], error: type, code: str) -> None:
    lib = library_env.lib
    before = _stored(lib)
    with pytest.raises(error) as err:
        reports.submit_batch(lib, association, [summary(), summary(**change)])
    assert err.value.code == code and err.value.details["index"] == 1, err.value.to_dict()
    assert "reports[1]" in err.value.message
    assert _stored(lib) == before


def test_duplicate_numbers_store_nothing(library_env: LibraryEnv, association: Organization) -> None:
    lib = library_env.lib
    first = summary()
    before = _stored(lib)
    with pytest.raises(Conflict) as err:
        reports.submit_batch(lib, association, [first, summary(), summary(number=first["number"])])
    assert err.value.code == "report_duplicate" and err.value.details["index"] == 2
    assert _stored(lib) == before
    reports.submit_batch(lib, association, [first])
    stored = _stored(lib)
    with pytest.raises(Conflict) as err:
        reports.submit_batch(lib, association, [summary(), summary(number=first["number"])])
    assert err.value.code == "report_duplicate" and err.value.details["number"] == first["number"]
    assert _stored(lib) == stored
    # the same number from another association is another report
    other = new_association(lib, "市示例检测协会")
    [again] = reports.submit_batch(lib, other, [summary(number=first["number"])])
    assert again.identifier == f"RS.{other.uscc}.{first['number']}"


def test_empty_batch_and_bad_identifiers(library_env: LibraryEnv, association: Organization) -> None:
    lib = library_env.lib
    with pytest.raises(BadInput) as err:
        reports.submit_batch(lib, association, [])
    assert err.value.code == "reports_empty"
    with pytest.raises(BadInput) as err:
        reports.submit_batch(lib, association, [summary(), "not an object"])
    assert err.value.code == "report_invalid" and err.value.details["index"] == 1
    with pytest.raises(TooLarge) as err:
        reports.submit_batch(lib, association, [summary()] * (reports.MAX_REPORTS + 1))
    assert err.value.code == "too_many_reports"
    unactivated = Organization(id=association.id, kind="association", name=association.name, uscc=association.uscc)
    with pytest.raises(Forbidden) as err:
        reports.submit_batch(lib, unactivated, [summary()])
    assert err.value.code == "organization_not_activated"
    for limit in (0, 1001):
        with pytest.raises(BadInput) as err:
            reports.search(lib, limit=limit)
        assert err.value.code == "limit_invalid"
    for bad in ("RS.123.X", "1.2.156.3005.2", f"RS.{association.uscc}.", f"RS.{association.uscc}.a/b", None):
        with pytest.raises(BadInput) as err:
            reports.get_report(lib, bad)  # type: ignore[arg-type]
        assert err.value.code == "report_identifier_invalid"
    with pytest.raises(NotFound) as err:
        reports.get_report(lib, f"RS.{association.uscc}.NO-SUCH-REPORT")
    assert err.value.code == "report_not_found"
    with lib.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Batch).where(Batch.kind == "report")) >= 1


@pytest.mark.chains()  # the command line adds nothing chain-specific: the default chain only
@pytest.mark.one_database  # nor database-specific: the API tests submit on both
def test_cli_submits_exports_and_the_bundle_verifies_standalone(
        library_env: LibraryEnv, association: Organization, rpc_url: str, tmp_path: Path) -> None:
    env = {**os.environ, **library_env.env, "PYTHONPATH": str(REPO_ROOT)}
    cli = str(Path(sys.executable).parent / "certledger")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([cli, *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)

    request = tmp_path / "reports.json"
    request.write_text(json.dumps([summary(number=f"【CLI】{uuid.uuid4().hex[:8]}")], ensure_ascii=False),
                       encoding="utf-8")
    done = run("report-submit", str(request), "--org", association.uscc)
    assert done.returncode == 0, done.stderr
    [identifier] = done.stdout.split()
    assert reports.get_report(library_env.lib, identifier)[0].association_org_id == association.id
    assert run("report-bundle", identifier).returncode == 2  # not anchored yet
    Anchorer(library_env.lib).run_once(force=True)
    bundle = tmp_path / "report.json"
    assert run("report-bundle", identifier, "-o", str(bundle)).returncode == 0
    done = run("verify", str(bundle), "--rpc", rpc_url, "--json")
    assert done.returncode == 0 and '"verdict": "VALID"' in done.stdout, done.stdout + done.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([summary(report_date="2999-01-01")]), encoding="utf-8")
    done = run("report-submit", str(bad), "--org", association.uscc)
    assert done.returncode == 2 and "report_date_invalid" in done.stderr
