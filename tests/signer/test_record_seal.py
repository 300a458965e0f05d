import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from asn1crypto import cms, x509

from ledger.core.canonical import canonical_record
from ledger.core.checks import Status
from ledger.core.errors import BadInput
from signer.record_seal import (
    ECDSA_SHA256_ALG,
    SHA256_ALG,
    Sealer,
    seal_certificate_der,
)
from signer.seal_reader import read_seal
from signer.ses import SESSignature
from signer.verify import SealVerifier

from .conftest import CIVIL, MARKET, record
from .der_edits import with_long_form_length


def statuses(checks) -> dict[str, tuple[str, str]]:
    return {c.name: (c.status.value, c.reason) for c in checks}


def assert_valid(checks) -> None:
    assert all(c.status is Status.VALID for c in checks), statuses(checks)


def test_p256_round_trip_and_structure(city) -> None:
    rec = record()
    seal = city.sealer(city.market).seal_records([rec])[0]
    assert_valid(city.verifier.verify_record(rec, seal))
    assert_valid(city.verifier.verify_record(canonical_record(rec), seal))
    info = cms.ContentInfo.load(seal)
    assert info["content_type"].native == "signed_data"
    sd = info["content"]
    assert sd["encap_content_info"]["content"].native is None  # detached
    attrs = {a["type"].native for a in sd["signer_infos"][0]["signed_attrs"]}
    assert attrs == {"content_type", "signing_time", "message_digest"}
    assert sd["certificates"][0].chosen.dump() == city.market.der
    assert info.dump(force=True) == seal  # our hand-written DER is canonical DER


def test_openssl_cms_verify(city, tmp_path) -> None:
    rec = record()
    (tmp_path / "seal.p7s").write_bytes(city.sealer(city.market).seal_records([rec])[0])
    (tmp_path / "rec.json").write_bytes(canonical_record(rec))
    cmd = ["openssl", "cms", "-verify", "-inform", "DER", "-in", str(tmp_path / "seal.p7s"), "-content",
           str(tmp_path / "rec.json"), "-binary", "-CAfile", str(city.root_pem), "-out", "/dev/null"]
    ok = subprocess.run(cmd, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    (tmp_path / "rec.json").write_bytes(canonical_record(record(holder="某某科技有限公司X")))
    assert subprocess.run(cmd, capture_output=True).returncode != 0


def test_batch_seals(city) -> None:
    recs = [record(number=f"No.{i}") for i in range(50)]
    t = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=1)
    seals = city.sealer(city.market).seal_records(recs, signing_time=t)
    for r, s in zip(recs, seals):
        checks = city.verifier.verify_record(r, s)
        assert_valid(checks)
        assert checks[2].data["signing_time"] == t.isoformat()


def test_one_byte_of_record(city) -> None:
    rec = record()
    seal = city.sealer(city.market).seal_records([rec])[0]
    data = bytearray(canonical_record(rec))
    data[data.index(b"No.") + 3] ^= 0x01
    s = statuses(city.verifier.verify_record(bytes(data), seal))
    assert s["seal_intact"] == ("INVALID", "digest_mismatch")


def test_flipped_signature_byte(city) -> None:
    rec = record()
    seal = bytearray(city.sealer(city.market).seal_records([rec])[0])
    seal[-5] ^= 0x40
    assert statuses(city.verifier.verify_record(rec, bytes(seal)))["seal_intact"][0] == "INVALID"


def test_other_departments_key(city) -> None:
    rec = record(MARKET)
    s = statuses(city.verifier.verify_record(rec, city.sealer(city.police).seal_records([rec])[0]))
    assert s["seal_intact"][0] == "VALID" and s["seal_chain"][0] == "VALID"
    assert s["seal_signer_matches"] == ("INVALID", "department_mismatch")


def test_key_chained_to_other_root(city, foreign) -> None:
    keystore, other = foreign
    impostor = other.issue_seal(*MARKET)
    rec = record(MARKET)
    seal = Sealer.load(keystore, other.registry, impostor.serial).seal_records([rec])[0]
    s = statuses(city.verifier.verify_record(rec, seal))
    assert s["seal_chain"] == ("INVALID", "issuer_signature_invalid")  # same root name, other key
    assert s["seal_signer_matches"][0] == "VALID"


