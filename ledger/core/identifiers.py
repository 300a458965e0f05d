"""Certificate identifiers (证照标识, GB/T 36904) and the serials inside them.

``1.2.156.3005.2.<type code>.<issuer USCC>.<serial>.<version>.<check>``: the type code is the
defining department's credit code plus 3 digits, the serial is the issue year plus a 7-digit
sequence, the version has 3 digits, and the check character is ISO/IEC 7064 MOD 37,36 over
type + issuer + serial + version.

Serials are reserved in the database (``ledger.storage.serials``); this module only shapes and checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledger.core.errors import BadInput
from ledger.core.uscc import validate_uscc

PREFIX = "1.2.156.3005.2"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SERIAL_DIGITS = 7
_SHAPE = re.compile(r"^1\.2\.156\.3005\.2\.([0-9A-Z]{21})\.([0-9A-Z]{18})\.(\d{11})\.(\d{3})\.([0-9A-Z])$")


_VALUE = {ch: n for n, ch in enumerate(_ALPHABET)}


def mod37_36(chars: str) -> str:
    """ISO/IEC 7064 MOD 37,36 check character over digits and upper-case letters."""
    p, value = 36, _VALUE
    for ch in chars:
        p = ((p + value[ch]) % 36 or 36) * 2 % 37
    return _ALPHABET[(37 - p) % 36]


@dataclass(frozen=True)
class Identifier:
    type_code: str
    issuer_code: str
    serial: str
    version: int
    check: str

    def __str__(self) -> str:
        return f"{PREFIX}.{self.type_code}.{self.issuer_code}.{self.serial}.{self.version:03d}.{self.check}"

    @property
    def year(self) -> int:
        return int(self.serial[:4])


def validate_type_code(code: str) -> str:
    """A type code is a valid credit code (the defining department) followed by 3 digits."""
    if not isinstance(code, str) or len(code) != 21 or not code[18:].isdigit():
        raise BadInput(
            "type_code_invalid",
            f"{code!r} is not a certificate type code: it must be the defining department's "
            "18-character unified social credit code followed by 3 digits",
            type_code=code,
        )
    try:
        validate_uscc(code[:18])
    except BadInput as e:
        raise BadInput("type_code_invalid", f"type code {code!r}: {e.message}", type_code=code) from e
    return code


def make_serial(year: int, sequence: int) -> str:
    if not 1 <= sequence < 10**SERIAL_DIGITS or not 1000 <= year <= 9999:
        raise BadInput("serial_invalid", f"serial {year}/{sequence} is out of range (year 4 digits, sequence 1-9999999)")
    return f"{year:04d}{sequence:0{SERIAL_DIGITS}d}"


def make_identifier(type_code: str, issuer_code: str, serial: str, version: int) -> str:
    """The identifier string, check character included; every part is validated."""
    validate_type_code(type_code)
    validate_uscc(issuer_code)
    if not (isinstance(serial, str) and len(serial) == 11 and serial.isdigit()):
        raise BadInput("serial_invalid", f"serial {serial!r} must be 11 digits: the year and a 7-digit sequence")
    if not (isinstance(version, int) and 1 <= version <= 999):
        raise BadInput("version_invalid", f"version {version!r} must be an integer from 1 to 999")
    body = f"{type_code}{issuer_code}{serial}{version:03d}"
    return str(Identifier(type_code, issuer_code, serial, version, mod37_36(body)))


def parse_identifier(s: str) -> Identifier:
    """Parse and fully validate an identifier from outside (raises BadInput saying what is wrong)."""
    if not isinstance(s, str):
        raise BadInput("identifier_malformed", "a certificate identifier must be a string")
    m = _SHAPE.match(s.strip())
    if m is None:
        raise BadInput(
            "identifier_malformed",
            f"{s!r} is not a certificate identifier: expected "
            "1.2.156.3005.2.<21-char type code>.<18-char issuer code>.<11-digit serial>.<3-digit version>.<check>",
            identifier=s,
        )
    type_code, issuer, serial, version, check = m.groups()
    for part, validate in ((type_code, validate_type_code), (issuer, validate_uscc)):
        try:
            validate(part)
        except BadInput as e:
            raise BadInput("identifier_malformed", f"identifier {s!r}: {e.message}", identifier=s) from e
    if int(version) == 0:
        raise BadInput("identifier_malformed", f"identifier {s!r}: the version must be 001 or later", identifier=s)
    expected = mod37_36(type_code + issuer + serial + version)
    if check != expected:
        raise BadInput(
            "identifier_check_failed",
            f"identifier {s!r} fails its check character ({check!r}, expected {expected!r}): it was mistyped or altered",
            identifier=s,
        )
    return Identifier(type_code, issuer, serial, int(version), check)


