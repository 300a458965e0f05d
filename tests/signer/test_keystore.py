import subprocess

import pytest

from ledger.core.errors import BadInput, CertledgerError, NotFound
from signer.keys import generate_key, public_key_der
from signer.keystore import PASSWORD_ENV, FileKeyStore


@pytest.mark.parametrize("algorithm", ["p256", "sm2"])
def test_keys_are_encrypted_at_rest_and_round_trip(tmp_path, algorithm) -> None:
    store = FileKeyStore(tmp_path, password="s3cret")
    key = generate_key(algorithm)
    store.put("k1", key)
    pem = (tmp_path / "k1.pem").read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert (tmp_path / "k1.pem").stat().st_mode & 0o077 == 0
    assert public_key_der(store.get("k1")) == public_key_der(key)
    # the system openssl reads it with the password and refuses it without
    ok = subprocess.run(["openssl", "pkey", "-passin", "pass:s3cret", "-noout"], input=pem, capture_output=True)
    assert ok.returncode == 0
    bad = subprocess.run(["openssl", "pkey", "-passin", "pass:wrong", "-noout"], input=pem, capture_output=True)
    assert bad.returncode != 0


def test_wrong_password_missing_key_bad_id(tmp_path, monkeypatch) -> None:
    FileKeyStore(tmp_path, password="right").put("k", generate_key("sm2"))
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
