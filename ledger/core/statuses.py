"""Certificate status codes, and the status a person is shown.

The codes are the national e-certificate interface's (01 valid, 02 suspended, 03 revoked, 04 cancelled,
05 expired, 07 withdrawn) plus 08, ours, for a version superseded by a renewal or an amendment. The
contract stores them per leaf; expiry (05) is never stored: it follows from the validity period, judged
by the date in China.
"""

from __future__ import annotations

import datetime as dt
from enum import IntEnum

CHINA_TIME = dt.timezone(dt.timedelta(hours=8))
EXPIRED = "05"
STATUS_NAMES = {1: "valid", 2: "suspended", 3: "revoked", 4: "cancelled", 5: "expired", 7: "withdrawn",
                8: "superseded"}


class LeafStatus(IntEnum):
    """On-chain codes; they equal the national interface's status codes (08 is ours: superseded)."""

    VALID = 1
    SUSPENDED = 2
    REVOKED = 3
    CANCELLED = 4
    WITHDRAWN = 7
    SUPERSEDED = 8


def today_china(now: dt.datetime | None = None) -> dt.date:
    """The date in China, against which validity periods are judged."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(CHINA_TIME).date()


def shown_status(status: str, valid_until: dt.date | None, today: dt.date | None = None) -> str:
    """The status to show: 05 (expired) for a valid certificate past its validity period, else as stored."""
    if status == "01" and valid_until is not None and valid_until < (today or today_china()):
        return EXPIRED
    return status
