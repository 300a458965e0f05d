"""The JavaScript verifier (verifier-js/) and the Python one agree on every tamper case (issue 14 item 4).

Genuine bundles are built on the session's real chain (fixture ``anchored``), tampered as tests/test_verification.py,
tests/test_bundle.py and tests/api/test_trust.py tamper them (changed field, wrong proofs and roots, roots anchored
by another account or not at all, another department's seal, a forged root and contract, a changed seal byte,
untrusted chains and contracts, a contract without code, statuses, validity periods, a rotated-out seal, a
compromised seal before and after its compromise, a document, an unreachable node), and each is verified by the
standalone Python verifier and by ``node verifier-js/bin/certledger-verify.js --json``: the verdict and every
check's name, status and reason must be equal. verifier-js's own unit tests (``node --test``) run here too.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime as dt
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from ledger.chain.client import ChainClient
from ledger.chain.contract import BatchKind, LedgerContract, OrgKind
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.errors import BadInput
from ledger.core.record import REPORT_FORMAT, file_reference, new_salt, record_leaf
from ledger.core.statuses import LeafStatus
from ledger.core.uscc import derive_uscc
from ledger.devstack.launchers import free_port
from ledger.verify.bundle import build_bundle, load_bundle, pem_certificate
from ledger.verify.fragments import Verifier
from ledger.verify.public_proof import public_proof_of
from ledger.verify.public_proof_checks import verify_checked
from ledger.verify.trust import TrustedDeployment, TrustList, load_trust_list, seal_trust_list
from signer.authority import ROOT_KEY_ID, SealAuthority
from signer.keystore import FileKeyStore
from signer.record_seal import Sealer
from tests.fixtures.anchored import AnchoredWorld
from tests.fixtures.merkle import tree_with_proofs

VERIFIER_JS = Path(__file__).resolve().parents[1] / "verifier-js"
CLI = VERIFIER_JS / "bin" / "certledger-verify.js"

pytestmark = pytest.mark.skipif(not (VERIFIER_JS / "node_modules").is_dir() or shutil.which("node") is None,
                                reason="verifier-js needs node and its npm dependencies (./dev setup)")

Cases = dict[str, dict[str, Any]]


def _sealed(world: AnchoredWorld, trust: TrustList) -> dict[str, Any]:
    return seal_trust_list(trust.body(), world.keystore.get(ROOT_KEY_ID), world.authority.registry.root_der)


def _python(world: AnchoredWorld, bundle: dict[str, Any], trust: TrustList, rpc_url: str,
            document: bytes | None) -> dict[str, Any]:
    """The standalone Python verifier, fresh for each case (nothing remembered between cases)."""
    contract = LedgerContract(ChainClient(rpc_url), bundle["chain"]["contract"])
    return verify_checked(Verifier(contract, None, trust), load_bundle(bundle), document).to_dict()


def _javascript(cases: Cases, trust_doc: dict[str, Any], rpc_url: str, tmp_path: Path,
                document: bytes | None) -> list[dict[str, Any]]:
    """One node process verifies every case (--json: one result per line)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    trust_file = tmp_path / "trust.json"
    trust_file.write_text(json.dumps(trust_doc), encoding="utf-8")
    files = []
    for i, bundle in enumerate(cases.values()):
        files.append(tmp_path / f"case-{i}.json")
        files[-1].write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    args = ["node", str(CLI), "--rpc", rpc_url, "--trust", str(trust_file), "--json", *map(str, files)]
    if document is not None:
        (tmp_path / "document.pdf").write_bytes(document)
        args += ["--document", str(tmp_path / "document.pdf")]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def _shape(result: dict[str, Any]) -> tuple[str, list[tuple[str, str, str]]]:
    return result["verdict"], [(c["name"], c["status"], c["reason"]) for c in result["checks"]]


def _agree(world: AnchoredWorld, cases: Cases, tmp_path: Path, *, trust: TrustList | None = None,
           rpc_url: str | None = None, document: bytes | None = None) -> dict[str, tuple]:
    """Both verifiers on every case; asserts they agree and returns the shared (verdict, checks) by case."""
    trust = trust or world.trust
    rpc_url = rpc_url or world.rpc_url
    loaded = load_trust_list(json.dumps(_sealed(world, trust)))
    js = _javascript(cases, _sealed(world, trust), rpc_url, tmp_path, document)
    assert len(js) == len(cases)
    out = {}
    for (name, bundle), js_result in zip(cases.items(), js, strict=True):
        py = _shape(_python(world, bundle, loaded, rpc_url, document))
        assert _shape(js_result) == py, name
        out[name] = py
    return out


