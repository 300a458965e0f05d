"""Verification fragments against the real Hardhat node: every tamper fails the fragment it should.

The first part builds certificates from the low-level pieces (fixture ``anchored``) and verifies them
with only a JSON-RPC URL; the second part goes through the library (issue, anchor, verify by
identifier, bundle and PDF) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime as dt
import hashlib
import io
import json
import time
from dataclasses import dataclass

import pytest
from eth_account import Account
from reportlab.pdfgen import canvas

from ledger.chain.client import ChainClient
from ledger.chain.contract import BatchKind, LedgerContract, OrgKind
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.checks import Status
from ledger.core.errors import BadInput, Conflict, NotFound
from ledger.core.identifiers import make_identifier
from ledger.core.record import file_reference, record_leaf
from ledger.core.statuses import LeafStatus
from ledger.core.uscc import derive_uscc
from ledger.devstack.launchers import free_port
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import fetch_document, issue_many, issue_one
from ledger.verify.bundle import load_bundle, pem_certificate
from ledger.verify.fragments import REQUIRED, Verifier
from ledger.verify.pdf import verify_pdf
from ledger.verify.service import (
    SERVICE_STATUS_MAX_AGE,
    service_verifier,
    verify_bundle,
    verify_identifier,
)
from ledger.verify.standalone import verifier_for_rpc, verify_bundle_standalone
from ledger.verify.stored import export_bundle
from ledger.verify.trust import TrustedDeployment
from signer.authority import SealAuthority
from signer.keystore import FileKeyStore
from signer.record_seal import Sealer
from tests.fixtures.anchored import AnchoredWorld
from tests.fixtures.library import LibraryEnv, sample_request
from tests.fixtures.merkle import tree_with_proofs

pytestmark = pytest.mark.chains("anvil", "hardhat", "besu")


def _verify(world: AnchoredWorld, bundle: dict, document: bytes | None = None, **kwargs):
    verifier = Verifier(world.contract, trust=kwargs.pop("trust", world.trust), **kwargs)
    return verifier.verify_bundle(load_bundle(bundle), document)


def _statuses(result) -> dict[str, Status]:
    return {c.name: c.status for c in result.checks}


def _failing(result) -> set[str]:
    return {c.name for c in result.checks if c.status is Status.INVALID}


def _with_seal(bundle: dict, seal: bytes) -> dict:
    out = copy.deepcopy(bundle)
    out["seal"]["der"] = base64.b64encode(seal).decode()
    return out


# ---------------------------------------------------------------------- valid


def test_anchored_certificate_verifies_valid_with_every_fragment(anchored: AnchoredWorld) -> None:
    bundle = anchored.batch("a", 3)[1]
    result = _verify(anchored, bundle)
    assert result.verdict is Status.VALID, result.to_dict()
    statuses = _statuses(result)
    for name in REQUIRED + ("seal_intact", "seal_chain", "seal_certificate_valid", "seal_signer_matches"):
        assert statuses[name] is Status.VALID, name
    assert statuses["document_digest"] is Status.SKIPPED
    assert result.check("seal").data["trust_root"] == "trust_list"
    assert result.check("anchor_on_chain").data["issuer"] == anchored.departments["a"].account.address
    assert result.certificate["identifier"] == bundle["identifier"]
    assert result.certificate["status"] == "01"
    assert result.to_dict()["verdict"] == "VALID"


def test_sm2_seal_verifies_valid(anchored: AnchoredWorld) -> None:
    bundle = anchored.batch("sm2", 2)[0]
    assert bundle["seal"]["format"] == "ses"
    result = _verify(anchored, bundle)
    assert result.verdict is Status.VALID, result.to_dict()
    assert result.check("seal_intact").data["format"] == "gbt38540"


def test_single_leaf_batch_has_empty_proof_and_verifies(anchored: AnchoredWorld) -> None:
    bundle = anchored.batch("a", 1)[0]
    assert bundle["proof"] == [] and bundle["leaf"] == bundle["root"]
    assert _verify(anchored, bundle).verdict is Status.VALID


def test_the_trust_lists_root_is_used_and_a_foreign_root_fails_the_seal_chain(
    anchored: AnchoredWorld, tmp_path
) -> None:
    bundle = anchored.batch("a", 2)[0]
    result = verifier_for_rpc(anchored.rpc_url, bundle["chain"]["contract"], anchored.trust).verify_bundle(
        load_bundle(bundle))
    assert result.verdict is Status.VALID
    assert result.check("seal").data["trust_root"] == "trust_list"
    other = SealAuthority.create(FileKeyStore(tmp_path, "pw"))
    foreign = dataclasses.replace(anchored.trust, seal_roots=(other.registry.root_der,))
    result = Verifier(anchored.contract, trust=foreign).verify_bundle(load_bundle(bundle))
    assert result.verdict is Status.INVALID
    assert result.check("seal_chain").reason == "issuer_signature_invalid"  # same root name, another key
    assert {"seal", "seal_chain"} <= _failing(result) <= {"seal", "seal_chain", "seal_certificate_valid"}


# ---------------------------------------------------------------------- tampers


def test_changed_field_fails_record_integrity_only(anchored: AnchoredWorld) -> None:
    bundle = copy.deepcopy(anchored.batch("a", 2)[0])
    bundle["record"]["holder"] = "李四"
    result = _verify(anchored, bundle)
    assert result.verdict is Status.INVALID
    assert result.check("record_integrity").reason == "leaf_mismatch"
    assert result.check("merkle_proof").status is Status.VALID
    # The seal covers the record too.
    assert result.check("seal_intact").reason == "digest_mismatch"
    assert _failing(result) == {"record_integrity", "seal", "seal_intact"}


def test_changed_field_with_recomputed_leaf_fails_merkle_proof(anchored: AnchoredWorld) -> None:
    bundle = copy.deepcopy(anchored.batch("a", 2)[0])
    bundle["record"]["fields"]["level"] = "一级"
    bundle["leaf"] = "0x" + record_leaf(bundle["record"]).hex()
    result = _verify(anchored, bundle)
    assert result.check("record_integrity").status is Status.VALID
    assert result.check("merkle_proof").reason == "proof_mismatch"
    assert result.verdict is Status.INVALID


def test_proof_for_another_root_fails_merkle_proof(anchored: AnchoredWorld) -> None:
    mine, other = anchored.batch("a", 3)[0], anchored.batch("a", 3)[2]
    bundle = copy.deepcopy(mine)
    bundle["root"], bundle["chain"] = other["root"], other["chain"]
    result = _verify(anchored, bundle)
    assert result.verdict is Status.INVALID
    assert result.check("merkle_proof").reason == "proof_mismatch"
    assert result.check("record_integrity").status is Status.VALID
    assert result.check("anchor_on_chain").status is Status.VALID  # that root is anchored, just not with this leaf


def test_leaf_from_another_batch_fails_merkle_proof(anchored: AnchoredWorld) -> None:
    mine, other = anchored.batch("a", 4)[1], anchored.batch("a", 4)[3]
    bundle = copy.deepcopy(mine)
    for key in ("identifier", "record", "seal", "leaf"):
        bundle[key] = copy.deepcopy(other[key])
    result = _verify(anchored, bundle)
    assert result.verdict is Status.INVALID
    assert result.check("record_integrity").status is Status.VALID
    assert result.check("seal").status is Status.VALID
    assert _failing(result) == {"merkle_proof"}


def test_root_anchored_by_an_association_fails_anchor_on_chain(anchored: AnchoredWorld) -> None:
    """The root is looked for under the accounts of the record's department only: an association's anchor of it
    is not the department's."""
    dept = anchored.departments["a"]
    records = [anchored.record(dept) for _ in range(2)]
    bundle = anchored.anchor(records, dept.sealer.seal_records(records), account=anchored.association,
                             kind=BatchKind.REPORT_SUMMARIES)[0]
    result = _verify(anchored, bundle)
    assert result.verdict is Status.INVALID
    assert result.check("merkle_proof").status is Status.VALID
    assert result.check("anchor_on_chain").reason == "root_not_anchored"
    assert result.check("anchor_issuer").status is Status.SKIPPED


