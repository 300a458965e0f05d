"""Trust outside the service (issue 10's "done when"): the trust list exported by the CLI and served publicly,
sealed by the city root; a complete forgery (own contract, own root, own seal for a real department's credit
code) refused by ``certledger verify --trust``, ``/public/verify`` and the counters; a redeployment that keeps
earlier bundles verifying; the standalone verifier refusing to work without a trust list."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from ledger.chain.client import ChainClient
from ledger.chain.contract import BatchKind, LedgerContract, OrgKind
from ledger.core.errors import BadInput
from ledger.core.record import new_salt, record_leaf
from ledger.devstack.launchers import free_port
from ledger.issue.anchoring import Anchorer
from ledger.storage import trust as trust_store
from ledger.verify.bundle import build_bundle
from ledger.verify.trust import load_trust_list
from signer.authority import SealAuthority
from signer.keystore import FileKeyStore
from signer.record_seal import Sealer
from tests.api.conftest import Api
from tests.fixtures.library import sample_request
from tests.fixtures.merkle import tree_with_proofs

CLI = str(Path(sys.executable).parent / "certledger")


def _cli(api: Api, *args: str, trust_file: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in api.env.env.items() if trust_file or k != "CERTLEDGER_TRUST_FILE"}
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120)


def _check(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in result["checks"] if c["name"] == name)


def _genuine_bundle(api: Api) -> dict[str, Any]:
    r = api.call("POST", "/departments/certificates", "market", json=sample_request(api.env.types["business_licence"]))
    assert r.status_code == 201, r.text
    Anchorer(api.env.lib).run_once(force=True)
    r = api.call("GET", f"/departments/certificates/{r.json()['identifier']}/bundle", "market")
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def forgery(api: Api, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What anyone who can send a transaction can build: a look-alike CertLedger deployed by an outsider, a
    self-made "city root" of the same name, a seal for the real market department (its name and credit code)
    chaining to it, that department registered on the look-alike, a forged record anchored there, and a bundle
    naming that contract and that root."""
    market = api.env.departments["market"]
    outsider, forger = Account.create(), Account.create()
    contract, _ = LedgerContract.deploy(ChainClient(api.env.env["CERTLEDGER_RPC_URL"]), outsider)
    keystore = FileKeyStore(tmp_path_factory.mktemp("forger-keys"), "forger")
    root = SealAuthority.create(keystore)  # same default name as the city's root
    seal = root.issue_seal(market.name, market.uscc)
    contract.register_organization(outsider, forger.address, OrgKind.DEPARTMENT, market.uscc,
                                   hashlib.sha256(seal.der).digest())
    record = copy.deepcopy(_genuine_bundle(api)["record"])
    record.update(holder="伪造科技有限公司", number="FORGED-0001", salt=new_salt())
    leaves = [record_leaf(record), hashlib.sha256(b"padding").digest()]
    tree, proofs = tree_with_proofs(leaves)
    tx = contract.anchor(forger, tree.root, 2, BatchKind.CERTIFICATES)
    return build_bundle(record=record, seal=Sealer(keystore.get(seal.key_id), seal.der).seal_records([record])[0],
                        leaf=leaves[0], root=tree.root, proof=proofs[0], chain_id=contract.client.chain_id,
                        contract=contract.address, tx_hash=bytes.fromhex(tx.tx_hash[2:]), block_number=tx.block_number,
                        anchored_at=dt.datetime.fromtimestamp(tx.block_time, dt.UTC),
                        city_root_der=root.registry.root_der)


def test_the_trust_list_is_exported_served_and_sealed_by_the_city_root(api: Api, tmp_path: Path) -> None:
    lib = api.env.lib
    out = tmp_path / "trust.json"
    done = _cli(api, "trust", "export", "-o", str(out))
    assert done.returncode == 0, done.stderr
    exported = json.loads(out.read_text(encoding="utf-8"))
    served = api.client.get("/public/trust")  # no key
    assert served.status_code == 200 and served.json() == exported
    trust = load_trust_list(served.content)
    root_der = lib.seal_registry().root_der
    assert trust.chain_id == lib.chain.chain_id and trust.trusts_contract(lib.contract.address)
    assert trust.seal_roots == (root_der,) and trust.audit_writer == api.env.platform.chain_address
    assert exported["seal_roots"][0]["sha256"] == hashlib.sha256(root_der).hexdigest()
    pem = exported["seal_roots"][0]["certificate_pem"]
    assert load_trust_list(served.content, root_pem=pem) == trust  # pinned to the root one already trusts
    shown = _cli(api, "trust", "show", str(out))
    assert shown.returncode == 0 and hashlib.sha256(root_der).hexdigest() in shown.stdout

    tampered = copy.deepcopy(exported)
    tampered["deployments"].append({"address": Account.create().address, "from_block": 0, "tx_hash": None})
    with pytest.raises(BadInput) as refused:
        load_trust_list(json.dumps(tampered))
    assert refused.value.code == "trust_list_seal_invalid"
    unsealed = {k: v for k, v in exported.items() if k != "seal"}
    with pytest.raises(BadInput) as refused:
        load_trust_list(json.dumps(unsealed))
    assert refused.value.code == "trust_list_seal_invalid"
    other_root = SealAuthority.create(FileKeyStore(tmp_path / "other", "pw")).registry.root_der
    with pytest.raises(BadInput) as refused:
        load_trust_list(served.content, root_pem=_pem(other_root))
    assert refused.value.code == "trust_list_untrusted_root"


