"""The lifecycle module against the real chain and both databases: crash-safety (the chain ahead of the
database is recorded, never sent twice), mass changes in chunks that fit the block gas limit, the
contract refusing another department's account, shown expiry, and the CLI."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from ledger.core import statuses
from ledger.core.errors import (
    BadInput,
    CertledgerError,
    ChainRevert,
    Conflict,
    NotFound,
    TooLarge,
)
from ledger.core.statuses import LeafStatus
from ledger.issue import status_changes, versions
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_many
from ledger.storage.certificate_anchors import CertificateAnchor
from ledger.storage.models import Batch, Certificate, CertificateEvent
from ledger.verify.service import verify_identifier
from tests.fixtures.library import LibraryEnv, sample_request

pytestmark = pytest.mark.chains("anvil", "hardhat", "besu")

CLI = str(Path(sys.executable).parent / "certledger")


def _issued(env: LibraryEnv, n: int = 1, *, anchor: bool = True, **overrides: object) -> list[str]:
    ctype = env.types["business_licence"]
    issued = issue_many(env.lib, env.departments["market"], [sample_request(ctype, **overrides) for _ in range(n)])
    if anchor:
        Anchorer(env.lib).run_once(force=True)
    return [i.identifier for i in issued]


def _row(env: LibraryEnv, ident: str) -> tuple[Certificate, bytes]:
    with env.lib.sessions() as session:
        cert = session.execute(select(Certificate).where(Certificate.identifier == ident)).scalar_one()
        return cert, session.get(Batch, session.get(CertificateAnchor, cert.id).batch_id).root


def _events(env: LibraryEnv, cert_id: int) -> list[CertificateEvent]:
    with env.lib.sessions() as session:
        return list(session.execute(select(CertificateEvent).where(CertificateEvent.certificate_id == cert_id)
                                    .order_by(CertificateEvent.id)).scalars())


def test_a_status_already_set_on_chain_is_recorded_not_sent_again(library_env: LibraryEnv) -> None:
    """A crash after the chain transaction and before the database commit: the retry records it."""
    env = library_env
    market = env.departments["market"]
    (ident,) = _issued(env)
    cert, root = _row(env, ident)
    tx = env.lib.contract.set_status(env.lib.org_account(market), root, cert.leaf, LeafStatus.REVOKED)
    assert _row(env, ident)[0].status == "01"  # the chain is ahead of the database

    result = status_changes.change_status(env.lib, market, [ident], "revoke", "重试")
    assert (result.changed, result.already_on_chain, result.transactions) == (0, 1, [])
    assert _row(env, ident)[0].status == "03"
    (event,) = _events(env, cert.id)
    assert event.action == "revoke" and event.status == "03" and "0x" + event.tx_hash.hex() == tx.tx_hash
    assert event.block_number == tx.block_number


def test_a_renewal_already_superseded_on_chain_is_completed(library_env: LibraryEnv) -> None:
    env = library_env
    market = env.departments["market"]
    (ident,) = _issued(env)
    cert, root = _row(env, ident)
    tx = env.lib.contract.set_status(env.lib.org_account(market), root, cert.leaf, LeafStatus.SUPERSEDED)
    block = env.lib.chain.w3.eth.block_number

    new = versions.new_version(env.lib, market, ident, "renew", {"valid_until": "2035-01-01"}, reason="重试")
    assert new.tx_hash == tx.tx_hash and env.lib.chain.w3.eth.block_number == block  # nothing sent
    assert _row(env, ident)[0].status == "08"
    with env.lib.sessions() as session:
        v2 = session.execute(select(Certificate).where(Certificate.identifier == new.issued.identifier)).scalar_one()
    assert v2.supersedes_id == cert.id and v2.version == 2 and v2.valid_until == dt.date(2035, 1, 1)


def test_mass_change_goes_in_chunks_under_the_gas_target(library_env: LibraryEnv,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    env = library_env
    limit = env.lib.chain.w3.eth.get_block("latest")["gasLimit"]
    budget = status_changes.gas_budget(env.lib)
    assert budget == int(limit * status_changes.GAS_HEADROOM) < limit // 2
    monkeypatch.setattr(status_changes, "STATUS_GAS_PER_LEAF",
                        (budget - status_changes.STATUS_GAS_BASE - status_changes.STATUS_GAS_PER_ROOT) // 9)  # 9 per chunk
    idents = _issued(env, 25)  # one batch: one root
    result = status_changes.change_status(env.lib, env.departments["market"], idents, "suspend", "批量暂停")
    assert [t.certificates for t in result.transactions] == [9, 9, 7] and result.changed == 25
    assert all(t.gas_used < limit // 2 for t in result.transactions)
    assert len({t.block_number for t in result.transactions}) == 3
    for ident in idents:
        cert, root = _row(env, ident)
        assert cert.status == "02" and env.lib.contract.status_of(env.departments["market"].chain_address, root,
                                                                  cert.leaf) == 2
        assert verify_identifier(env.lib, ident).check("status").reason == "suspended"


def test_the_contract_refuses_another_departments_account(library_env: LibraryEnv) -> None:
    env = library_env
    (ident,) = _issued(env)
    cert, root = _row(env, ident)
    contract, land = env.lib.contract, env.lib.org_account(env.departments["land"])
    with pytest.raises(NotFound) as refused:
        contract.set_status(land, root, cert.leaf, LeafStatus.REVOKED)  # the client checks first...
    assert refused.value.code == "root_unknown"
    fn = contract.contract.functions.setStatus(root, cert.leaf, int(LeafStatus.REVOKED), 0)
    with pytest.raises(ChainRevert) as reverted:  # ...and the contract refuses a raw transaction itself
        contract.client.transact(land, {"to": contract.address, "data": fn._encode_transaction_data(), "value": 0},
                                 contract.decoder)
    assert reverted.value.error_name == "UnknownRoot"  # land never anchored that root: it has no statuses there
    fn = contract.contract.functions.setStatusMany([root], [[cert.leaf]], int(LeafStatus.REVOKED), 0)
    with pytest.raises(ChainRevert) as reverted:
        contract.client.transact(land, {"to": contract.address, "data": fn._encode_transaction_data(), "value": 0},
                                 contract.decoder, gas=500_000)  # sent without estimating: refused on chain
    assert reverted.value.error_name == "UnknownRoot"
    market = env.departments["market"].chain_address
    assert contract.status_of(market, root, cert.leaf) == 1 and _row(env, ident)[0].status == "01"


def test_suspension_holds_across_renewal_and_amendment(library_env: LibraryEnv) -> None:
    """A renewal or amendment of a suspended certificate would issue a valid new version and so lift the
    suspension: refused (409 certificate_suspended) until the department reinstates it."""
    env = library_env
    market = env.departments["market"]
    (ident,) = _issued(env)
    cert = _row(env, ident)[0]
    status_changes.change_status(env.lib, market, [ident], "suspend", "经营异常")
    for action, changes in (("renew", {"valid_until": "2036-01-01"}), ("amend", {"fields": {"address": "新址"}})):
        with pytest.raises(Conflict) as refused:
            versions.new_version(env.lib, market, ident, action, changes, reason="试图绕过暂停")
        assert refused.value.code == "certificate_suspended" and "reinstate" in refused.value.message
        assert refused.value.message.startswith("证照已暂停")
    assert _row(env, ident)[0].status == "02"
    with env.lib.sessions() as session:
        assert session.scalar(select(Certificate.id).where(Certificate.supersedes_id == cert.id)) is None
    status_changes.change_status(env.lib, market, [ident], "reinstate", "异常已解除")
    new = versions.new_version(env.lib, market, ident, "renew", {"valid_until": "2036-01-01"}, reason="延续")
    assert new.supersedes == ident and _row(env, ident)[0].status == "08"


def test_bad_input_is_refused_before_anything_changes(library_env: LibraryEnv) -> None:
    """Refusals the API's request models cannot reach (the CLI and library callers can): each a 4xx code."""
    env = library_env
    market = env.departments["market"]
    today = statuses.today_china().isoformat()
    (ident,) = _issued(env, issue_date=today, valid_from=today, valid_until="2030-06-30")
    cert_id = _row(env, ident)[0].id
    refusals: list[tuple[type[CertledgerError], str, Callable[[], object]]] = [
        (BadInput, "action_unknown", lambda: status_changes.change_status(env.lib, market, [ident], "expire", "x")),
        (BadInput, "reason_invalid", lambda: status_changes.change_status(env.lib, market, [ident], "revoke", " ")),
        (BadInput, "reason_code_invalid",
         lambda: status_changes.change_status(env.lib, market, [ident], "revoke", "x", reason_code=2**16)),
        (BadInput, "identifiers_empty", lambda: status_changes.change_status(env.lib, market, [], "revoke", "x")),
        (TooLarge, "too_many_identifiers",
         lambda: status_changes.change_status(env.lib, market, [ident] * (status_changes.MAX_IDENTIFIERS + 1), "revoke", "x")),
        (BadInput, "action_unknown", lambda: versions.new_version(env.lib, market, ident, "revoke", {}, reason="x")),
        (BadInput, "request_invalid", lambda: versions.new_version(env.lib, market, ident, "renew", [], reason="x")),
        (BadInput, "field_not_changeable",
         lambda: versions.new_version(env.lib, market, ident, "renew", {"fields": {}}, reason="x")),
        (BadInput, "renewal_period_unchanged",
         lambda: versions.new_version(env.lib, market, ident, "renew", {"valid_until": "2030-06-30"}, reason="x")),
    ]
    for kind, code, call in refusals:
        with pytest.raises(kind) as refused:
            call()
        assert refused.value.code == code and 400 <= refused.value.http_status < 500
    assert _row(env, ident)[0].status == "01" and _events(env, cert_id) == []
    with env.lib.sessions() as session:
        assert session.scalar(select(Certificate.id).where(Certificate.supersedes_id == cert_id)) is None