def test_unanchored_root_fails_anchor_on_chain(anchored: AnchoredWorld) -> None:
    dept = anchored.departments["a"]
    records = [anchored.record(dept) for _ in range(3)]
    bundle = anchored.anchor(records, dept.sealer.seal_records(records), account=dept.account, anchor=False)[2]
    result = _verify(anchored, bundle)
    assert result.verdict is Status.INVALID
    assert result.check("anchor_on_chain").reason == "root_not_anchored"
    assert result.check("status").status is Status.SKIPPED


def test_root_anchored_by_another_department_fails_anchor_on_chain(anchored: AnchoredWorld) -> None:
    a, b = anchored.departments["a"], anchored.departments["b"]
    records = [anchored.record(a) for _ in range(2)]
    bundle = anchored.anchor(records, a.sealer.seal_records(records), account=b.account)[0]
    result = _verify(anchored, bundle)
    assert result.verdict is Status.INVALID
    assert result.check("anchor_on_chain").reason == "root_not_anchored"
    assert _failing(result) == {"anchor_on_chain"}


def test_seal_of_another_department_fails_seal_and_anchor_issuer(anchored: AnchoredWorld) -> None:
    bundle = anchored.batch("a", 2)[0]
    forged = _with_seal(bundle, anchored.departments["b"].sealer.seal_records([bundle["record"]])[0])
    result = _verify(anchored, forged)
    assert result.verdict is Status.INVALID
    assert result.check("seal_intact").status is Status.VALID
    assert result.check("seal_signer_matches").reason == "department_mismatch"
    assert result.check("seal").reason == "department_mismatch"
    assert result.check("anchor_issuer").reason == "seal_not_current"


