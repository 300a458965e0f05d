"""The one-shot production commands on a new platform, end to end as an operator runs them, on SQLite and
PostgreSQL: migrate, init (before and after the contract), deploy, activate, issue, anchor, trust export; then
the documented backup / restore round trip (docs/deployment.md, "Backup"): back up, wipe the home and the
database, restore, and an issued certificate verifies (with the standalone verifier too) and its PDF opens."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import text

from ledger.app.config import REPO_ROOT, Settings
from ledger.app.library import Library
from ledger.core.catalogue import department_uscc
from ledger.core.checks import Status
from ledger.issue.issuance import fetch_document
from ledger.storage.engine import make_engine, schema_revisions
from ledger.verify.service import verify_identifier
from tests.fixtures.cli import CLI
from tests.fixtures.db import PG_URL
from tests.fixtures.library import KEY_PASSWORD, sample_request

MARKET = department_uscc("市场监督管理局")


@dataclass
class Operator:
    env: dict[str, str]
    home: Path
    wipe_database: object

    def run(self, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([CLI, *args], env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), **self.env},
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == expect, f"certledger {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        assert "Warning" not in done.stderr, f"a dependency's warning printed:\n{done.stderr}"
        return done

    def library(self) -> Library:
        return Library.from_settings(Settings(home=self.home, rpc_url=self.env["CERTLEDGER_RPC_URL"],
                                              ipfs_api=self.env["CERTLEDGER_IPFS_API"], key_password=KEY_PASSWORD,
                                              light_kdf=True, database_url=self.env.get("DATABASE_URL"),
                                              contract_address=None))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def operator(request: pytest.FixtureRequest, tmp_path: Path, rpc_url: str, ipfs_api: str) -> Iterator[Operator]:
    home = tmp_path / "home"
    env = {"CERTLEDGER_HOME": str(home), "CERTLEDGER_RPC_URL": rpc_url, "CERTLEDGER_IPFS_API": ipfs_api,
           "CERTLEDGER_KEY_PASSWORD": KEY_PASSWORD, "CERTLEDGER_LIGHT_KDF": "1"}
    if request.param == "sqlite":
        yield Operator(env, home, lambda: [p.unlink() for p in home.glob("certledger.db*")])
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def wipe() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))

    env["DATABASE_URL"] = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        yield Operator(env, home, wipe)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _steps(output: str) -> dict[str, str]:
    """``init``'s report: step name -> outcome."""
    return {m.group(2): m.group(1) for m in re.finditer(r"^\s*(done|already|waiting)\s+([a-zA-Z ]+?)(?: \[city root\])?:",
                                                         output, re.MULTILINE)}


def _platform(op: Operator, tmp_path: Path) -> tuple[str, str]:
    """A new platform by the commands alone; returns an issued certificate's identifier and the admin API key."""
    assert "migrated from empty" in op.run("migrate").stdout
    assert "is current" in op.run("migrate").stdout
    first = op.run("init")
    assert _steps(first.stdout) == {"database schema": "already", "catalogue": "done", "city seal root": "done",
                                    "platform admin chain key": "done", "platform organisation": "done",
                                    "audit writer": "waiting", "admin API key": "done"}
    assert "[city root]" in first.stdout and "certledger deploy" in first.stderr
    admin_key = re.search(r"(clk_\S+)", first.stdout).group(1)
    deployed = op.run("deploy").stdout
    address = re.search(r"contract (0x[0-9a-fA-F]{40}) deployed in block (\d+)", deployed).group(1)
    assert f"already deployed: {address}" in op.run("deploy").stdout
    again = _steps(op.run("init").stdout)
    assert again["audit writer"] == "done" and again["city seal root"] == again["admin API key"] == "already"
    assert _steps(op.run("init").stdout)["audit writer"] == "already"
    op.run("activate", MARKET)
    lib = op.library()
    with lib.sessions() as session:
        from ledger.storage.models import CertificateType

        licence = session.query(CertificateType).filter_by(name="营业执照").one()
    request = tmp_path / "request.json"
    request.write_text(json.dumps(sample_request(licence, document="render")), encoding="utf-8")
    identifier = op.run("issue", str(request), "--org", MARKET).stdout.strip()
    assert "1 leaves" in op.run("anchor", "--now").stdout or "leaves" in op.run("anchor", "--now").stdout
    op.run("trust", "export", "-o", str(op.home / "trust.json"))
    return identifier, admin_key


def test_new_platform_backup_wipe_restore_round_trip(operator: Operator, tmp_path: Path) -> None:
    op = operator
    identifier, _admin_key = _platform(op, tmp_path)
    pdf_before = fetch_document(op.library(), identifier)

    written = op.run("backup", "--output", str(tmp_path / "backups")).stdout
    archive = Path(re.search(r"wrote (\S+\.tar)", written).group(1))
    assert archive.stat().st_mode & 0o077 == 0, "the archive is its owner's only"
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("manifest.json"))
    assert {"home/keys/admin.json", "home/deployment.json", "home/document-kek.key", "home/platform-secret.key",
            "home/trust.json"} <= names
    assert names - {"manifest.json"} == {m["name"] for m in manifest["members"]}
    head = schema_revisions(op.library().engine)[1]
    assert manifest["database"]["member"] in names and manifest["database"]["revision"] == head

    op.run("restore", str(archive), expect=2)  # the platform is still there: refused, nothing touched
    shutil.rmtree(op.home)
    op.wipe_database()
    damaged = tmp_path / "damaged.tar"
    _flip_a_byte(archive, damaged, "home/deployment.json")
    assert "backup_damaged" in op.run("restore", str(damaged), expect=2).stderr
    assert not (op.home / "keys").exists() and not (op.home / "deployment.json").exists(), \
        "a damaged archive restores nothing"

    assert "restored" in op.run("restore", str(archive)).stdout
    lib = op.library()
    assert verify_identifier(lib, identifier).verdict is Status.VALID
    pdf = fetch_document(lib, identifier)
    assert pdf == pdf_before and len(PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Kids"]) == 1
    bundle = tmp_path / "bundle.json"
    op.run("export-bundle", identifier, "-o", str(bundle))
    verified = op.run("verify", str(bundle), "--rpc", op.env["CERTLEDGER_RPC_URL"], "--trust",
                      str(op.home / "trust.json"), "--json")
    assert '"verdict": "VALID"' in verified.stdout


def _flip_a_byte(archive: Path, damaged: Path, member: str) -> None:
    with tarfile.open(archive) as src, tarfile.open(damaged, "w") as dst:
        for info in src.getmembers():
            data = src.extractfile(info).read()
            if info.name == member:
                data = bytes([data[0] ^ 1]) + data[1:]
            dst.addfile(info, io.BytesIO(data))


@pytest.mark.one_database  # the file is missing before any database is opened
def test_commands_answer_a_missing_file_in_one_line(operator: Operator, tmp_path: Path) -> None:
    for args in (["restore", str(tmp_path / "nope.tar")], ["issue", str(tmp_path / "nope.json"), "--org", MARKET],
                 ["verify", str(tmp_path / "nope.json"), "--rpc", "http://127.0.0.1:9", "--trust",
                  str(tmp_path / "nope-trust.json")]):
        done = operator.run(*args, expect=2)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "[file_not_found]" in lines[0] and "nope" in lines[0], done.stderr