def test_compromise_time(city) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    info = city.authority.issue_seal("某市教育局", "114300000061222797", valid_from=now - timedelta(days=1))
    sealer = city.sealer(info)
    rec = record(("某市教育局", "114300000061222797"))
    before = sealer.seal_records([rec], signing_time=now - timedelta(minutes=10))[0]
    after = sealer.seal_records([rec], signing_time=now + timedelta(minutes=10))[0]
    city.authority.revoke_seal(info.serial, now)
    ok = statuses(city.verifier.verify_record(rec, before))
    assert ok["seal_certificate_valid"] == ("VALID", "signed_before_compromise")
    assert statuses(city.verifier.verify_record(rec, after))["seal_certificate_valid"] == (
        "INVALID", "signed_after_compromise")
    late = statuses(city.verifier.verify_record(rec, before, anchored_at=now + timedelta(hours=1)))
    assert late["seal_certificate_valid"] == ("INVALID", "anchored_after_compromise")


def test_expired_certificate_and_rotation(city) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    old = city.authority.issue_seal("某市交通运输局", "114300000061222872", valid_from=now - timedelta(days=1000),
                                    valid_until=now - timedelta(days=1))
    city.authority.rotate_seal("114300000061222872")
    rec = record(("某市交通运输局", "114300000061222872"))
    sealer = city.sealer(old)
    expired = statuses(city.verifier.verify_record(rec, sealer.seal_records([rec])[0]))
    assert expired["seal_certificate_valid"] == ("INVALID", "expired_at_signing")
    older = sealer.seal_records([rec], signing_time=now - timedelta(days=30))[0]
    assert_valid(city.verifier.verify_record(rec, older))  # former seal, made while valid


def test_sm2_round_trip_and_ses_structure(city) -> None:
    rec = record(CIVIL)
    seal = city.sealer(city.civil_sm2).seal_records([rec])[0]
    assert_valid(city.verifier.verify_record(rec, seal))
    ses = SESSignature.load(seal)
    assert ses.dump(force=True) == seal
    assert ses["signature_alg_id"].dotted == "1.2.156.10197.1.501"
    eseal = ses["to_sign"]["eseal"]["eseal_info"]
    assert eseal["header"]["id"].native == "ES" and eseal["header"]["version"].native == 4
    assert eseal["property"]["cert_list"].native == [city.civil_sm2.der]
    assert eseal["picture"]["data"].native.startswith(b"\x89PNG")
    bad = statuses(city.verifier.verify_record(record(CIVIL, holder="别人"), seal))
    assert bad["seal_intact"] == ("INVALID", "digest_mismatch")
    other = statuses(city.verifier.verify_record(record(MARKET), city.sealer(city.civil_sm2).seal_records([record(MARKET)])[0]))
    assert other["seal_signer_matches"] == ("INVALID", "department_mismatch")


def _sm2_files(city, tmp_path, seal: bytes):
    ses = SESSignature.load(seal)
    (tmp_path / "tbs.der").write_bytes(ses["to_sign"].dump())
    (tmp_path / "sig.der").write_bytes(ses["signature"].native)
    (tmp_path / "cert.der").write_bytes(city.civil_sm2.der)
    pub = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", str(tmp_path / "cert.der"), "-noout",
                          "-pubkey"], capture_output=True, check=True).stdout
    (tmp_path / "pub.pem").write_bytes(pub)
    return ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"), "-rawin", "-digest",
            "sm3", "-pkeyopt", "distid:1234567812345678", "-in", str(tmp_path / "tbs.der"), "-sigfile",
            str(tmp_path / "sig.der")]


def test_sm2_openssl_verifies_our_seal(city, tmp_path) -> None:
    cmd = _sm2_files(city, tmp_path, city.sealer(city.civil_sm2).seal_records([record(CIVIL)])[0])
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0 and "Verified Successfully" in r.stdout, r.stdout + r.stderr
    tbs = bytearray((tmp_path / "tbs.der").read_bytes())
    tbs[-3] ^= 1
    (tmp_path / "tbs.der").write_bytes(bytes(tbs))
    assert subprocess.run(cmd, capture_output=True).returncode != 0


def test_sm2_we_verify_openssl_signature(city, tmp_path) -> None:
    """openssl signs the TBS_Sign with the department's key (from the key store PEM); we verify it."""
    seal = city.sealer(city.civil_sm2).seal_records([record(CIVIL)])[0]
    _sm2_files(city, tmp_path, seal)
    key_pem = (city.tmp / "keys" / f"{city.civil_sm2.key_id}.pem")
    sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", str(key_pem), "-passin", "pass:test-password",
                          "-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678", "-in",
                          str(tmp_path / "tbs.der")], capture_output=True, check=True).stdout
    ses = SESSignature.load(seal)
    rebuilt = SESSignature({"to_sign": ses["to_sign"], "cert": ses["cert"], "signature_alg_id": ses["signature_alg_id"],
                            "signature": sig}).dump()
    assert rebuilt != seal
    assert_valid(city.verifier.verify_record(record(CIVIL), rebuilt))