def test_seal_under_a_forged_root_fails_the_seal_chain_and_anchor_issuer(anchored: AnchoredWorld, tmp_path) -> None:
    """The bundle's own root is never trusted: a forger's root and seal certificate for the same department fail
    the seal chain against the trust list's root, and their fingerprint is not the one anchored on chain."""
    bundle = anchored.batch("a", 2)[0]
    dept = anchored.departments["a"]
    keystore = FileKeyStore(tmp_path, "pw")
    forger = SealAuthority.create(keystore)
    info = forger.issue_seal(dept.name, dept.code)
    forged = _with_seal(bundle, Sealer(keystore.get(info.key_id), info.der).seal_records([bundle["record"]])[0])
    forged["trust"]["city_root_pem"] = pem_certificate(forger.registry.root_der)
    forged["trust"]["seal_certificate_pem"] = pem_certificate(info.der)
    result = _verify(anchored, forged)
    assert result.check("seal_chain").reason == "issuer_signature_invalid"  # same root name, another key
    assert result.check("anchor_issuer").reason == "seal_not_current"
    assert result.verdict is Status.INVALID


def test_changed_seal_byte_fails_seal_intact(anchored: AnchoredWorld) -> None:
    bundle = anchored.batch("a", 2)[0]
    seal = bytearray(base64.b64decode(bundle["seal"]["der"]))
    seal[-5] ^= 0x01
    result = _verify(anchored, _with_seal(bundle, bytes(seal)))
    assert result.verdict is Status.INVALID
    assert result.check("seal_intact").status is Status.INVALID


def test_bundle_lying_about_the_anchor_block_fails_anchor_on_chain(anchored: AnchoredWorld) -> None:
    bundle = copy.deepcopy(anchored.batch("a", 2)[0])
    bundle["chain"]["block_number"] += 1
    assert _verify(anchored, bundle).check("anchor_on_chain").reason == "anchor_mismatch"


