"""An organization's seal over its life: rotation to a new seal certificate, and a reported compromise.

Both reach the chain, which is what standalone verifiers read: the contract records with every anchor the seal
current for the organization at that block, and a verifier requires the record's seal to be that one.

- **Rotation** (P-256 or SM2): the new seal becomes the one the library seals with (an issuance sealed with the
  former one and not yet stored is refused, ``seal_rotated``); every leaf still queued under the former seal is
  anchored while that seal is the one on chain; then ``rotateSeal``. Records sealed with former seals keep
  verifying. A rotation interrupted after the switch is finished by calling it again.
- **Compromise**: a ``revokeSeal`` transaction (``SealRevoked(account, fingerprint, compromiseTime)``) before the
  registry stores it. From then on the seal is not used: issuance answers 409 ``seal_compromised`` until a new
  seal is rotated in (no automatic rotation: the administrator chooses when, and the algorithm). Seals made, or
  anchored, at or after the compromise time fail ``seal_certificate_valid``; earlier ones keep verifying. Times on
  chain are whole seconds (block timestamps, the compromise time rounded down), so "anchored before" means a block
  timestamp strictly before the compromise second; see docs/proof-bundle.md for the clock tolerance.
"""

from __future__ import annotations

import datetime as dt
import logging

from ledger.app.library import Library
from ledger.app.onboarding import SEALED_KINDS, seal_algorithm_of
from ledger.core.errors import BadInput
from ledger.issue.anchoring import Anchorer
from ledger.storage import seals as seals_store
from ledger.storage.models import as_utc, utcnow

log = logging.getLogger(__name__)

# A compromise time may lie this far past the server's clock (clocks of the reporter and of this server differ).
COMPROMISE_CLOCK_TOLERANCE = dt.timedelta(seconds=2)


def rotate_seal(lib: Library, org_id: int, *, algorithm: str | None = None) -> int:
    """A new seal certificate for the organization (``algorithm`` "p256" or "sm2"; the current one's by
    default), registered on chain; returns its serial.

    Order: the new seal becomes the one the library seals with (issuances sealed with the former one and not
    yet stored are refused, ``seal_rotated``); every leaf still queued under the former seal is anchored while
    it is the seal on chain (unless it was reported compromised: those leaves are void and cannot be); then
    ``rotateSeal``. Former seals stay in the registry, so records they sealed still verify. A rotation
    interrupted after the switch is finished by calling it again (the seal on chain is then not the current one).
    """

    org = lib.organization(org_id)
    if org.kind not in SEALED_KINDS:
        raise BadInput("organization_has_no_seal", f"{org.name} 是{org.kind}机构，没有印章可轮换。 / {org.name} is a "
                       f"{org.kind} organisation: it has no seal to rotate (only departments and associations seal)",
                       kind=org.kind)
    if org.chain_address is None:
        raise BadInput("organization_not_activated", f"{org.name} has no seal to rotate: activate it first")
    contract = lib.require_contract()
    on_chain = contract.organization(org.chain_address)
    with lib.sessions() as session:
        current = seals_store.current_serial(session, org_id)
    current_fp = seals_store.fingerprint(lib.seal_registry().certificate(current).der)
    if on_chain is None or on_chain.seal_fingerprint == current_fp:  # not half-way: switch to a new seal
        authority = lib.seal_authority()
        former = authority.registry.certificate(current)
        info = authority.issue_seal(org.name, org.uscc, algorithm=seal_algorithm_of(algorithm or former.algorithm))
        with lib.sessions() as session, session.begin():
            seals_store.switch_seal(session, org_id, info, authority.registry.eseals.get(info.serial))
        lib.invalidate_seals()
        current, current_fp = info.serial, seals_store.fingerprint(info.der)
    if on_chain is not None and not on_chain.seal_revoked:
        Anchorer(lib).drain(org_id, on_chain.seal_fingerprint)
    contract.rotate_seal(lib.admin_account(), org.chain_address, current_fp)
    log.info("seal rotated", extra={"org_id": org_id, "serial": f"{current:x}"})
    return current


def report_seal_compromise(lib: Library, org_id: int, serial: int, compromise_time: dt.datetime) -> None:
    """Seals made with ``serial`` at or after ``compromise_time`` (rounded down to the second) no longer verify,
    nor do those anchored at or after it. Recorded on chain first (``revokeSeal``, which standalone verifiers
    read), then in the registry; the organization issues nothing more until its seal is rotated."""
    registry = lib.seal_registry()
    info = registry.certificate(serial)
    org = lib.organization(org_id)
    if info.credit_code != org.uscc:
        raise BadInput("seal_not_of_organization", f"seal {serial:x} belongs to {info.credit_code}, not {org.uscc}")
    when = as_utc(compromise_time).replace(microsecond=0)
    if when > utcnow() + COMPROMISE_CLOCK_TOLERANCE:
        raise BadInput("compromise_time_in_future", "泄露时间不能晚于现在 / the compromise time is in the future: "
                       "give the moment the key was last known safe, at the latest now")
    fingerprint = seals_store.fingerprint(info.der)
    contract = lib.require_contract()
    known = contract.seal(fingerprint)
    if known is None:
        raise BadInput("seal_not_on_chain", f"seal {serial:x} was never registered on chain, so it anchors nothing")
    if known.compromise_time and known.compromise_time <= int(when.timestamp()):
        when = dt.datetime.fromtimestamp(known.compromise_time, dt.UTC)  # the chain already has an earlier time
    else:
        contract.revoke_seal(lib.admin_account(), org.chain_address, fingerprint, int(when.timestamp()))
    with lib.sessions() as session, session.begin():
        seals_store.save_revocation(session, serial, when)
    lib.invalidate_seals()
    log.warning("seal compromise reported", extra={"org_id": org_id, "serial": f"{serial:x}", "time": when.isoformat()})