def test_sm2_eseal_must_come_from_authority(city, foreign) -> None:
    keystore, other = foreign
    impostor = other.issue_seal(*CIVIL, algorithm="sm2")
    seal = Sealer.load(keystore, other.registry, impostor.serial).seal_records([record(CIVIL)])[0]
    s = statuses(city.verifier.verify_record(record(CIVIL), seal))
    assert s["seal_intact"] == ("INVALID", "eseal_invalid") and s["seal_chain"][0] == "INVALID"


def rejected(checks) -> tuple[str, str]:
    """A seal that is not one: one failed seal_intact naming why."""
    assert len(checks) == 1 and checks[0].name == "seal_intact", statuses(checks)
    return checks[0].status.value, checks[0].reason


@pytest.mark.parametrize("seal", [b"", b"not a seal at all", b"\x30\x82\xff\xff" + b"\x00" * 40,
                                  bytes.fromhex("3080") + b"\x00" * 30, None])
def test_malformed_seals(city, seal) -> None:
    assert rejected(city.verifier.verify_record(record(), seal)) == ("INVALID", "seal_malformed")
    with pytest.raises(BadInput) as e:
        seal_certificate_der(seal)
    assert e.value.code == "seal_malformed"


def test_truncated_seal(city) -> None:
    seal = city.sealer(city.market).seal_records([record()])[0]
    assert rejected(city.verifier.verify_record(record(), seal[:-10])) == ("INVALID", "seal_malformed")


def test_record_not_json(city) -> None:
    with pytest.raises(BadInput) as e:
        city.sealer(city.market).seal_records([b"{broken"])[0]
    assert e.value.code == "record_not_json"


def _signature_length(seal: bytes) -> int:
    return len(cms.ContentInfo.load(seal)["content"]["signer_infos"][0]["signature"].native)


def test_template_seals_for_every_signature_length(city) -> None:
    """Seals are cut from per-length templates: each length must still be canonical DER that verifies."""
    recs = [record(number=f"No.{i}") for i in range(200)]
    seals = city.sealer(city.market).seal_records(recs)
    by_length = {_signature_length(s): (r, s) for r, s in zip(recs, seals)}
    assert {70, 71, 72} <= set(by_length)
    for rec, seal in by_length.values():
        assert cms.ContentInfo.load(seal).dump(force=True) == seal
        assert_valid(SealVerifier(city.authority.registry).verify_record(rec, seal))


def test_generalized_signing_time_from_2050(city) -> None:
    rec = record()
    seal = city.sealer(city.market).seal_records([rec], signing_time=datetime(2050, 1, 2, 3, 4, 5, tzinfo=timezone.utc))[0]
    info = cms.ContentInfo.load(seal)
    attrs = {a["type"].native: a["values"][0] for a in info["content"]["signer_infos"][0]["signed_attrs"]}
    assert attrs["signing_time"].name == "generalized_time"
    assert info.dump(force=True) == seal
    s = statuses(city.verifier.verify_record(rec, seal))
    assert s["seal_intact"] == ("VALID", "signature_valid")
    assert s["seal_certificate_valid"] == ("INVALID", "expired_at_signing")


def test_known_layout_still_reads_every_field(city) -> None:
    """Once a seal's layout is known, later seals reuse it: their time, digest and signature are still checked."""
    verifier = SealVerifier(city.authority.registry)
    sealer = city.sealer(city.market)
    t = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
    rec = record()
    first, second = sealer.seal_records([rec], signing_time=t)[0], sealer.seal_records([rec], signing_time=t)[0]
    while _signature_length(second) != _signature_length(first):
        second = sealer.seal_records([rec], signing_time=t)[0]
    assert_valid(verifier.verify_record(rec, first))
    at = second.index(t.strftime("%y%m%d%H%M%SZ").encode())
    other_time = bytearray(second)
    other_time[at + 11] = ord("0") + (other_time[at + 11] - ord("0") + 1) % 6  # another second, same layout
    assert statuses(verifier.verify_record(rec, bytes(other_time)))["seal_intact"] == ("INVALID", "signature_invalid")
    bad_month = bytearray(second)
    bad_month[at + 2:at + 4] = b"13"
    assert rejected(verifier.verify_record(rec, bytes(bad_month))) == ("INVALID", "seal_malformed")
    signed_digit = bytearray(second)
    signed_digit[at + 10:at + 12] = b"+1"  # int() would read it; DER time digits are digits
    assert rejected(verifier.verify_record(rec, bytes(signed_digit))) == ("INVALID", "seal_malformed")
    assert statuses(verifier.verify_record(record(number="No.2"), second))["seal_intact"] == (
        "INVALID", "digest_mismatch")
    assert_valid(verifier.verify_record(rec, second))