def test_chain_and_contract_not_on_the_trust_list_fail_anchor_on_chain(anchored: AnchoredWorld) -> None:
    bundle = anchored.batch("a", 2)[0]
    other_chain = copy.deepcopy(bundle)
    other_chain["chain"]["chain_id"] = 1
    result = _verify(anchored, other_chain)
    assert result.check("anchor_on_chain").reason == "untrusted_chain"
    assert result.verdict is Status.INVALID
    on_another_node = dataclasses.replace(anchored.trust, chain_id=anchored.trust.chain_id + 1)
    assert _verify(anchored, bundle, trust=on_another_node).check("anchor_on_chain").reason == "untrusted_chain"
    look_alike = copy.deepcopy(bundle)
    look_alike["chain"]["contract"] = Account.create().address
    result = verifier_for_rpc(anchored.rpc_url, look_alike["chain"]["contract"], anchored.trust).verify_bundle(
        load_bundle(look_alike))
    assert result.check("anchor_on_chain").reason == "untrusted_contract"
    assert result.verdict is Status.INVALID


def test_contract_without_code_fails_anchor_on_chain(anchored: AnchoredWorld) -> None:
    bundle = copy.deepcopy(anchored.batch("a", 2)[0])
    bundle["chain"]["contract"] = Account.create().address
    trust = dataclasses.replace(anchored.trust, deployments=(TrustedDeployment(bundle["chain"]["contract"], 0),))
    result = verifier_for_rpc(anchored.rpc_url, bundle["chain"]["contract"], trust).verify_bundle(load_bundle(bundle))
    assert result.check("anchor_on_chain").reason == "contract_not_found"
    assert result.verdict is Status.INVALID


def test_unreachable_node_gives_error_not_invalid(anchored: AnchoredWorld) -> None:
    bundle = anchored.batch("a", 2)[0]
    dead = LedgerContract(ChainClient(f"http://127.0.0.1:{free_port()}"), anchored.contract.address)
    result = Verifier(dead, trust=anchored.trust).verify_bundle(load_bundle(bundle))
    assert result.check("anchor_on_chain").status is Status.ERROR
    assert result.check("anchor_on_chain").reason == "chain_unreachable"
    assert result.verdict is Status.ERROR


# ---------------------------------------------------------------------- status, validity, document


def test_revoked_certificate_fails_status_and_cached_status_expires(anchored: AnchoredWorld) -> None:
    bundle = anchored.batch("a", 2)[0]
    cached = Verifier(anchored.contract, trust=anchored.trust, status_max_age=300)
    assert cached.verify_bundle(load_bundle(bundle)).verdict is Status.VALID
    anchored.contract.set_status(anchored.departments["a"].account, bundle["root"], bundle["leaf"], LeafStatus.REVOKED)
    # Within the status cache's age the service may answer from cache; a fresh read sees the revocation.
    assert cached.verify_bundle(load_bundle(bundle)).check("status").status is Status.VALID
    result = _verify(anchored, bundle)
    assert result.verdict is Status.INVALID
    assert result.check("status").reason == "revoked"
    assert result.check("status").data["code"] == "03"
    assert result.certificate["status"] == "03"


def test_cached_status_follows_status_events(anchored: AnchoredWorld) -> None:
    bundles = anchored.batch("a", 3)
    verifier = Verifier(anchored.contract, trust=anchored.trust, status_max_age=0.2)
    for b in bundles:
        assert verifier.verify_bundle(load_bundle(b)).verdict is Status.VALID
    anchored.contract.set_status(anchored.departments["a"].account, bundles[1]["root"], bundles[1]["leaf"],
                                 LeafStatus.SUSPENDED)
    time.sleep(0.3)
    results = [verifier.verify_bundle(load_bundle(b)) for b in bundles]
    assert [r.check("status").reason for r in results] == ["valid", "suspended", "valid"]


