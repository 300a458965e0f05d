"""A city seal authority with three departments (two P-256, one SM2) and a foreign root, built once."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from signer.authority import SealAuthority
from signer.keystore import FileKeyStore
from signer.pkcs11_keystore import DEFAULT_MODULE, MODULE_ENV, PIN_ENV, TOKEN_ENV
from signer.pdf_seal import PdfSealer
from signer.record_seal import Sealer
from signer.verify import SealVerifier

MARKET = ("某市市场监督管理局", "11430000006122244L")
POLICE = ("某市公安局", "11430000006122252F")
CIVIL = ("某市民政局", "11430000006122260A")


def record(issuer: tuple[str, str] = MARKET, **extra: object) -> dict:
    rec = {
        "identifier": f"1.2.156.3005.2.11100000000013338W011.{issuer[1]}.20230000403.001.U",
        "number": "No.20240001",
        "type_code": "11100000000013338W011",
        "issuing_department_code": issuer[1],
        "issuer_name": issuer[0],
        "holder": "某某科技有限公司",
        "holder_id": "91430100MA4L0ABC9E",
        "issued_on": "2024-01-02",
        "valid_until": None,
        "fields": {"entity_type": "个人独资企业", "legal_representative": "李四", "established_on": "2020-05-01",
                   "unified_social_credit_code": "91430100MA4L0ABC9E"},
    }
    rec.update(extra)
    return rec


def der_to_pem(der: bytes, path: Path) -> Path:
    subprocess.run(["openssl", "x509", "-inform", "DER", "-out", str(path)], input=der, check=True)
    return path


@dataclass
class City:
    keystore: FileKeyStore
    authority: SealAuthority
    market: object
    police: object
    civil_sm2: object
    verifier: SealVerifier
    root_pem: Path
    tmp: Path

    def sealer(self, info) -> Sealer:
        return Sealer.load(self.keystore, self.authority.registry, info.serial)

    def pdf_sealer(self, info) -> PdfSealer:
        return PdfSealer.load(self.keystore, self.authority.registry, info.serial)


@pytest.fixture(scope="session")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    tmp = tmp_path_factory.mktemp("seals")
    keystore = FileKeyStore(tmp / "keys", password="test-password")
    authority = SealAuthority.create(keystore, now=datetime.now(timezone.utc) - timedelta(days=400))
    market = authority.issue_seal(*MARKET, valid_from=datetime.now(timezone.utc) - timedelta(days=365))
    police = authority.issue_seal(*POLICE)
    civil = authority.issue_seal(*CIVIL, algorithm="sm2")
    return City(keystore, authority, market, police, civil, SealVerifier(authority.registry),
                der_to_pem(authority.registry.root_der, tmp / "root.pem"), tmp)


@pytest.fixture(scope="session")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> tuple[FileKeyStore, SealAuthority]:
    """Another root issuing a certificate that claims to be the market department."""
    keystore = FileKeyStore(tmp_path_factory.mktemp("foreign") / "keys", password="x")
    authority = SealAuthority.create(keystore, name="城市电子印章管理中心")
    return keystore, authority


def need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is missing: apt-get install the packages in scripts/apt-packages.txt")


HSM_PIN = "4711-test"
HSM_TOKENS = ("certledger-test", "certledger-spare")


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """SoftHSM2 tokens in a folder of the session's own; the environment that names the first one.

    SoftHSM2 reads SOFTHSM2_CONF and its token folder once per process, so every token the tests use is
    made here, before any test loads the library.
    """
    need("softhsm2-util")
    if not os.path.exists(DEFAULT_MODULE):
        pytest.fail(f"{DEFAULT_MODULE} is missing: apt-get install softhsm2 (scripts/apt-packages.txt)")
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    before = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    for label in HSM_TOKENS:
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", HSM_PIN,
                        "--so-pin", "so-" + HSM_PIN], check=True, capture_output=True)
    yield {TOKEN_ENV: HSM_TOKENS[0], PIN_ENV: HSM_PIN, MODULE_ENV: DEFAULT_MODULE}
    if before is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = before
