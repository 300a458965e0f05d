"""Named verification checks ("fragments") and the verdict derived from them.

Modelled on OpenAttestation's verifier: every check reports VALID, INVALID, SKIPPED or ERROR with a
machine-readable reason, and the verdict is VALID only when every required check is VALID.

The verdict has one more value than a check: PENDING (待上链), for a record that is sealed and recorded but whose
batch is not anchored yet (a check SKIPPED for a reason in ``PENDING_REASONS``, nothing failed). A young
certificate is never INVALID only because it is young.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable


class Status(str, Enum):
    VALID = "VALID"
    INVALID = "INVALID"
    SKIPPED = "SKIPPED"
    ERROR = "ERROR"
    PENDING = "PENDING"  # a verdict only: sealed and recorded, not yet anchored


PENDING_REASONS = frozenset({"not_yet_anchored"})


@dataclass(frozen=True)
class Check:
    """One named check: ``name`` says what was checked, ``reason`` is a stable code."""

    name: str
    status: Status
    reason: str
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        # by hand: dataclasses.asdict deep-copies and costs more than the check itself on the verify path
        return {"name": self.name, "status": self.status.value, "reason": self.reason, "message": self.message,
                "data": dict(self.data)}


def verdict(checks: Iterable[Check], required: Iterable[str]) -> Status:
    """INVALID if any check failed, ERROR if one could not run, PENDING if nothing failed but the anchor is still
    to come, VALID only if all required passed."""
    by_name = {c.name: c for c in checks}
    if any(c.status is Status.INVALID for c in by_name.values()):
        return Status.INVALID
    if any(c.status is Status.ERROR for c in by_name.values()):
        return Status.ERROR
    if any(c.status is Status.SKIPPED and c.reason in PENDING_REASONS for c in by_name.values()):
        return Status.PENDING
    for name in required:
        c = by_name.get(name)
        if c is None or c.status is not Status.VALID:
            return Status.INVALID
    return Status.VALID