def test_superseded_certificate_names_the_current_version(anchored: AnchoredWorld) -> None:
    old, new = anchored.batch("a", 2)
    anchored.contract.set_status(anchored.departments["a"].account, old["root"], old["leaf"], LeafStatus.SUPERSEDED)
    result = _verify(anchored, old, successor={old["identifier"]: new["identifier"]}.get)
    assert result.check("status").reason == "superseded"
    assert result.check("status").data["current_version"] == new["identifier"]
    assert new["identifier"] in result.check("status").message


@pytest.mark.parametrize(
    ("offsets", "reason"),
    [((-800, -400), "expired"), ((10, 400), "not_yet_valid"), ((-10, None), "long_term")],
)
def test_validity_period(anchored: AnchoredWorld, offsets, reason) -> None:
    today = dt.date.today()
    start, end = (today + dt.timedelta(days=o) if o is not None else None for o in offsets)
    bundle = anchored.batch("a", 1, valid_from=start.isoformat(), valid_until=end and end.isoformat())[0]
    result = _verify(anchored, bundle)
    assert result.check("validity_period").reason == reason
    assert result.verdict is (Status.VALID if reason == "long_term" else Status.INVALID)


def test_validity_uses_the_given_time(anchored: AnchoredWorld) -> None:
    bundle = anchored.batch("a", 1)[0]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=800)
    assert _verify(anchored, bundle, now=later).check("validity_period").reason == "expired"


def test_document_digest_valid_and_swapped(anchored: AnchoredWorld) -> None:
    document = b"%PDF-1.7 the issued document"
    digest = hashlib.sha256(document).hexdigest()
    file = file_reference("bafkreitest", digest, len(document), encrypted=True)
    bundle = anchored.batch("a", 2, file=file)[0]
    assert bundle["document"] == {"cid": "bafkreitest", "sha256": digest}
    result = _verify(anchored, bundle, document)
    assert result.verdict is Status.VALID
    assert result.check("document_digest").status is Status.VALID
    swapped = _verify(anchored, bundle, b"%PDF-1.7 another document")
    assert swapped.verdict is Status.INVALID
    assert _failing(swapped) == {"document_digest"}
    assert swapped.check("document_digest").reason == "digest_mismatch"


def test_document_for_a_record_without_one_is_invalid(anchored: AnchoredWorld) -> None:
    bundle = anchored.batch("a", 1)[0]
    result = _verify(anchored, bundle, b"%PDF-1.7 x")
    assert result.check("document_digest").reason == "record_has_no_document"


# ---------------------------------------------------------------------- seals over time


def test_records_sealed_before_a_seal_rotation_still_verify_and_the_rotated_out_seal_anchors_nothing(
        anchored: AnchoredWorld) -> None:
    dept = anchored.department("rotating", "市测试局丁")
    before = anchored.batch("rotating", 2)[0]
    old_sealer = dept.sealer
    info = anchored.authority.rotate_seal(dept.code)
    anchored.contract.rotate_seal(anchored.admin, dept.account.address, hashlib.sha256(info.der).digest())
    dept.sealer = anchored.sealer_for(info)
    after = anchored.batch("rotating", 2)[1]
    verifier = Verifier(anchored.contract, trust=anchored.trust)
    for bundle in (before, after):
        result = verifier.verify_bundle(load_bundle(bundle))
        assert result.verdict is Status.VALID, result.to_dict()
    assert (verifier.verify_bundle(load_bundle(before)).check("anchor_issuer").data["anchor_seal_fingerprint"]
            != verifier.verify_bundle(load_bundle(after)).check("anchor_issuer").data["anchor_seal_fingerprint"])
    # sealed with the former seal but anchored after the rotation: the anchor carries the new seal
    records = [anchored.record(dept) for _ in range(2)]
    late = anchored.anchor(records, old_sealer.seal_records(records), account=dept.account)[0]
    result = verifier.verify_bundle(load_bundle(late))
    assert result.check("anchor_issuer").reason == "seal_not_current"
    assert result.verdict is Status.INVALID