def _failed(shape: tuple) -> dict[str, str]:
    return {name: reason for name, status, reason in shape[1] if status == "INVALID"}


def _with_seal(bundle: dict[str, Any], seal: bytes) -> dict[str, Any]:
    out = copy.deepcopy(bundle)
    out["seal"]["der"] = base64.b64encode(seal).decode()
    return out


def _tampers(world: AnchoredWorld, tmp_path: Path) -> Cases:
    """Every tamper of tests/test_verification.py and tests/api/test_trust.py that a bundle alone can carry."""
    a, b = world.departments["a"], world.departments["b"]
    batch = world.batch("a", 3)
    other = world.batch("a", 3)
    cases: Cases = {"genuine": batch[0], "genuine sm2": world.batch("sm2", 2)[0], "single leaf": world.batch("a", 1)[0]}

    changed = copy.deepcopy(batch[0])
    changed["record"]["holder"] = "李四"
    cases["changed field"] = changed
    recomputed = copy.deepcopy(batch[0])
    recomputed["record"]["fields"]["level"] = "一级"
    recomputed["leaf"] = "0x" + record_leaf(recomputed["record"]).hex()
    cases["changed field, leaf recomputed"] = recomputed
    another_root = copy.deepcopy(batch[0])
    another_root["root"], another_root["chain"] = other[2]["root"], other[2]["chain"]
    cases["proof for another root"] = another_root
    other_leaf = copy.deepcopy(batch[1])
    for key in ("identifier", "record", "seal", "leaf"):
        other_leaf[key] = copy.deepcopy(other[0][key])
    cases["leaf from another batch"] = other_leaf
    sibling = copy.deepcopy(batch[0])
    sibling["proof"] = batch[1]["proof"]
    cases["proof of another leaf"] = sibling

    records = [world.record(a) for _ in range(2)]
    cases["root anchored by an association"] = world.anchor(records, a.sealer.seal_records(records),
                                                            account=world.association,
                                                            kind=BatchKind.REPORT_SUMMARIES)[0]
    records = [world.record(a) for _ in range(2)]
    cases["unanchored root"] = world.anchor(records, a.sealer.seal_records(records), account=a.account, anchor=False)[1]
    records = [world.record(a) for _ in range(2)]
    cases["root anchored by another department"] = world.anchor(records, a.sealer.seal_records(records),
                                                                account=b.account)[0]
    cases["seal of another department"] = _with_seal(batch[0], b.sealer.seal_records([batch[0]["record"]])[0])

    keystore = FileKeyStore(tmp_path / "forger", "pw")
    forger = SealAuthority.create(keystore)
    info = forger.issue_seal(a.name, a.code)
    forged = _with_seal(batch[0], Sealer(keystore.get(info.key_id), info.der).seal_records([batch[0]["record"]])[0])
    forged["trust"]["city_root_pem"] = pem_certificate(forger.registry.root_der)
    forged["trust"]["seal_certificate_pem"] = pem_certificate(info.der)
    cases["seal under a forged root"] = forged
    cases["forged contract"] = _forged_contract(world, a, forger, keystore, info)
    cases["forged contract renamed to the genuine one"] = {
        **cases["forged contract"], "chain": {**cases["forged contract"]["chain"], "contract": world.contract.address}}

    seal = bytearray(base64.b64decode(batch[0]["seal"]["der"]))
    seal[-5] ^= 0x01
    cases["changed seal byte"] = _with_seal(batch[0], bytes(seal))
    lying = copy.deepcopy(batch[0])
    lying["chain"]["block_number"] += 1
    cases["lying about the anchor block"] = lying
    other_chain = copy.deepcopy(batch[0])
    other_chain["chain"]["chain_id"] = 1
    cases["bundle of another chain"] = other_chain
    look_alike = copy.deepcopy(batch[0])
    look_alike["chain"]["contract"] = Account.create().address
    cases["look-alike contract"] = look_alike

    today = dt.date.today()
    for name, start, end in (("expired", -800, -400), ("not yet valid", 10, 400), ("long term", -10, None)):
        cases[name] = world.batch("a", 1, valid_from=(today + dt.timedelta(days=start)).isoformat(),
                                  valid_until=end and (today + dt.timedelta(days=end)).isoformat())[0]
    statuses = world.batch("a", 4)
    for bundle, status in zip(statuses, (LeafStatus.REVOKED, LeafStatus.SUSPENDED, LeafStatus.SUPERSEDED,
                                         LeafStatus.WITHDRAWN), strict=True):
        world.contract.set_status(a.account, bundle["root"], bundle["leaf"], status)
        cases[f"status {status.name.lower()}"] = bundle
    return cases


