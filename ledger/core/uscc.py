"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

Every organisation on the ledger (departments, associations, counters, companies holding
certificates) is named by its 18-character code, and certificate identifiers embed them, so a
mistyped code must be caught where it enters. The layout is: registration authority (1 char),
organisation category (1), administrative division (6 digits), organisation code (9 chars, GB 11714,
with its own check character) and the code's check character.
"""

from __future__ import annotations

import hashlib

from ledger.core.errors import BadInput

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, Z, S, V
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# Registration authorities of GB 32100 (1 机构编制, 5 民政, 9 工商/市场监管, ...).
AUTHORITIES = frozenset("123456789ANY")
GOVERNMENT_BODY = "11"  # 机构编制 + 机关


_VALUE = {ch: n for n, ch in enumerate(ALPHABET)}


def check_char(first17: str) -> str:
    """GB 32100 check character of the first 17 characters."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def org_code_check(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation code body."""
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return {10: "X", 11: "0"}.get(c, str(c))


def _invalid(code: str, why: str) -> BadInput:
    return BadInput("uscc_invalid", f"{code!r} is not a valid unified social credit code: {why}", uscc=code)


def validate_uscc(code: str) -> str:
    """Return the normalised (upper-case) code or raise BadInput ``uscc_invalid`` saying what is wrong."""
    if not isinstance(code, str):
        raise BadInput("uscc_invalid", "a unified social credit code must be a string of 18 characters")
    c = code.strip().upper()
    if len(c) != 18:
        raise _invalid(code, f"it has {len(c)} characters, it needs 18")
    bad = sorted({ch for ch in c if ch not in ALPHABET})
    if bad:
        raise _invalid(code, f"it contains {''.join(bad)!r}; only digits and letters except I, O, Z, S, V are used")
    if c[0] not in AUTHORITIES:
        raise _invalid(code, f"{c[0]!r} is not a registration authority code (1-9, A, N, Y)")
    if not c[2:8].isdigit():
        raise _invalid(code, f"characters 3-8 ({c[2:8]!r}) must be a 6-digit administrative division code")
    if org_code_check(c[8:16]) != c[16]:
        raise _invalid(code, f"the organisation code {c[8:17]!r} fails its GB 11714 check character")
    expected = check_char(c[:17])
    if expected != c[17]:
        raise _invalid(code, f"the check character is {c[17]!r} but should be {expected!r} (a character is mistyped)")
    return c


def make_uscc(prefix: str, division: str, body8: str) -> str:
    """Assemble a valid code from its parts, computing both check characters."""
    first17 = f"{prefix}{division}{body8}{org_code_check(body8)}"
    return validate_uscc(first17 + check_char(first17))


def derive_uscc(seed: str, *, division: str, prefix: str = GOVERNMENT_BODY) -> str:
    """A stable, valid code for ``seed`` (e.g. a department's name), for data that carries none."""
    body8 = f"{int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], 'big') % 10**8:08d}"
    return make_uscc(prefix, division, body8)