def test_revoked_seal_applies_through_the_registry(anchored: AnchoredWorld) -> None:
    bundle = anchored.batch("a", 1)[0]
    registry = copy.deepcopy(anchored.authority.registry)
    registry.revoke(anchored.departments["a"].seal.serial, dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    result = _verify(anchored, bundle, seal_registry=registry)
    assert result.check("seal_certificate_valid").reason == "signed_after_compromise"
    assert result.verdict is Status.INVALID



# ---------------------------------------------------------------------- through the library (SQLite, PostgreSQL)


@dataclass
class Issued:
    first: list[str]  # market, batch 1 (no documents)
    second: list[str]  # market, batch 2
    with_pdf: list[str]  # market, rendered and sealed PDFs
    land: str
    queued: str  # issued, never anchored


@pytest.fixture(scope="module")
def issued(library_env: LibraryEnv) -> Issued:
    lib, market, land = library_env.lib, library_env.departments["market"], library_env.departments["land"]
    licence, estate = library_env.types["business_licence"], library_env.types["real_estate"]
    anchorer = Anchorer(lib)
    first = issue_many(lib, market, [sample_request(licence) for _ in range(4)])
    with_pdf = issue_many(lib, market, [sample_request(licence, document="render") for _ in range(2)])
    land_cert = issue_one(lib, land, sample_request(estate))
    anchorer.run_once(force=True)
    second = issue_many(lib, market, [sample_request(licence) for _ in range(3)])
    anchorer.run_once(force=True)
    queued = issue_one(lib, market, sample_request(licence))
    return Issued([c.identifier for c in first], [c.identifier for c in second],
                  [c.identifier for c in with_pdf], land_cert.identifier, queued.identifier)


def test_issued_and_anchored_certificate_verifies_by_identifier(library_env: LibraryEnv, issued: Issued) -> None:
    result = verify_identifier(library_env.lib, issued.first[0])
    assert result.verdict is Status.VALID, result.to_dict()
    assert result.check("seal").data["trust_root"] == "registry"
    assert result.check("anchor_on_chain").data["issuer"] == library_env.departments["market"].chain_address
    assert result.certificate["identifier"] == issued.first[0]
    assert verify_identifier(library_env.lib, issued.land).verdict is Status.VALID


def test_queued_certificate_is_pending_not_invalid(library_env: LibraryEnv, issued: Issued) -> None:
    result = verify_identifier(library_env.lib, issued.queued)
    assert result.check("record_integrity").status is Status.VALID
    assert result.check("seal").status is Status.VALID
    assert result.check("anchor_on_chain").reason == "not_yet_anchored"
    assert result.verdict is Status.PENDING
    expected = dt.datetime.fromisoformat(result.certificate["expected_anchoring_by"])
    assert expected == dt.datetime.fromisoformat(result.check("anchor_on_chain").data["expected_anchoring_by"])
    assert expected > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with pytest.raises(Conflict) as e:
        export_bundle(library_env.lib, issued.queued)
    assert e.value.code == "certificate_not_anchored"


def test_bad_identifiers(library_env: LibraryEnv, issued: Issued) -> None:
    with pytest.raises(BadInput) as e:
        verify_identifier(library_env.lib, "1.2.156.3005.2.nonsense")
    assert e.value.code == "identifier_malformed"
    ident = issued.first[0]
    with pytest.raises(BadInput) as e:
        verify_identifier(library_env.lib, ident[:-1] + ("A" if ident[-1] != "A" else "B"))
    assert e.value.code == "identifier_check_failed"
    unknown = make_identifier(library_env.types["business_licence"].code,
                              library_env.departments["market"].uscc, "20249999999", 1)
    with pytest.raises(NotFound) as e:
        verify_identifier(library_env.lib, unknown)
    assert e.value.code == "certificate_not_found"


def test_exported_bundle_verifies_standalone_with_only_the_rpc_url(library_env: LibraryEnv, issued: Issued) -> None:
    bundle = json.loads(json.dumps(export_bundle(library_env.lib, issued.second[1])))
    assert bundle["chain"]["tx_hash"] and bundle["document"] is None
    result = verify_bundle_standalone(bundle, library_env.env["CERTLEDGER_RPC_URL"], library_env.trust())
    assert result.verdict is Status.VALID, result.to_dict()
    assert verify_bundle(library_env.lib, json.dumps(bundle)).verdict is Status.VALID


def _tampers(lib, issued: Issued, library_env: LibraryEnv) -> dict[str, tuple[dict, str, str]]:
    """name -> (tampered bundle, fragment that must fail, its reason)."""
    mine = export_bundle(lib, issued.first[1])
    same_batch = export_bundle(lib, issued.first[2])
    other_batch = export_bundle(lib, issued.second[0])
    out: dict[str, tuple[dict, str, str]] = {}

    changed = copy.deepcopy(mine)
    changed["record"]["number"] = "FORGED-1"
    out["changed field"] = (changed, "record_integrity", "leaf_mismatch")

    another_root = copy.deepcopy(mine)
    another_root["root"], another_root["chain"] = other_batch["root"], other_batch["chain"]
    out["proof for another root"] = (another_root, "merkle_proof", "proof_mismatch")

    other_leaf = copy.deepcopy(mine)
    for key in ("identifier", "record", "seal", "leaf"):
        other_leaf[key] = other_batch[key]
    out["leaf from another batch"] = (other_leaf, "merkle_proof", "proof_mismatch")

    sibling_proof = copy.deepcopy(mine)
    sibling_proof["proof"] = same_batch["proof"]
    out["proof of another leaf"] = (sibling_proof, "merkle_proof", "proof_mismatch")

    association = Account.create()
    lib.contract.register_organization(lib.admin_account(), association.address, OrgKind.ASSOCIATION,
                                       derive_uscc(f"assoc:{association.address}", division=CITY_DIVISION), b"\x02" * 32)
    leaves = [bytes.fromhex(mine["leaf"][2:]), hashlib.sha256(association.address.encode()).digest()]
    tree, proofs = tree_with_proofs(leaves)
    lib.contract.anchor(association, tree.root, 2, BatchKind.REPORT_SUMMARIES)
    by_association = copy.deepcopy(mine)
    by_association["root"] = "0x" + tree.root.hex()
    by_association["proof"] = ["0x" + p.hex() for p in proofs[0]]
    out["root anchored by a non-issuer"] = (by_association, "anchor_on_chain", "root_not_anchored")

    unanchored = copy.deepcopy(by_association)
    unanchored_tree, unanchored_proofs = tree_with_proofs([leaves[0], b"\x07" * 32])
    unanchored["root"] = "0x" + unanchored_tree.root.hex()
    unanchored["proof"] = ["0x" + p.hex() for p in unanchored_proofs[0]]
    out["unanchored root"] = (unanchored, "anchor_on_chain", "root_not_anchored")

    land = library_env.departments["land"]
    other_seal = copy.deepcopy(mine)
    other_seal["seal"]["der"] = base64.b64encode(lib.sealer(land.id).seal_records([mine["record"]])[0]).decode()
    out["seal of another department"] = (other_seal, "seal", "department_mismatch")
    return out


def test_each_tamper_fails_its_fragment(library_env: LibraryEnv, issued: Issued) -> None:
    lib = library_env.lib
    for name, (bundle, fragment, reason) in _tampers(lib, issued, library_env).items():
        result = verify_bundle(lib, bundle)
        assert result.verdict is Status.INVALID, name
        assert result.check(fragment).status is Status.INVALID, (name, result.to_dict())
        assert result.check(fragment).reason == reason, (name, result.check(fragment))
        # The standalone verifier reaches the same verdict with only the chain node.
        standalone = verify_bundle_standalone(bundle, library_env.env["CERTLEDGER_RPC_URL"], library_env.trust())
        assert standalone.check(fragment).status is Status.INVALID, name


def test_seal_of_another_department_also_fails_anchor_issuer(library_env: LibraryEnv, issued: Issued) -> None:
    lib = library_env.lib
    bundle = export_bundle(lib, issued.first[3])
    land = library_env.departments["land"]
    bundle["seal"]["der"] = base64.b64encode(lib.sealer(land.id).seal_records([bundle["record"]])[0]).decode()
    assert verify_bundle(lib, bundle).check("anchor_issuer").reason == "seal_not_current"


def test_sealed_pdf_verifies_and_a_swapped_document_does_not(library_env: LibraryEnv, issued: Issued) -> None:
    lib = library_env.lib
    pdf, other_pdf = (fetch_document(lib, ident) for ident in issued.with_pdf)
    result = verify_pdf(lib, pdf)
    assert result.verdict is Status.VALID, result.to_dict()
    assert result.certificate["identifier"] == issued.with_pdf[0]
    assert result.check("document_digest").status is Status.VALID
    assert result.check("document_seal").status is Status.VALID
    swapped = verify_bundle(lib, export_bundle(lib, issued.with_pdf[0]), document=other_pdf)
    assert swapped.verdict is Status.INVALID
    assert swapped.check("document_digest").reason == "digest_mismatch"
    changed = verify_pdf(lib, pdf + b"\n%changed after sealing\n")
    assert changed.verdict is Status.INVALID
    assert changed.check("document_digest").reason == "digest_mismatch"


def test_pdf_inputs_that_name_no_certificate(library_env: LibraryEnv) -> None:
    with pytest.raises(BadInput) as e:
        verify_pdf(library_env.lib, b"GIF89a not a pdf")
    assert e.value.code == "pdf_not_pdf"
    buf = io.BytesIO()
    page = canvas.Canvas(buf)
    page.drawString(100, 100, "no identifier here")
    page.save()
    with pytest.raises(NotFound) as e:
        verify_pdf(library_env.lib, buf.getvalue())
    assert e.value.code == "pdf_certificate_unknown"


def test_revoked_on_chain_fails_status(library_env: LibraryEnv, issued: Issued) -> None:
    lib = library_env.lib
    bundle = export_bundle(lib, issued.second[2])
    market = library_env.departments["market"]
    lib.contract.set_status(lib.org_account(market), bundle["root"], bundle["leaf"], LeafStatus.REVOKED)
    time.sleep(SERVICE_STATUS_MAX_AGE + 0.2)  # the service shows a status change within that age
    result = verify_identifier(lib, issued.second[2])
    assert result.check("status").reason == "revoked"
    assert result.verdict is Status.INVALID


def test_verified_the_moment_it_is_issued_pending_then_valid_after_the_anchor(library_env: LibraryEnv) -> None:
    lib, market = library_env.lib, library_env.departments["market"]
    identifier = issue_one(lib, market, sample_request(library_env.types["business_licence"])).identifier
    assert verify_identifier(lib, identifier).verdict is Status.PENDING
    Anchorer(lib).run_once(force=True)
    assert verify_identifier(lib, identifier).verdict is Status.VALID


def test_an_expired_certificate_shows_status_05_as_everywhere(library_env: LibraryEnv,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    lib, market = library_env.lib, library_env.departments["market"]
    identifier = issue_one(lib, market, sample_request(library_env.types["business_licence"],
                                                      valid_until="2027-06-30")).identifier
    Anchorer(lib).run_once(force=True)
    assert verify_identifier(lib, identifier).certificate["status"] == "01"
    verifier = service_verifier(lib)
    monkeypatch.setattr(verifier, "today", lambda: dt.date(2027, 7, 1))
    result = verify_identifier(lib, identifier)
    assert result.verdict is Status.INVALID and result.check("validity_period").reason == "expired"
    assert result.check("status").data["code"] == "01"  # on chain it stays 01; expiry is never stored
    assert result.certificate["status"] == "05"  # shown as the department's and the holder's views show it