def _forged_contract(world: AnchoredWorld, dept, forger: SealAuthority, keystore: FileKeyStore, info) -> dict[str, Any]:
    """tests/api/test_trust.py's forgery: a look-alike CertLedger, the real department's credit code registered on
    it with a seal of a self-made root, a forged record anchored there."""
    outsider, account = Account.create(), Account.create()
    contract, _ = LedgerContract.deploy(world.contract.client, outsider)
    contract.register_organization(outsider, account.address, OrgKind.DEPARTMENT, dept.code,
                                   hashlib.sha256(info.der).digest())
    record = world.record(dept, holder="伪造科技有限公司", number="FORGED-0001")
    leaves = [record_leaf(record), hashlib.sha256(b"padding").digest()]
    tree, proofs = tree_with_proofs(leaves)
    tx = contract.anchor(account, tree.root, 2, BatchKind.CERTIFICATES)
    return build_bundle(record=record, seal=Sealer(keystore.get(info.key_id), info.der).seal_records([record])[0],
                        leaf=leaves[0], root=tree.root, proof=proofs[0], chain_id=contract.client.chain_id,
                        contract=contract.address, tx_hash=bytes.fromhex(tx.tx_hash[2:]), block_number=tx.block_number,
                        anchored_at=dt.datetime.fromtimestamp(tx.block_time, dt.UTC),
                        city_root_der=forger.registry.root_der)


def test_both_verifiers_agree_on_every_tamper(anchored: AnchoredWorld, tmp_path: Path) -> None:
    agreed = _agree(anchored, _tampers(anchored, tmp_path), tmp_path)
    assert agreed["genuine"][0] == agreed["genuine sm2"][0] == agreed["single leaf"][0] == "VALID"
    expected = {
        "changed field": {"record_integrity": "leaf_mismatch", "seal_intact": "digest_mismatch"},
        "changed field, leaf recomputed": {"merkle_proof": "proof_mismatch"},
        "proof for another root": {"merkle_proof": "proof_mismatch"},
        "leaf from another batch": {"merkle_proof": "proof_mismatch"},
        "proof of another leaf": {"merkle_proof": "proof_mismatch"},
        "root anchored by an association": {"anchor_on_chain": "root_not_anchored"},
        "unanchored root": {"anchor_on_chain": "root_not_anchored"},
        "root anchored by another department": {"anchor_on_chain": "root_not_anchored"},
        "seal of another department": {"seal_signer_matches": "department_mismatch", "anchor_issuer": "seal_not_current"},
        "seal under a forged root": {"seal_chain": "issuer_signature_invalid", "anchor_issuer": "seal_not_current"},
        "forged contract": {"anchor_on_chain": "untrusted_contract"},
        "forged contract renamed to the genuine one": {"anchor_on_chain": "root_not_anchored",
                                                       "seal_chain": "issuer_signature_invalid"},
        "changed seal byte": {"seal_intact": "signature_invalid"},
        "lying about the anchor block": {"anchor_on_chain": "anchor_mismatch"},
        "bundle of another chain": {"anchor_on_chain": "untrusted_chain"},
        "look-alike contract": {"anchor_on_chain": "untrusted_contract"},
        "expired": {"validity_period": "expired"},
        "not yet valid": {"validity_period": "not_yet_valid"},
        "status revoked": {"status": "revoked"},
        "status suspended": {"status": "suspended"},
        "status superseded": {"status": "superseded"},
        "status withdrawn": {"status": "withdrawn"},
    }
    for name, failing in expected.items():
        assert agreed[name][0] == "INVALID", name
        assert failing.items() <= _failed(agreed[name]).items(), (name, agreed[name])
    assert agreed["long term"][0] == "VALID"


