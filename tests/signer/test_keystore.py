import pickle
import subprocess

import pytest

from ledger.core.errors import BadInput, CertledgerError, NotFound
from signer.keys import SoftwareKey, load_public_key, verify
from signer.keystore import (
    PASSWORD_DIR_ENV,
    PASSWORD_ENV,
    DirectoryPasswords,
    FileKeyStore,
)
from signer.pkcs11_keystore import keystore_from_env
from signer.record_seal import Sealer

from .conftest import MARKET, POLICE, record


@pytest.mark.parametrize("algorithm", ["p256", "sm2"])
def test_keys_are_encrypted_at_rest_and_round_trip(tmp_path, algorithm) -> None:
    store = FileKeyStore(tmp_path, password="s3cret")
    key = store.generate("k1", algorithm)
    pem = (tmp_path / "k1.pem").read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert (tmp_path / "k1.pem").stat().st_mode & 0o077 == 0
    again = store.get("k1")
    assert again.spki_der == key.spki_der and again.algorithm == algorithm
    assert verify(load_public_key(key.spki_der), again.sign(b"data"), b"data")
    # the system openssl reads it with the password and refuses it without
    ok = subprocess.run(["openssl", "pkey", "-passin", "pass:s3cret", "-noout"], input=pem, capture_output=True)
    assert ok.returncode == 0
    bad = subprocess.run(["openssl", "pkey", "-passin", "pass:wrong", "-noout"], input=pem, capture_output=True)
    assert bad.returncode != 0


def test_wrong_password_missing_key_bad_id(tmp_path, monkeypatch) -> None:
    FileKeyStore(tmp_path, password="right").put("k", SoftwareKey.generate("sm2"))
    with pytest.raises(CertledgerError) as e:
        FileKeyStore(tmp_path, password="wrong").get("k")
    assert e.value.code == "key_password_wrong"
    with pytest.raises(NotFound):
        FileKeyStore(tmp_path, password="right").get("absent")
    with pytest.raises(BadInput):
        FileKeyStore(tmp_path, password="right").get("../etc/passwd")
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with pytest.raises(CertledgerError) as e:
        FileKeyStore(tmp_path)
    assert e.value.code == "key_password_missing"
    monkeypatch.setenv(PASSWORD_ENV, "right")
    assert FileKeyStore(tmp_path).get("k") is not None


def test_each_organisation_its_own_password(tmp_path) -> None:
    """An organisation with a password file has its keys encrypted with it; the others keep the platform one."""
    secrets = tmp_path / "passwords"
    secrets.mkdir()
    (secrets / MARKET[1]).write_text("market-only\n")
    store = FileKeyStore(tmp_path / "keys", "platform", owner_passwords=DirectoryPasswords(secrets))
    store.generate("m", "p256", owner=MARKET[1])
    store.generate("p", "p256", owner=POLICE[1])
    store.generate("root", "p256")
    pem = (tmp_path / "keys" / "m.pem").read_bytes()
    assert subprocess.run(["openssl", "pkey", "-passin", "pass:market-only", "-noout"], input=pem).returncode == 0
    assert subprocess.run(["openssl", "pkey", "-passin", "pass:platform", "-noout"], input=pem,
                          capture_output=True).returncode != 0
    assert store.get("m", owner=MARKET[1]) and store.get("p", owner=POLICE[1]) and store.get("root")
    with pytest.raises(CertledgerError) as e:  # the platform password alone does not open the market's key
        FileKeyStore(tmp_path / "keys", "platform").get("m", owner=MARKET[1])
    assert e.value.code == "key_password_wrong" and "check CERTLEDGER_KEY_PASSWORD" in e.value.message
    (secrets / MARKET[1]).write_text("changed")
    with pytest.raises(CertledgerError) as e:
        store.get("m", owner=MARKET[1])
    assert f"the password of organisation {MARKET[1]}" in e.value.message


def test_authority_and_sealer_use_the_owner_password(tmp_path) -> None:
    from signer.authority import SealAuthority
    secrets = tmp_path / "passwords"
    secrets.mkdir()
    (secrets / MARKET[1]).write_text("market-only")
    store = FileKeyStore(tmp_path / "keys", "platform", owner_passwords=DirectoryPasswords(secrets))
    authority = SealAuthority.create(store)
    info = authority.issue_seal(*MARKET)
    seal = Sealer.load(store, authority.registry, info.serial).seal_records([record()])[0]
    assert seal
    with pytest.raises(CertledgerError):
        Sealer.load(FileKeyStore(tmp_path / "keys", "platform"), authority.registry, info.serial)


def test_from_env_and_pickles(tmp_path) -> None:
    (tmp_path / "pw").mkdir()
    (tmp_path / "pw" / MARKET[1]).write_text("m")
    env = {PASSWORD_ENV: "platform", PASSWORD_DIR_ENV: str(tmp_path / "pw")}
    store = keystore_from_env(tmp_path / "keys", env)
    assert isinstance(store, FileKeyStore)
    store.generate("k", "p256", owner=MARKET[1])
    copy = pickle.loads(pickle.dumps(store))  # what a document worker process receives
    assert copy.get("k", owner=MARKET[1]).spki_der == store.get("k", owner=MARKET[1]).spki_der
