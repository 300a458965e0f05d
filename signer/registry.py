"""The public trust data a verifier needs: city root, every seal certificate ever issued, revocations.

Plain data (DER + times): the library keeps it in its database (``ledger.storage.seals``); no secrets here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ledger.core.errors import NotFound

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