def test_both_verifiers_agree_on_public_proofs(anchored: AnchoredWorld, tmp_path: Path) -> None:
    """The public proof (certledger/public-proof/1) of every tamper case: the chain checks decide, the record-level
    ones are SKIPPED no_record and do not make the verdict INVALID."""
    cases = {name: public_proof_of(bundle) for name, bundle in _tampers(anchored, tmp_path / "cases").items()}
    other_department = copy.deepcopy(cases["genuine"])
    other_department["summary"]["issuing_department_code"] = anchored.departments["b"].code
    cases["summary names another department"] = other_department
    agreed = _agree(anchored, cases, tmp_path)
    for name in ("genuine", "genuine sm2", "long term", "changed field"):  # a changed record is not in the proof
        assert agreed[name][0] == "VALID", (name, agreed[name])
        skipped = {c: r for c, s, r in agreed[name][1] if s == "SKIPPED"}
        assert skipped == {"record_integrity": "no_record", "seal_intact": "no_record", "document_digest": "no_record"}
    expected = {
        "status revoked": {"status": "revoked"},
        "proof of another leaf": {"merkle_proof": "proof_mismatch"},
        "unanchored root": {"anchor_on_chain": "root_not_anchored"},
        "seal of another department": {"seal_signer_matches": "department_mismatch", "anchor_issuer": "seal_not_current"},
        "seal under a forged root": {"seal_chain": "issuer_signature_invalid"},
        "look-alike contract": {"anchor_on_chain": "untrusted_contract"},
        "expired": {"validity_period": "expired"},
        "summary names another department": {"anchor_on_chain": "root_not_anchored"},
    }
    for name, failing in expected.items():
        assert agreed[name][0] == "INVALID", name
        assert failing.items() <= _failed(agreed[name]).items(), (name, agreed[name])


def test_both_verifiers_agree_on_untrusted_chains_contracts_and_dead_nodes(anchored: AnchoredWorld,
                                                                           tmp_path: Path) -> None:
    bundle = anchored.batch("a", 2)[0]
    on_another_chain = dataclasses.replace(anchored.trust, chain_id=anchored.trust.chain_id + 1)
    shape = _agree(anchored, {"trust list of another chain": bundle}, tmp_path / "chain", trust=on_another_chain)
    assert _failed(shape["trust list of another chain"]) == {"anchor_on_chain": "untrusted_chain"}

    no_code = copy.deepcopy(bundle)
    no_code["chain"]["contract"] = Account.create().address
    trusting = dataclasses.replace(anchored.trust, deployments=(TrustedDeployment(no_code["chain"]["contract"], 0),))
    shape = _agree(anchored, {"contract without code": no_code}, tmp_path / "code", trust=trusting)
    assert _failed(shape["contract without code"]) == {"anchor_on_chain": "contract_not_found"}

    dead = f"http://127.0.0.1:{free_port()}"
    shape = _agree(anchored, {"unreachable node": bundle}, tmp_path / "dead", rpc_url=dead)
    assert shape["unreachable node"][0] == "ERROR"
    assert ("anchor_on_chain", "ERROR", "chain_unreachable") in shape["unreachable node"][1]


def test_both_verifiers_agree_on_documents(anchored: AnchoredWorld, tmp_path: Path) -> None:
    document = b"%PDF-1.7 the issued document"
    file = file_reference("bafkreitest", hashlib.sha256(document).hexdigest(), len(document), encrypted=True)
    cases = {"with its document": anchored.batch("a", 2, file=file)[0], "without one": anchored.batch("a", 1)[0]}
    shapes = _agree(anchored, cases, tmp_path / "same", document=document)
    assert shapes["with its document"][0] == "VALID"
    assert _failed(shapes["without one"]) == {"document_digest": "record_has_no_document"}
    swapped = _agree(anchored, {"swapped": cases["with its document"]}, tmp_path / "swapped", document=b"%PDF other")
    assert _failed(swapped["swapped"]) == {"document_digest": "digest_mismatch"}


