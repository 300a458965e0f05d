"""The service's verification: one verifier per Library, over its contract and its seal registry.

A counter verifies by identifier (:func:`verify_identifier`), by a bundle someone presents
(:func:`verify_bundle`) or by a PDF (``ledger.verify.pdf``). The fragments themselves are
``ledger.verify.fragments``'; chain reads are cached by ``ledger.verify.chain_facts``: a first verification
costs one read of the status table the indexer keeps (``ledger.storage.leaf_statuses``) and, once per batch
root and worker, one read of the anchor it stored (``anchorOf`` for a root it has not reached): nothing per leaf
from the chain node; the events the indexer has not stored yet each worker reads itself, in one ``eth_getLogs``
every ``SERVICE_STATUS_MAX_AGE`` seconds. A status change this library makes shows at once, one made elsewhere
within ``SERVICE_STATUS_MAX_AGE``. VALID results are remembered per worker (``ledger.verify.remembered``).

The service trusts what its published trust list says (``ledger.verify.platform_trust``): its chain, every
deployment it recorded (a bundle naming an earlier one is verified against that contract) and its seal root.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from ledger.chain.contract import LedgerContract, uscc_hash
from ledger.chain.indexer import cursor_name
from ledger.storage.leaf_statuses import LeafStatusTable
from ledger.storage.models import Certificate, Organization
from ledger.verify.bundle import load_bundle
from ledger.verify.chain_facts import ChainReadNeeded
from ledger.verify.fragments import VerificationResult, Verifier
from ledger.verify.platform_trust import platform_trust
from ledger.verify.public_proof_checks import verify_checked
from ledger.verify.remembered import read_row_inputs, verify_stored

if TYPE_CHECKING:
    from ledger.app.library import Library

log = logging.getLogger(__name__)

SERVICE_STATUS_MAX_AGE = 1.0  # seconds a status read by the service may be reused


_service_verifiers: weakref.WeakKeyDictionary[Any, dict[str, Verifier]] = weakref.WeakKeyDictionary()


def service_verifier(lib: Library, address: str | None = None) -> Verifier:
    """The library's verifier of its contract (or of ``address``, an earlier deployment on its trust list): its
    seal registry and trust list, statuses cached briefly."""
    contract = lib.require_contract()
    verifiers = _service_verifiers.setdefault(lib, {})
    key = (address or contract.address).lower()
    verifier = verifiers.get(key)
    if verifier is None:
        trust = platform_trust(lib)
        if key != contract.address.lower():
            contract = LedgerContract(lib.chain, address, contract.abi)
        deployment = trust.deployment(contract.address)
        verifier = Verifier(contract, lib.seal_registry, trust, status_max_age=SERVICE_STATUS_MAX_AGE,
                            status_start_block=deployment.from_block if deployment else 0,
                            leaf_statuses=LeafStatusTable(lib.engine, cursor_name(contract),
                                                          anchors=contract is lib.contract),
                            successor=lambda identifier: _successor(lib, identifier))
        verifiers[key] = verifier
    return verifier


def warm_service_verifier(lib: Library) -> None:
    """Ask the chain node, as a worker starts, what the first verification of each issuing organization's records
    would ask it (its accounts and their registrations, the status events since the indexer's cursor): otherwise
    a fresh worker's first seconds of traffic queued behind those reads, one or two per organization on the chain
    node, and took the route's slower way meanwhile (at 1,000,000 certificates of 31 departments: 0.3-0.7 s
    answers for the first 2 s)."""
    with lib.sessions() as session:
        codes = session.scalars(select(Organization.uscc).where(
            Organization.chain_address.is_not(None), Organization.kind.in_(("department", "association")))).all()
    service_verifier(lib).chain.warm([uscc_hash(code) for code in codes])


def _successor(lib: Library, identifier: str) -> str | None:
    """The identifier of the newest version that supersedes ``identifier``, following renewals."""
    newer = aliased(Certificate)
    with lib.sessions() as session:
        current = None
        for _ in range(1000):
            nxt = session.scalar(select(newer.identifier).join(Certificate, newer.supersedes_id == Certificate.id)
                                 .where(Certificate.identifier == identifier, newer.supersedes_id.is_not(None)))
            if nxt is None:
                return current
            current = identifier = nxt
    return current


def verify_identifier(lib: Library, identifier: str) -> VerificationResult:
    """Verify a stored certificate by identifier (BadInput for a malformed one, NotFound for an unknown one).

    A VALID result is remembered per worker and returned again while its inputs are unchanged
    (``ledger.verify.remembered``): counters verify the same certificates again and again, and the record hash, proof
    and seal checks would give the same answer. Only an identifier that verified VALID is remembered, so
    any other input is parsed and refused as before."""
    return verify_stored(lib, service_verifier(lib), identifier)


def verifications_without_chain(lib: Library, identifiers: Sequence[str]
                                 ) -> list[VerificationResult | Exception | None]:
    """``verify_identifier``'s answers for ``identifiers`` where they can be had without asking the chain node: for
    a caller that must not wait on the network (the API's event loop). Remembered results qualify, and so do first
    verifications of certificates under roots this worker has seen, while its status map is current
    (``ChainFacts.offline``). Each answer is the result, None where the chain node would be asked, or the error its
    verification raised. Reads the database only, through this thread's own connection, their rows in one read
    where it can (``ledger.verify.remembered.read_row_inputs``); an error of that read is raised."""
    verifier = service_verifier(lib)
    answers: list[VerificationResult | Exception | None] = []
    with verifier.chain.offline():
        reads = read_row_inputs(lib, verifier, identifiers, own_connection=True)
        for identifier in identifiers:
            try:
                answers.append(verify_stored(lib, verifier, identifier, own_connection=True,
                                             read=None if reads is None else reads[identifier]))
            except ChainReadNeeded:
                answers.append(None)
            except Exception as error:  # noqa: BLE001 - this identifier's own, reported to its caller alone
                answers.append(error)
    return answers


def verify_bundle(lib: Library, bundle: Mapping[str, Any] | str | bytes,
                  document: bytes | None = None) -> VerificationResult:
    """Verify a bundle someone presents, against the library's trust list: a bundle naming an earlier trusted
    deployment is read from that contract, any other contract is refused (``untrusted_contract``)."""
    checked = load_bundle(bundle)
    verifier = service_verifier(lib)
    named = checked["chain"]["contract"]
    if not verifier.trust.trusts_contract(named):  # a deployment recorded since this worker read its list?
        verifier.trust = platform_trust(lib)
    if named.lower() != verifier.chain.contract.address.lower() and verifier.trust.trusts_contract(named):
        verifier = service_verifier(lib, named)
    return verify_checked(verifier, checked, document)