def test_shown_status() -> None:
    today = dt.date(2026, 11, 27)
    assert statuses.shown_status("01", dt.date(2026, 11, 26), today) == "05"
    assert statuses.shown_status("01", dt.date(2026, 11, 27), today) == "01"  # valid through its last day
    assert statuses.shown_status("01", None, today) == "01"
    assert statuses.shown_status("03", dt.date(2020, 1, 1), today) == "03"
    # China time: 2026-11-26 17:00 UTC is already the 27th in China
    assert statuses.today_china(dt.datetime(2026, 11, 26, 17, 0, tzinfo=dt.UTC)) == today


@pytest.mark.chains()  # the command line adds nothing chain-specific: the default chain only
@pytest.mark.one_database  # nor database-specific: tests/api cover the same changes on both
def test_cli_status_renew_amend_history(library_env: LibraryEnv, tmp_path: Path) -> None:
    env = library_env
    market = env.departments["market"].uscc
    a, b = _issued(env, 2)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CLI, *args], env=env.env, capture_output=True, text=True, timeout=120)

    done = cli("status", a, "suspend", "--org", market, "--reason", "命令行暂停")
    assert done.returncode == 0, done.stderr
    assert "1 changed" in done.stdout and _row(env, a)[0].status == "02"
    refused = cli("status", a, "suspend", "--org", env.departments["land"].uscc, "--reason", "x")
    assert refused.returncode == 2 and "not_your_certificate" in refused.stderr
    suspended = cli("renew", a, "--org", market, "--reason", "延续", "--valid-until", "2036-06-30")
    assert suspended.returncode == 2 and "certificate_suspended" in suspended.stderr
    assert cli("status", a, "reinstate", "--org", market, "--reason", "恢复").returncode == 0

    renewed = cli("renew", a, "--org", market, "--reason", "延续", "--valid-until", "2036-06-30")
    assert renewed.returncode == 0, renewed.stderr
    v2 = renewed.stdout.strip()
    assert v2.split(".")[-2] == "002" and _row(env, a)[0].status == "08"

    changes = tmp_path / "changes.json"
    changes.write_text('{"fields": {"address": "长沙市示例路3号"}}', encoding="utf-8")
    amended = cli("amend", b, str(changes), "--org", market, "--reason", "住所变更")
    assert amended.returncode == 0, amended.stderr
    changes.write_text('{"holder_id": "91430100MA4L0000X1"}', encoding="utf-8")
    holder = cli("amend", amended.stdout.strip(), str(changes), "--org", market, "--reason", "换人")
    assert holder.returncode == 2 and "amendment_changes_holder" in holder.stderr

    listing = tmp_path / "ids.txt"
    listing.write_text(f"{v2}\n", encoding="utf-8")
    queued = cli("status-many", "revoke", str(listing), "--org", market, "--reason", "x")
    assert queued.returncode == 2 and "certificate_not_anchored" in queued.stderr

    shown = cli("history", a, "--json")
    assert shown.returncode == 0, shown.stderr
    assert v2 in shown.stdout and '"renew"' in shown.stdout and '"suspend"' in shown.stdout