def test_both_verifiers_agree_across_seal_rotation_and_compromise(anchored: AnchoredWorld, tmp_path: Path) -> None:
    dept = anchored.department("js-rotating", "市测试局戊")
    before = anchored.batch("js-rotating", 2)[0]
    old_sealer = dept.sealer
    info = anchored.authority.rotate_seal(dept.code)
    anchored.contract.rotate_seal(anchored.admin, dept.account.address, hashlib.sha256(info.der).digest())
    dept.sealer = anchored.sealer_for(info)
    records = [anchored.record(dept) for _ in range(2)]
    late = anchored.anchor(records, old_sealer.seal_records(records), account=dept.account)[0]
    shapes = _agree(anchored, {"before rotation": before, "rotated-out seal": late}, tmp_path / "rotation")
    assert shapes["before rotation"][0] == "VALID"
    assert _failed(shapes["rotated-out seal"]) == {"anchor_issuer": "seal_not_current"}

    sealed = anchored.batch("js-rotating", 2)[0]
    anchored_at = int(dt.datetime.fromisoformat(sealed["chain"]["anchored_at"]).timestamp())
    fingerprint = hashlib.sha256(info.der).digest()
    anchored.contract.revoke_seal(anchored.admin, dept.account.address, fingerprint, anchored_at + 60)
    later = _agree(anchored, {"compromised after anchoring": sealed}, tmp_path / "later")
    assert later["compromised after anchoring"][0] == "VALID"
    assert ("seal_certificate_valid", "VALID", "signed_before_compromise") in later["compromised after anchoring"][1]
    anchored.contract.revoke_seal(anchored.admin, dept.account.address, fingerprint, anchored_at - 3600)
    earlier = _agree(anchored, {"compromised before sealing": sealed}, tmp_path / "earlier")
    assert _failed(earlier["compromised before sealing"])["seal_certificate_valid"] == "signed_after_compromise"


def _report(code: str, n: int) -> dict[str, Any]:
    return {"format": REPORT_FORMAT, "identifier": f"RS.{code}.JS-{n}", "association": "市测试协会",
            "association_code": code, "name": "年度审计报告", "number": f"JS-{n}", "kind": "audit",
            "issuing_body": "测试会计师事务所", "subject": "测试有限公司", "report_date": "2026-11-01",
            "conclusion": "结论：合格。", "catalogue": ["财务报表"], "document_sha256": "ab" * 32, "file": None,
            "salt": new_salt()}


def test_both_verifiers_agree_on_report_summaries(anchored: AnchoredWorld, tmp_path: Path) -> None:
    """tests/test_reports.py's tampers of an association's report summary bundle."""
    code = derive_uscc("verifier-js:association", division=CITY_DIVISION)
    info = anchored.authority.issue_seal("市测试协会", code)
    account = Account.create()
    anchored.contract.register_organization(anchored.admin, account.address, OrgKind.ASSOCIATION, code,
                                            hashlib.sha256(info.der).digest())
    sealer = anchored.sealer_for(info)
    records = [_report(code, n) for n in range(3)]
    genuine = anchored.anchor(records, sealer.seal_records(records), account=account,
                              kind=BatchKind.REPORT_SUMMARIES)
    changed = copy.deepcopy(genuine[0])
    changed["record"]["conclusion"] = "结论：不合格。"
    relinked = copy.deepcopy(changed)
    relinked["leaf"] = "0x" + record_leaf(relinked["record"]).hex()
    renamed = copy.deepcopy(genuine[0])
    renamed["record"]["association_code"] = anchored.departments["a"].code
    renamed["leaf"] = "0x" + record_leaf(renamed["record"]).hex()
    by_department = anchored.anchor([genuine[1]["record"], padding := _report(code, 9)],
                                    [base64.b64decode(genuine[1]["seal"]["der"]), *sealer.seal_records([padding])],
                                    account=anchored.departments["a"].account)[0]
    shapes = _agree(anchored, {"genuine report": genuine[2], "changed conclusion": changed, "relinked leaf": relinked,
                               "renamed association": renamed, "anchored by a department": by_department}, tmp_path)
    assert shapes["genuine report"][0] == "VALID"
    assert _failed(shapes["changed conclusion"])["record_integrity"] == "leaf_mismatch"
    assert _failed(shapes["relinked leaf"])["merkle_proof"] == "proof_mismatch"
    assert "seal_signer_matches" in _failed(shapes["renamed association"])
    assert _failed(shapes["anchored by a department"]) == {"anchor_on_chain": "root_not_anchored"}