def _pem(der: bytes) -> str:
    from ledger.verify.bundle import pem_certificate

    return pem_certificate(der)


@pytest.mark.one_database  # the standalone verifier opens no database
def test_the_forgery_is_refused_by_the_standalone_verifier(api: Api, forgery: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forgery), encoding="utf-8")
    rpc = api.env.env["CERTLEDGER_RPC_URL"]
    done = _cli(api, "verify", str(path), "--rpc", rpc, "--json")  # the trust list from CERTLEDGER_TRUST_FILE
    assert done.returncode == 1, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["verdict"] == "INVALID" and _check(result, "anchor_on_chain")["reason"] == "untrusted_contract"
    done = _cli(api, "verify", str(path), "--rpc", rpc, "--trust", api.env.env["CERTLEDGER_TRUST_FILE"], "--json")
    assert done.returncode == 1 and '"untrusted_contract"' in done.stdout
    # the same forgery naming the genuine contract: not anchored there, and its seal chains to no trusted root
    renamed = {**forgery, "chain": {**forgery["chain"], "contract": api.env.lib.contract.address}}
    path.write_text(json.dumps(renamed), encoding="utf-8")
    result = json.loads(_cli(api, "verify", str(path), "--rpc", rpc, "--json").stdout)
    assert _check(result, "anchor_on_chain")["reason"] == "root_not_anchored"
    assert _check(result, "seal_chain")["reason"] == "issuer_signature_invalid"


def test_the_forgery_is_refused_by_the_api(api: Api, forgery: dict[str, Any]) -> None:
    public = api.client.post("/public/verify", json=forgery)
    counter = api.call("POST", "/counters/verify/bundle", "counter", json=forgery)
    for r in (public, counter):
        assert r.status_code == 200, r.text
        assert r.json()["verdict"] == "INVALID"
        refused = _check(r.json(), "anchor_on_chain")
        assert refused["reason"] == "untrusted_contract" and "不受信任的合约" in refused["message"]


@pytest.mark.one_database  # the standalone verifier opens no database
def test_without_a_trust_list_the_verifier_refuses_and_says_how_to_get_one(api: Api, tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(_genuine_bundle(api)), encoding="utf-8")
    done = _cli(api, "verify", str(path), "--rpc", api.env.env["CERTLEDGER_RPC_URL"], trust_file=False)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "trust_list_missing" in done.stderr and "/public/trust" in done.stderr and "--trust" in done.stderr
    with_trust = _cli(api, "verify", str(path), "--rpc", api.env.env["CERTLEDGER_RPC_URL"])
    assert with_trust.returncode == 0, with_trust.stdout + with_trust.stderr
    # a chain node that does not answer: ERROR, exit code 4 (it says nothing about the certificate)
    unreachable = _cli(api, "verify", str(path), "--rpc", f"http://127.0.0.1:{free_port()}", "--json")
    assert unreachable.returncode == 4, unreachable.stdout + unreachable.stderr
    assert json.loads(unreachable.stdout)["verdict"] == "ERROR"


def test_a_redeployment_keeps_earlier_bundles_verifying(api: Api, tmp_path: Path) -> None:
    """A bundle anchored on an earlier genuine deployment verifies once that deployment is on the list, through
    the service (which reads that contract) and standalone; it is refused while it is not."""
    lib, market = api.env.lib, api.env.departments["market"]
    earlier, deployment = LedgerContract.deploy(lib.chain, lib.admin_account())
    fingerprint = lib.contract.organization(market.chain_address).seal_fingerprint
    earlier.register_organization(lib.admin_account(), market.chain_address, OrgKind.DEPARTMENT, market.uscc,
                                  fingerprint)
    record = copy.deepcopy(_genuine_bundle(api)["record"])
    record.update(number="EARLIER-0001", salt=new_salt())
    leaf = record_leaf(record)
    tx = earlier.anchor(lib.org_account(market), leaf, 1, BatchKind.CERTIFICATES)
    bundle = build_bundle(record=record, seal=lib.sealer(market.id).seal_records([record])[0], leaf=leaf, root=leaf,
                          proof=[], chain_id=deployment.chain_id, contract=earlier.address,
                          tx_hash=bytes.fromhex(tx.tx_hash[2:]), block_number=tx.block_number,
                          anchored_at=dt.datetime.fromtimestamp(tx.block_time, dt.UTC),
                          city_root_der=lib.seal_registry().root_der)
    r = api.client.post("/public/verify", json=bundle)
    assert _check(r.json(), "anchor_on_chain")["reason"] == "untrusted_contract"
    with lib.sessions() as session, session.begin():
        trust_store.record_deployment(session, address=deployment.address, chain_id=deployment.chain_id,
                                      block_number=deployment.block_number, tx_hash=deployment.tx_hash)
    r = api.client.post("/public/verify", json=bundle)
    assert r.json()["verdict"] == "VALID", r.json()
    out = tmp_path / "trust.json"
    assert _cli(api, "trust", "export", "-o", str(out)).returncode == 0
    trust = load_trust_list(out.read_bytes())
    assert trust.trusts_contract(earlier.address) and trust.trusts_contract(lib.contract.address)
    path = tmp_path / "earlier.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    done = _cli(api, "verify", str(path), "--rpc", api.env.env["CERTLEDGER_RPC_URL"], "--trust", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
