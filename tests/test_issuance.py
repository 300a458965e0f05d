"""Issuance against the real chain, IPFS node, seals and both databases."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import pytest
from reportlab.pdfgen import canvas
from sqlalchemy import func, select

from ledger.app.library import Library
from ledger.core.errors import (
    BadInput,
    CertledgerError,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
)
from ledger.core.identifiers import parse_identifier
from ledger.core.metadata import holder_key
from ledger.core.record import RECORD_KEYS, record_leaf
from ledger.documents.ipfs import IpfsStore
from ledger.issue.issuance import (
    fetch_document,
    get_certificate,
    issue_many,
    issue_one,
    list_certificates,
)
from ledger.storage.models import (
    AnchorOutbox,
    Certificate,
    CertificateType,
    SerialCounter,
)
from signer.compact_seal import expand_seal
from signer.pdf_verify import verify_pdf
from signer.verify import SealVerifier
from tests.fixtures.library import LibraryEnv, sample_request


def _counts(lib: Library, org_id: int) -> tuple[int, int]:
    with lib.sessions() as s:
        certs = s.execute(select(func.count()).select_from(Certificate).where(Certificate.issuer_org_id == org_id)).scalar_one()
        queued = s.execute(select(func.count()).select_from(AnchorOutbox).where(AnchorOutbox.org_id == org_id)).scalar_one()
    return certs, queued


def test_issue_without_document(library_env: LibraryEnv) -> None:
    lib, org = library_env.lib, library_env.departments["market"]
    ctype = library_env.types["business_licence"]
    request = sample_request(ctype, service_item=None)
    issued = issue_one(lib, org, request)
    ident = parse_identifier(issued.identifier)
    assert ident.type_code == ctype.code and ident.issuer_code == org.uscc and ident.version == 1
    assert issued.document_cid is None
    cert = get_certificate(lib, issued.identifier)
    record = json.loads(cert.record)
    assert set(record) == RECORD_KEYS and record["file"] is None
    assert record["holder"] == request["holder"] and record["issuing_department_code"] == org.uscc
    assert record["valid_until"] is None  # business licences have no fixed term
    assert cert.leaf == issued.leaf == record_leaf(cert.record.encode()) == record_leaf(record)
    assert cert.holder_key == holder_key(lib.platform_secret, "001", request["holder_id"])
    assert len(cert.record_seal) < 128  # stored without its seal certificate nor its digest (signer.compact_seal)
    seal = expand_seal(cert.record_seal, lib.seal_registry(), cert.record.encode())
    checks = SealVerifier(lib.seal_registry()).verify_record(record, seal)
    assert all(c.status.value == "VALID" for c in checks), checks
    with lib.sessions() as s:
        queued = s.execute(select(AnchorOutbox).where(AnchorOutbox.item_id == cert.id)).scalar_one()
    assert queued.leaf == cert.leaf and queued.batch_id is None


def test_two_records_of_same_data_differ_by_salt(library_env: LibraryEnv) -> None:
    lib, org, ctype = library_env.lib, library_env.departments["hr"], library_env.types["skill"]
    base = sample_request(ctype)
    a, b = issue_many(lib, org, [base, {**base, "number": base["number"] + "B"}])
    assert a.leaf != b.leaf
    assert parse_identifier(b.identifier).serial == f"{int(parse_identifier(a.identifier).serial) + 1:011d}"


def test_validity_defaults_from_type(library_env: LibraryEnv) -> None:
    lib, org = library_env.lib, library_env.departments["hr"]
    with lib.sessions() as s:
        social = s.execute(select(CertificateType).where(CertificateType.name == "社会保障卡")).scalar_one()
    cert = get_certificate(lib, issue_one(lib, org, sample_request(social, issue_date="2024-02-29")).identifier)
    assert json.loads(cert.record)["valid_until"] == "2034-02-28"


def test_issue_with_rendered_document(library_env: LibraryEnv) -> None:
    lib, org, ctype = library_env.lib, library_env.departments["land"], library_env.types["real_estate"]
    issued = issue_one(lib, org, sample_request(ctype, document="render"))
    cert = get_certificate(lib, issued.identifier)
    record = json.loads(cert.record)
    pdf = fetch_document(lib, issued.identifier)
    assert pdf.startswith(b"%PDF-")
    assert record["file"]["sha256"] == hashlib.sha256(pdf).hexdigest() == issued.document_sha256
    assert record["file"]["cid"] == cert.document_cid and record["file"]["encrypted"] is True
    stored = lib.ipfs.get(cert.document_cid)
    assert b"%PDF" not in stored and record["holder"].encode() not in stored  # only ciphertext leaves the service
    checks = verify_pdf(SealVerifier(lib.seal_registry()), pdf, issuer_code=org.uscc)
    assert all(c.status.value == "VALID" for c in checks), checks


def _plain_pdf() -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 720, "certificate scanned by the department")
    c.showPage()
    c.save()
    return buf.getvalue()


def test_issue_with_supplied_pdf_seals_it(library_env: LibraryEnv) -> None:
    lib, org, ctype = library_env.lib, library_env.departments["land"], library_env.types["real_estate"]
    supplied = _plain_pdf()
    issued = issue_one(lib, org, sample_request(ctype, document=base64.b64encode(supplied).decode()))
    pdf = fetch_document(lib, issued.identifier)
    assert pdf.startswith(supplied) and len(pdf) > len(supplied)  # a seal appended as an incremental update
    checks = verify_pdf(SealVerifier(lib.seal_registry()), pdf, issuer_code=org.uscc)
    assert all(c.status.value == "VALID" for c in checks), checks
    before = _counts(lib, org.id)
    with pytest.raises(BadInput) as e:  # already sealed: its seal field is taken
        issue_one(lib, org, sample_request(ctype, document=base64.b64encode(pdf).decode()))
    assert e.value.code == "pdf_not_sealable"
    assert _counts(lib, org.id) == before


def test_a_batch_of_documents_is_made_by_worker_processes(library_env: LibraryEnv) -> None:
    """Six documents go through the process pool; a sealed PDF among them is refused with its index."""
    lib, org, ctype = library_env.lib, library_env.departments["land"], library_env.types["real_estate"]
    supplied = base64.b64encode(_plain_pdf()).decode()
    requests = [sample_request(ctype, document="render") for _ in range(4)] + [sample_request(ctype, document=supplied)]
    issued = issue_many(lib, org, requests)
    verifier = SealVerifier(lib.seal_registry())
    for cert in issued:
        pdf = fetch_document(lib, cert.identifier)
        assert hashlib.sha256(pdf).hexdigest() == cert.document_sha256
        assert all(c.status.value == "VALID" for c in verify_pdf(verifier, pdf, issuer_code=org.uscc))
    sealed = base64.b64encode(fetch_document(lib, issued[-1].identifier)).decode()
    before = _counts(lib, org.id)
    with pytest.raises(BadInput) as e:
        issue_many(lib, org, [sample_request(ctype, document="render") for _ in range(4)]
                   + [sample_request(ctype, document=sealed)])
    assert e.value.code == "pdf_not_sealable" and e.value.details["index"] == 4
    assert _counts(lib, org.id) == before


@pytest.mark.parametrize(
    "change, code, error",
    [
        ({"type_code": "1143010000000000X1999"}, "type_code_invalid", BadInput),
        ({"type_code": None}, "type_code_invalid", BadInput),
        ({"fields": {"entity_type": "不存在的类型"}}, "field_invalid", BadInput),
        ({"fields": {}}, "field_missing", BadInput),
        ({"holder_id": "123"}, "field_invalid", BadInput),
        ({"issue_date": "2024-13-01"}, "field_invalid", BadInput),
        ({"colour": "red"}, "field_unknown", BadInput),
        ({"document": base64.b64encode(b"GIF89a not a pdf").decode()}, "pdf_not_pdf", BadInput),
        ({"document": "render-please"}, "document_invalid", BadInput),
    ],
)
def test_bad_input_stores_nothing(library_env: LibraryEnv, change: dict, code: str, error: type) -> None:
    lib, org, ctype = library_env.lib, library_env.departments["market"], library_env.types["business_licence"]
    before = _counts(lib, org.id)
    good = sample_request(ctype)
    bad = sample_request(ctype)
    if "fields" in change and change["fields"]:
        bad["fields"] = {**bad["fields"], **change["fields"]}
    else:
        bad.update(change)
    with pytest.raises(error) as e:
        issue_many(lib, org, [good, bad])
    assert e.value.code == code and e.value.details["index"] == 1 and "requests[1]" in e.value.message
    assert _counts(lib, org.id) == before


def test_unknown_type_and_other_departments_type(library_env: LibraryEnv) -> None:
    lib, market = library_env.lib, library_env.departments["market"]
    unknown = market.uscc + "998"
    with pytest.raises(BadInput) as e:
        issue_one(lib, market, sample_request(library_env.types["business_licence"], type_code=unknown))
    assert e.value.code == "type_code_unknown"
    with pytest.raises(Forbidden) as f:
        issue_one(lib, market, sample_request(library_env.types["real_estate"]))
    assert f.value.code == "type_not_issuable"
    with pytest.raises(Forbidden):
        issue_one(lib, library_env.idle, sample_request(library_env.types["business_licence"]))


def test_duplicate_numbers_are_refused(library_env: LibraryEnv) -> None:
    lib, org, ctype = library_env.lib, library_env.departments["market"], library_env.types["business_licence"]
    request = sample_request(ctype)
    issue_one(lib, org, request)
    before = _counts(lib, org.id)
    with pytest.raises(Conflict) as e:
        issue_many(lib, org, [sample_request(ctype), {**request, "holder": "另一个企业"}])
    assert e.value.code == "certificate_duplicate"
    twice = sample_request(ctype)
    with pytest.raises(Conflict) as e:
        issue_many(lib, org, [twice, dict(twice)])
    assert e.value.code == "certificate_duplicate" and e.value.details["index"] == 1
    assert _counts(lib, org.id) == before


def test_ipfs_failure_stores_nothing(library_env: LibraryEnv) -> None:
    """A dead IPFS node (a real fault: nothing listens on the port) fails the call; no certificate is kept."""
    lib, org, ctype = library_env.lib, library_env.departments["land"], library_env.types["real_estate"]
    broken = Library(lib.settings, lib.engine, lib.chain, lib.contract, IpfsStore("http://127.0.0.1:9", timeout=2),
                     lib.keyring, lib.seal_keystore)
    before = _counts(lib, org.id)
    with pytest.raises(ServiceUnavailable) as e:
        issue_many(broken, org, [sample_request(ctype), sample_request(ctype, document="render")])
    assert e.value.code == "ipfs_unavailable"
    assert _counts(lib, org.id) == before


def test_database_conflict_rolls_back_the_whole_call(library_env: LibraryEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """A duplicate that slips past the pre-check (a concurrent worker) is caught by the unique index: all or none."""
    import ledger.issue.issuance as issuance

    lib, org, ctype = library_env.lib, library_env.departments["market"], library_env.types["business_licence"]
    racing = sample_request(ctype)
    requests = [sample_request(ctype) for _ in range(5)] + [racing]
    real_check = issuance._refuse_existing

    def concurrent_issue_then_check(lib_: Library, org_: object, items: list) -> None:
        real_check(lib_, org_, items)
        monkeypatch.setattr(issuance, "_refuse_existing", real_check)
        issue_one(lib, org, racing)  # another worker wins the race after our pre-check

    monkeypatch.setattr(issuance, "_refuse_existing", concurrent_issue_then_check)
    before = _counts(lib, org.id)
    with pytest.raises(Conflict) as e:
        issue_many(lib, org, requests)
    assert e.value.code == "certificate_duplicate"
    assert _counts(lib, org.id) == (before[0] + 1, before[1] + 1)  # only the racing worker's certificate


def test_get_and_list(library_env: LibraryEnv) -> None:
    lib, org, ctype = library_env.lib, library_env.departments["hr"], library_env.types["skill"]
    issued = issue_many(lib, org, [sample_request(ctype) for _ in range(5)])
    page, cursor = list_certificates(lib, org.id, type_code=ctype.code, limit=3)
    assert [c.identifier for c in page] == [i.identifier for i in reversed(issued)][:3] and cursor is not None
    rest, _ = list_certificates(lib, org.id, type_code=ctype.code, limit=2, after_id=cursor)
    assert [c.identifier for c in rest] == [i.identifier for i in reversed(issued)][3:5]
    with pytest.raises(BadInput) as e:
        get_certificate(lib, issued[0].identifier[:-1] + ("0" if issued[0].identifier[-1] != "0" else "1"))
    assert e.value.code == "identifier_check_failed"
    with pytest.raises(BadInput):
        get_certificate(lib, "not-an-identifier")
    with pytest.raises(NotFound):
        fetch_document(lib, issued[0].identifier)


def test_serials_survive_a_failed_call(library_env: LibraryEnv) -> None:
    """Serials are reserved in their own transaction: a failed call leaves a gap, never a reused identifier."""
    lib, org, ctype = library_env.lib, library_env.departments["hr"], library_env.types["skill"]
    a = issue_one(lib, org, sample_request(ctype))
    with lib.sessions() as s:
        counters = s.execute(select(SerialCounter).where(SerialCounter.type_code == ctype.code)).scalars().all()
    assert counters and all(c.next_value > 1 for c in counters)
    b = issue_one(lib, org, sample_request(ctype))
    assert a.identifier != b.identifier
    with pytest.raises(CertledgerError):
        issue_many(lib, org, [])