# ---------------------------------------------------------------- untrusted seals are read strictly


def _edit(seal: bytes, change) -> bytes:
    """The seal re-encoded (DER) after ``change(signed_data)``: structure edits that keep the signature."""
    info = cms.ContentInfo.load(seal)
    change(info["content"])
    return info.dump(force=True)


def test_written_algorithms_are_the_ones_read() -> None:
    from signer import seal_reader
    assert SHA256_ALG in seal_reader._SHA256 and ECDSA_SHA256_ALG == seal_reader._ECDSA_SHA256


def test_non_minimal_length_is_not_der(city) -> None:
    """The hand parser this replaced read 04 81 47 as a length of 0x47; the signature still verifies over such a
    seal, but it is not DER."""
    rec = record()
    seal = city.sealer(city.market).seal_records([rec])[0]
    signature = cms.ContentInfo.load(seal)["content"]["signer_infos"][0]["signature"]
    ber = with_long_form_length(seal, signature.dump())
    assert len(ber) == len(seal) + 1 and cms.ContentInfo.load(ber, strict=True)["content"]["signer_infos"][0][
        "signature"].native == signature.native
    assert rejected(city.verifier.verify_record(rec, ber)) == ("INVALID", "seal_not_der")
    sm2 = city.sealer(city.civil_sm2).seal_records([record(CIVIL)])[0]
    ber = with_long_form_length(sm2, SESSignature.load(sm2)["signature_alg_id"].dump())
    assert rejected(city.verifier.verify_record(record(CIVIL), ber)) == ("INVALID", "seal_not_der")


def test_signer_certificate_found_by_identifier_not_position(city, foreign) -> None:
    rec = record()
    seal = city.sealer(city.market).seal_records([rec])[0]
    police = cms.CertificateChoices({"certificate": x509.Certificate.load(city.police.der)})
    own = cms.CertificateChoices({"certificate": x509.Certificate.load(city.market.der)})

    def police_first(sd):
        sd["certificates"] = [police, own]

    def only_police(sd):
        sd["certificates"] = [police]

    reordered = _edit(seal, police_first)
    assert reordered.index(city.police.der) < reordered.index(city.market.der)
    assert_valid(city.verifier.verify_record(rec, reordered))
    assert seal_certificate_der(reordered) == city.market.der
    swapped = _edit(seal, only_police)
    assert rejected(city.verifier.verify_record(rec, swapped)) == ("INVALID", "signer_certificate_missing")
    with pytest.raises(BadInput) as e:
        seal_certificate_der(swapped)
    assert e.value.code == "signer_certificate_missing"


def test_subject_key_identifier_signer(city) -> None:
    """A signer named by subjectKeyIdentifier (SignedData and SignerInfo version 3) verifies; with version 1 it
    is refused (RFC 5652 5.1, 5.3)."""
    rec = record()
    seal = city.sealer(city.market).seal_records([rec])[0]
    ski = x509.Certificate.load(city.market.der).key_identifier

    def by_ski(version):
        def change(sd):
            si = sd["signer_infos"][0]
            si["sid"] = cms.SignerIdentifier({"subject_key_identifier": ski})
            si["version"] = version
            sd["version"] = version
        return change

    assert_valid(city.verifier.verify_record(rec, _edit(seal, by_ski("v3"))))
    assert rejected(city.verifier.verify_record(rec, _edit(seal, by_ski("v1")))) == ("INVALID", "seal_malformed")


def test_content_types_are_checked(city) -> None:
    rec = record()
    seal = city.sealer(city.market).seal_records([rec])[0]

    def other_econtent(sd):
        sd["encap_content_info"]["content_type"] = "1.2.840.113549.1.9.16.1.4"  # id-ct-TSTInfo

    def attached(sd):
        sd["encap_content_info"]["content"] = canonical_record(rec)

    assert rejected(city.verifier.verify_record(rec, _edit(seal, other_econtent))) == (
        "INVALID", "content_type_invalid")
    assert rejected(city.verifier.verify_record(rec, _edit(seal, attached))) == ("INVALID", "seal_malformed")
    info = cms.ContentInfo.load(seal)
    info["content_type"] = "enveloped_data"
    assert rejected(city.verifier.verify_record(rec, info.dump(force=True)))[0] == "INVALID"


def test_seals_of_one_sealer_share_a_frame(city) -> None:
    sealer = city.sealer(city.market)
    t = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
    seals = sealer.seal_records([record(number=f"No.{i}") for i in range(40)], signing_time=t)
    by_length = {}
    for seal in seals:
        by_length.setdefault(len(seal), []).append(read_seal(seal).frame)
    assert all(all(f is frames[0] for f in frames) for frames in by_length.values())
