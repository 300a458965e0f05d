"""Seal keys in a SoftHSM2 token: generated inside, never extractable, used by every sealing path."""

import multiprocessing
import pickle
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from pkcs11 import Attribute
from pkcs11.exceptions import AttributeSensitive

from ledger.core.errors import CertledgerError, Conflict, NotFound, ServiceUnavailable
from signer.authority import ROOT_KEY_ID, SealAuthority
from signer.keys import SoftwareKey, load_public_key, verify
from signer.pdf_seal import PdfSealer
from signer.pdf_verify import verify_pdf
from signer.pkcs11_keystore import (
    Pkcs11KeyStore,
    Pkcs11Token,
    TieredKeyStore,
    TokenKey,
    keystore_from_env,
)
from signer.record_seal import Sealer
from signer.render import render_certificate
from signer.verify import SealVerifier
from tests.fixtures.hsm import HSM_PIN, HSM_TOKENS

from .conftest import CIVIL, MARKET, der_to_pem, record
from .test_pdf_seal import TYPES, URL
from .test_record_seal import assert_valid


@pytest.fixture(scope="module")
def hsm_city(softhsm, tmp_path_factory):
    """A city whose root and P-256 seal keys are in the token, and whose SM2 seal key is in a file."""
    tmp = tmp_path_factory.mktemp("hsm-city")
    store = keystore_from_env(tmp / "keys", {**softhsm, "CERTLEDGER_KEY_PASSWORD": "files"})
    assert isinstance(store, TieredKeyStore)
    authority = SealAuthority.create(store, now=datetime.now(timezone.utc) - timedelta(days=10))
    market = authority.issue_seal(*MARKET, valid_from=datetime.now(timezone.utc) - timedelta(days=1))
    civil = authority.issue_seal(*CIVIL, algorithm="sm2")
    return store, authority, market, civil, tmp


def test_keys_are_generated_in_the_token_and_never_leave_it(hsm_city) -> None:
    store, authority, market, civil, tmp = hsm_city
    root, seal = store.get(ROOT_KEY_ID), store.get(market.key_id)
    assert isinstance(root, TokenKey) and isinstance(seal, TokenKey)
    assert not (tmp / "keys" / f"{market.key_id}.pem").exists() and not (tmp / "keys" / "city-root.pem").exists()
    assert isinstance(store.get(civil.key_id), SoftwareKey)  # SM2: no SM2 mechanism in the token
    assert (tmp / "keys" / f"{civil.key_id}.pem").exists()
    private, _ = store.token.token.find_key_pair(market.key_id)
    assert private[Attribute.SENSITIVE] and private[Attribute.ALWAYS_SENSITIVE]
    assert not private[Attribute.EXTRACTABLE] and private[Attribute.NEVER_EXTRACTABLE]
    with pytest.raises(AttributeSensitive):
        private[Attribute.VALUE]
    assert seal.spki_der == market.spki_der


def test_token_key_seals_records_that_verify(hsm_city, tmp_path) -> None:
    store, authority, market, _, _ = hsm_city
    sealer = Sealer.load(store, authority.registry, market.serial)
    recs = [record(number=f"No.{i}") for i in range(30)]
    verifier = SealVerifier(authority.registry)
    for rec, seal in zip(recs, sealer.seal_records(recs)):
        assert_valid(verifier.verify_record(rec, seal))
    # and independently: openssl cms -verify with the city root that the token's root key signed
    from ledger.core.canonical import canonical_record
    (tmp_path / "seal.p7s").write_bytes(sealer.seal_records([recs[0]])[0])
    (tmp_path / "rec.json").write_bytes(canonical_record(recs[0]))
    root_pem = der_to_pem(authority.registry.root_der, tmp_path / "root.pem")
    r = subprocess.run(["openssl", "cms", "-verify", "-inform", "DER", "-in", str(tmp_path / "seal.p7s"), "-content",
                        str(tmp_path / "rec.json"), "-binary", "-CAfile", str(root_pem), "-out", "/dev/null"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_token_key_seals_pdfs(hsm_city) -> None:
    store, authority, market, _, _ = hsm_city
    rec = record()
    pdf = PdfSealer.load(store, authority.registry, market.serial).seal_pdf(render_certificate(TYPES[0], rec, URL))
    checks = verify_pdf(SealVerifier(authority.registry), pdf, issuer_code=MARKET[1])
    assert_valid(checks)


def test_sm2_seal_from_files_beside_the_token(hsm_city) -> None:
    store, authority, _, civil, _ = hsm_city
    seal = Sealer.load(store, authority.registry, civil.serial).seal_records([record(CIVIL)])[0]
    assert_valid(SealVerifier(authority.registry).verify_record(record(CIVIL), seal))


def test_refusals(softhsm, hsm_city) -> None:
    store = Pkcs11KeyStore.from_env(softhsm)
    with pytest.raises(CertledgerError) as e:
        store.put("imported", SoftwareKey.generate("p256"))
    assert e.value.code == "hsm_import_refused"
    with pytest.raises(CertledgerError) as e:
        store.generate("sm2-key", "sm2")
    assert e.value.code == "hsm_algorithm_unsupported"
    with pytest.raises(Conflict):
        store.generate(ROOT_KEY_ID, "p256")
    with pytest.raises(NotFound):
        store.get("never-made")


def test_configuration_errors(softhsm) -> None:
    with pytest.raises(CertledgerError) as e:
        Pkcs11KeyStore(Pkcs11Token(HSM_TOKENS[1], "wrong-pin")).get("x")
    assert e.value.code == "hsm_pin_wrong"
    with pytest.raises(ServiceUnavailable) as e:
        Pkcs11KeyStore(Pkcs11Token("no-such-token", HSM_PIN)).get("x")
    assert e.value.code == "hsm_token_not_found"
    with pytest.raises(ServiceUnavailable) as e:
        Pkcs11KeyStore(Pkcs11Token(HSM_TOKENS[0], HSM_PIN, "/nonexistent/libp11.so")).get("x")
    assert e.value.code == "hsm_module_missing"
    with pytest.raises(CertledgerError) as e:
        Pkcs11Token.from_env({})
    assert e.value.code == "hsm_not_configured"


def _sign_in_worker(store: Pkcs11KeyStore, key_id: str, data: bytes) -> bytes:
    return store.get(key_id).sign(data)


def test_store_pickles_into_a_worker_process(hsm_city) -> None:
    """Document workers (spawned processes) receive the store and open the token themselves."""
    store, _, market, _, _ = hsm_city
    token_store = pickle.loads(pickle.dumps(store.token))
    assert token_store.token.label == HSM_TOKENS[0]
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        signature = pool.apply(_sign_in_worker, (token_store, market.key_id, b"document"))
    assert verify(load_public_key(market.spki_der), signature, b"document")


def test_forked_child_initialises_the_token_again(hsm_city) -> None:
    """A forked process (a pre-forking server's worker) inherits the parent's session, which PKCS#11 says it
    must not use: it initialises the library again and opens its own, and the parent's keeps working."""
    store, _, market, _, _ = hsm_city
    public = load_public_key(market.spki_der)
    assert verify(public, store.get(market.key_id).sign(b"parent"), b"parent")
    with multiprocessing.get_context("fork").Pool(1) as pool:
        signature = pool.apply(_sign_in_worker, (store.token, market.key_id, b"child"))
    assert verify(public, signature, b"child")
    assert verify(public, store.get(market.key_id).sign(b"parent again"), b"parent again")
