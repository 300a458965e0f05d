import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from ledger.core.errors import BadInput

from .conftest import CIVIL, MARKET, der_to_pem


def test_seal_certificate_names_department(city) -> None:
    cert = x509.load_der_x509_certificate(city.market.der)
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == MARKET[0]
    assert cert.subject.get_attributes_for_oid(x509.ObjectIdentifier("2.5.4.97"))[0].value == MARKET[1]
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.content_commitment
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert city.market.algorithm == "p256" and city.civil_sm2.algorithm == "sm2"


@pytest.mark.parametrize("which", ["market", "civil_sm2"])
def test_openssl_verifies_chain(city, which, tmp_path) -> None:
    pem = der_to_pem(getattr(city, which).der, tmp_path / "seal.pem")
    r = subprocess.run(["openssl", "verify", "-CAfile", str(city.root_pem), str(pem)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_rotation_keeps_old_certificate(city) -> None:
    before = city.authority.registry.for_department(CIVIL[1])
    new = city.authority.rotate_seal(CIVIL[1])
    after = city.authority.registry.for_department(CIVIL[1])
    assert after[0].serial == new.serial and {i.serial for i in before} <= {i.serial for i in after}
    assert new.algorithm == "sm2" and new.serial in city.authority.registry.eseals


@pytest.mark.parametrize("code", ["not-a-code", "11430000006122244M", "11430000006122245J"])
def test_bad_credit_code_refused(city, code: str) -> None:
    """Shape, GB 32100 check character and GB 11714 organisation-code check are all enforced."""
    with pytest.raises(BadInput) as e:
        city.authority.issue_seal("某局", code)
    assert e.value.code == "uscc_invalid"


def test_revoking_unknown_serial(city) -> None:
    with pytest.raises(Exception):
        city.authority.revoke_seal(12345, datetime.now(timezone.utc) - timedelta(hours=1))
