"""The public trust data a verifier needs: city root, every seal certificate ever issued, revocations.

Plain data (DER + times) so the library service can persist it in its database; no secrets here.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger.core.errors import BadInput, NotFound

from .certificates import SealCertInfo, describe_certificate, utc


@dataclass
class SealRegistry:
    root_der: bytes
    seal_certificates: list[bytes] = field(default_factory=list)
    revocations: dict[int, datetime] = field(default_factory=dict)  # serial -> compromise time
    eseals: dict[int, bytes] = field(default_factory=dict)  # serial -> GB/T 38540 SESeal of an SM2 seal

    def add(self, cert_der: bytes, eseal_der: bytes | None = None) -> SealCertInfo:
        info = describe_certificate(cert_der)
        if cert_der not in self.seal_certificates:
            self.seal_certificates.append(cert_der)
        if eseal_der is not None:
            self.eseals[info.serial] = eseal_der
        return info

    def revoke(self, serial: int, compromise_time: datetime) -> None:
        """Seals made at or after ``compromise_time`` are invalid; earlier ones stay valid."""
        if all(describe_certificate(d).serial != serial for d in self.seal_certificates):
            raise NotFound("seal_certificate_not_found", f"no seal certificate with serial {serial:x}")
        self.revocations[serial] = utc(compromise_time)

    def certificate(self, serial: int) -> SealCertInfo:
        for der in self.seal_certificates:
            info = describe_certificate(der)
            if info.serial == serial:
                return info
        raise NotFound("seal_certificate_not_found", f"no seal certificate with serial {serial:x}")

    def for_department(self, credit_code: str) -> list[SealCertInfo]:
        """Current and former seal certificates of a department, newest first."""
        infos = [(i.not_before, n, i) for n, i in enumerate(map(describe_certificate, self.seal_certificates))
                 if i.credit_code == credit_code]
        return [i for _, _, i in sorted(infos, key=lambda e: e[:2], reverse=True)]

    def to_dict(self) -> dict[str, Any]:
        b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
        return {
            "root": b64(self.root_der),
            "seal_certificates": [b64(d) for d in self.seal_certificates],
            "revocations": {f"{s:x}": t.isoformat() for s, t in self.revocations.items()},
            "eseals": {f"{s:x}": b64(d) for s, d in self.eseals.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SealRegistry:
        try:
            return cls(
                root_der=base64.b64decode(data["root"]),
                seal_certificates=[base64.b64decode(d) for d in data.get("seal_certificates", [])],
                revocations={int(s, 16): utc(datetime.fromisoformat(t)) for s, t in data.get("revocations", {}).items()},
                eseals={int(s, 16): base64.b64decode(d) for s, d in data.get("eseals", {}).items()},
            )
        except (KeyError, ValueError, TypeError) as e:
            raise BadInput("seal_registry_malformed", f"the seal registry data is malformed: {e}") from e
