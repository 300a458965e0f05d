"""Text that may be sealed: names and field values are NFC-normalised, and invisible or deceptive characters refused.

Refused, not silently removed (a sealed record must say exactly what the issuer sent): NUL and the other C0
controls, DEL and the C1 controls, the bidirectional overrides and isolates (U+202A-202E, U+2066-2069) that make
text display other than it reads, zero-width characters (U+200B-200D, U+2060, U+FEFF) that make two names look
alike, and lone surrogates. Tab and line feed are allowed only where ``multiline`` says so. NFC makes the two
ways of writing one accented or composed character one record, so the same name hashes to the same leaf.
"""

from __future__ import annotations

import re
import unicodedata

from ledger.core.errors import BadInput

_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060\ufeff\ud800-\udfff]")
_MULTILINE_OK = frozenset("\t\n")


def clean_text(value: str, field: str, *, multiline: bool = False) -> str:
    """``value`` in NFC; ``text_invalid`` (422) naming the field and the first refused character."""
    for match in _FORBIDDEN.finditer(value):
        char = match.group()
        if multiline and char in _MULTILINE_OK:
            continue
        shown = f"U+{ord(char):04X}"
        raise BadInput("text_invalid",
                       f"{field} 含有不允许的字符 {shown}（控制字符、双向覆盖或零宽字符）。 / "
                       f"{field} holds the character {shown} (a control, bidi override or zero-width character), "
                       "which is not allowed", field=field, character=shown, position=match.start())
    return unicodedata.normalize("NFC", value)