def test_both_refuse_a_tampered_unsealed_or_foreign_rooted_trust_list(anchored: AnchoredWorld, tmp_path: Path) -> None:
    doc = anchored.trust_document()
    tampered = copy.deepcopy(doc)
    tampered["deployments"].append({"address": Account.create().address, "from_block": 0, "tx_hash": None})
    unsealed = {k: v for k, v in doc.items() if k != "seal"}
    other_root = SealAuthority.create(FileKeyStore(tmp_path / "other", "pw")).registry.root_der
    cases = [(tampered, None, "trust_list_seal_invalid"), (unsealed, None, "trust_list_seal_invalid"),
             (doc, pem_certificate(other_root), "trust_list_untrusted_root")]
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(anchored.batch("a", 1)[0]), encoding="utf-8")
    for i, (trust_doc, root_pem, code) in enumerate(cases):
        with pytest.raises(Exception) as refused:
            load_trust_list(json.dumps(trust_doc), root_pem=root_pem)
        assert getattr(refused.value, "code", None) == code
        (tmp_path / f"trust-{i}.json").write_text(json.dumps(trust_doc), encoding="utf-8")
        args = ["node", str(CLI), "--rpc", anchored.rpc_url, "--trust", str(tmp_path / f"trust-{i}.json"), str(bundle)]
        if root_pem:
            (tmp_path / "root.pem").write_text(root_pem, encoding="utf-8")
            args += ["--root", str(tmp_path / "root.pem")]
        done = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and f"error {code}:" in done.stderr, done.stderr


def test_verifier_js_unit_tests() -> None:
    done = subprocess.run(["node", "--test", "test/"], cwd=VERIFIER_JS, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_the_browser_scripts_are_built_from_the_sources(tmp_path: Path) -> None:
    """api/static/verifier/ holds what `node verifier-js/build.js` makes from verifier-js/src today."""
    done = subprocess.run(["node", "build.js", str(tmp_path)], cwd=VERIFIER_JS, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    static = VERIFIER_JS.parent / "api" / "static" / "verifier"
    for name in ("verifier.js", "page.js", "credential.js", "sd_jwt.js"):
        assert (tmp_path / name).read_bytes() == (static / name).read_bytes(), f"rebuild: node verifier-js/build.js ({name})"


def test_both_verifiers_refuse_every_corrupted_seal(anchored: AnchoredWorld, tmp_path: Path) -> None:
    """One bit flipped at 12 places spread over a CMS and over an SES seal: both verifiers find the seal INVALID, and
    agree on the verdict and on every fragment outside the seal. (Which of the seal's sub-checks names a broken
    structure, seal_malformed or seal_not_der, may differ: each reads DER with its own parser. Every byte flipped
    of both seals, 15,554 variants, was checked the same way once by hand.)"""
    trust = load_trust_list(json.dumps(anchored.trust_document()))
    cases: Cases = {}
    for key in ("a", "sm2"):
        bundle = anchored.batch(key, 1)[0]
        seal = base64.b64decode(bundle["seal"]["der"])
        for i in range(0, len(seal), len(seal) // 12 + 1):
            flipped = bytearray(seal)
            flipped[i] ^= 0x04
            cases[f"{key} byte {i}"] = _with_seal(bundle, bytes(flipped))
    cases = {name: b for name, b in cases.items() if _loads(b)}
    js = _javascript(cases, anchored.trust_document(), anchored.rpc_url, tmp_path, None)
    outside = {"record_integrity", "merkle_proof", "anchor_on_chain", "status", "validity_period", "document_digest"}
    for (name, bundle), js_result in zip(cases.items(), js, strict=True):
        py = _python(anchored, bundle, trust, anchored.rpc_url, None)
        assert js_result["verdict"] == py["verdict"] == "INVALID", name
        checks = [{c["name"]: (c["status"], c["reason"]) for c in r["checks"]} for r in (js_result, py)]
        assert checks[0]["seal"][0] == checks[1]["seal"][0] == "INVALID", name
        assert {k: v for k, v in checks[0].items() if k in outside} == {k: v for k, v in checks[1].items()
                                                                         if k in outside}, name


def _loads(bundle: dict[str, Any]) -> bool:
    """Whether the bundle's shape passes (a flip in the seal's first bytes can make it name another format)."""
    try:
        load_bundle(bundle)
    except BadInput:
        return False
    return True
