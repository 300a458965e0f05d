"""Envelope encryption: round trip, tamper and swap detection, key rotation, key loading."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from ledger.core.errors import BadInput, Conflict, ServiceUnavailable
from ledger.documents.envelope import (
    KEY_ENV,
    KEY_FILE,
    Kek,
    KeyRing,
    load_keyring,
    seal,
    unseal,
)

CERT = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"
OTHER = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000404.001.S"
PLAIN = "持证人：张三，身份证号 110101199003071234".encode() * 50


@pytest.fixture
def kek() -> Kek:
    return Kek(os.urandom(32))


def test_round_trip_and_nothing_secret_in_the_envelope(kek: Kek) -> None:
    envelope, key_info = seal(PLAIN, kek, CERT)
    assert unseal(envelope, key_info, KeyRing(kek), CERT) == PLAIN
    assert len(envelope) == len(PLAIN) + 32  # header 4 + nonce 12 + tag 16
    assert PLAIN[:16] not in envelope and kek.key not in envelope
    assert base64.b64decode(key_info["wdek"]) not in envelope
    assert json.loads(json.dumps(key_info)) == key_info
    assert set(key_info) == {"v", "kid", "wdek"} and key_info["kid"] == kek.key_id


def test_each_seal_uses_a_fresh_key_and_nonce(kek: Kek) -> None:
    a, b = seal(PLAIN, kek, CERT), seal(PLAIN, kek, CERT)
    assert a.envelope != b.envelope and a.key_info["wdek"] != b.key_info["wdek"]


def test_empty_document(kek: Kek) -> None:
    envelope, key_info = seal(b"", kek, CERT)
    assert unseal(envelope, key_info, KeyRing(kek), CERT) == b""


@pytest.mark.parametrize("offset", [0, 3, 4, 10, 16, 100, -1], ids=["magic", "version", "nonce", "nonce2", "body", "body2", "tag"])
def test_any_changed_byte_is_tampering(kek: Kek, offset: int) -> None:
    envelope, key_info = seal(PLAIN, kek, CERT)
    damaged = bytearray(envelope)
    damaged[offset] ^= 0x01
    with pytest.raises(Conflict) as e:
        unseal(bytes(damaged), key_info, KeyRing(kek), CERT)
    assert e.value.code == "document_tampered"


def test_truncated_envelope_is_tampering(kek: Kek) -> None:
    envelope, key_info = seal(b"short", kek, CERT)
    for cut in (envelope[:-1], envelope[:20], b""):
        with pytest.raises(Conflict):
            unseal(cut, key_info, KeyRing(kek), CERT)


def test_envelope_moved_to_another_record_does_not_open(kek: Kek) -> None:
    envelope, key_info = seal(PLAIN, kek, CERT)
    with pytest.raises(Conflict) as e:
        unseal(envelope, key_info, KeyRing(kek), OTHER)
    assert e.value.code == "document_tampered" and OTHER in e.value.message


def test_key_info_swapped_between_records_does_not_open(kek: Kek) -> None:
    envelope_a, _ = seal(PLAIN, kek, CERT)
    _, key_info_b = seal(PLAIN, kek, CERT)
    with pytest.raises(Conflict):
        unseal(envelope_a, key_info_b, KeyRing(kek), CERT)


def test_changed_wrapped_key_is_tampering(kek: Kek) -> None:
    envelope, key_info = seal(PLAIN, kek, CERT)
    wdek = bytearray(base64.b64decode(key_info["wdek"]))
    wdek[0] ^= 1
    with pytest.raises(Conflict):
        unseal(envelope, {**key_info, "wdek": base64.b64encode(wdek).decode()}, KeyRing(kek), CERT)
    with pytest.raises(Conflict):
        unseal(envelope, {**key_info, "wdek": "not base64!"}, KeyRing(kek), CERT)


@pytest.mark.parametrize("key_info", [None, {}, {"v": 2, "kid": "x", "wdek": ""}, {"v": 1, "kid": 5}])
def test_malformed_key_info(kek: Kek, key_info) -> None:
    envelope, _ = seal(PLAIN, kek, CERT)
    with pytest.raises(BadInput) as e:
        unseal(envelope, key_info, KeyRing(kek), CERT)
    assert e.value.code == "bad_key_info"


def test_unknown_key_id_names_the_fix(kek: Kek) -> None:
    envelope, key_info = seal(PLAIN, kek, CERT)
    with pytest.raises(ServiceUnavailable) as e:
        unseal(envelope, key_info, KeyRing(Kek(os.urandom(32))), CERT)
    assert e.value.code == "document_key_missing"
    assert kek.key_id in e.value.message and KEY_ENV in e.value.message


def test_a_rotated_key_ring_still_opens_documents_under_its_retired_keys(kek: Kek) -> None:
    envelope, old_info = seal(PLAIN, kek, CERT)
    new = Kek(os.urandom(32))
    assert unseal(envelope, old_info, KeyRing(new, retired=[kek]), CERT) == PLAIN
    with pytest.raises(ServiceUnavailable):
        unseal(envelope, old_info, KeyRing(new), CERT)


def test_key_must_be_32_bytes() -> None:
    with pytest.raises(BadInput):
        Kek(os.urandom(16))


def test_key_file_created_once_with_mode_0600(tmp_path: Path) -> None:
    ring = load_keyring(tmp_path / "data", environ={})
    path = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_bytes()) == 32
    assert load_keyring(tmp_path / "data", environ={}).active.key_id == ring.active.key_id


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    load_keyring(tmp_path, environ={})
    (tmp_path / KEY_FILE).chmod(0o644)
    with pytest.raises(ServiceUnavailable) as e:
        load_keyring(tmp_path, environ={})
    assert e.value.code == "document_key_exposed" and "chmod 600" in e.value.message


def test_retired_key_file_still_opens_old_documents(tmp_path: Path) -> None:
    old = load_keyring(tmp_path, environ={}).active
    envelope, key_info = seal(PLAIN, old, CERT)
    (tmp_path / KEY_FILE).rename(tmp_path / f"document-kek-{old.key_id}.key")
    ring = load_keyring(tmp_path, environ={})
    assert ring.active.key_id != old.key_id
    assert unseal(envelope, key_info, ring, CERT) == PLAIN


def test_keys_from_environment_active_first(tmp_path: Path) -> None:
    a, b = Kek(os.urandom(32)), Kek(os.urandom(32))
    env = {KEY_ENV: f"{base64.b64encode(a.key).decode()}, {base64.b64encode(b.key).decode()}"}
    ring = load_keyring(tmp_path, environ=env)
    assert ring.active.key_id == a.key_id and ring.get(b.key_id) == b
    assert not (tmp_path / KEY_FILE).exists()


@pytest.mark.parametrize("value", ["not base64", base64.b64encode(b"short").decode()])
def test_bad_key_in_environment(tmp_path: Path, value: str) -> None:
    with pytest.raises(BadInput) as e:
        load_keyring(tmp_path, environ={KEY_ENV: value})
    assert e.value.code == "bad_document_key"
