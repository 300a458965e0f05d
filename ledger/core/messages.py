"""The message catalogue: every error code and check reason in Chinese (zh-CN) and English, one data file.

``messages.json`` beside this module holds, per code, the two texts; also the check (fragment) names, the
verdicts with what each means and what to do next, and the status names. The API chooses the language by
``Accept-Language`` (zh-CN unless the caller prefers English) and keeps ``code`` as is; pages and the CLI read the
same texts. ``tests/test_messages.py`` finds every code in the source and fails when one lacks a text.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from collections.abc import Mapping
from typing import Any

LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"
_CJK = re.compile(r"[\u4e00-\u9fff]")


@cache
def _data() -> dict[str, Any]:
    return json.loads(resources.files("ledger.core").joinpath("messages.json").read_text(encoding="utf-8"))


CATALOGUE: dict[str, dict[str, str]] = _data()["codes"]


def known(code: str) -> bool:
    """Whether the catalogue has texts for ``code`` (itself, or a prefix such as ``contract_``)."""
    return code in CATALOGUE or any(code.startswith(p) for p in _data()["prefixes"])


def text(code: str, lang: str = DEFAULT) -> str:
    """The catalogue's sentence for ``code`` in ``lang``; the code itself when the catalogue lacks it."""
    texts = CATALOGUE.get(code) or next((t for p, t in _data()["prefixes"].items() if code.startswith(p)), None)
    return texts[lang if lang in LANGUAGES else DEFAULT] if texts else code


def section(name: str) -> dict[str, dict[str, Any]]:
    """A section of the catalogue other than codes: ``checks``, ``verdicts`` or ``statuses``."""
    return _data()[name]


def language(accept_language: str | None) -> str:
    """zh-CN or en from an ``Accept-Language`` header: the first of the two by the caller's preference
    (q-values), zh-CN when the caller names neither."""
    best, best_q = DEFAULT, -1.0
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        match = re.search(r"q=([0-9.]+)", params)
        if match:
            try:
                q = float(match.group(1))
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        lang = {"zh": "zh-CN", "en": "en"}.get(primary)
        if lang and q - i * 1e-6 > best_q:
            best, best_q = lang, q - i * 1e-6
    return best


def locale_language(environ: Mapping[str, str]) -> str:
    """zh-CN or en for a command line, from ``LANGUAGE``, ``LC_ALL`` or ``LANG`` (``en_US.UTF-8`` -> en); zh-CN for
    ``C``, ``POSIX`` or nothing."""
    for name in ("LANGUAGE", "LC_ALL", "LANG"):
        value = environ.get(name, "").split(":")[0].split(".")[0]
        if value and value not in ("C", "POSIX"):
            return language(value.replace("_", "-"))
    return DEFAULT


def localized(code: str, message: str, lang: str = DEFAULT) -> str:
    """The message a person reads for ``code``: the catalogue's sentence in ``lang``, then the specific message
    (what exactly, and the fix) when it adds something. A specific message that already begins with the Chinese
    sentence (``中文 / English``) is kept as it is in Chinese."""
    sentence = text(code, lang)
    if not message or sentence == code:
        return message or sentence
    if lang == DEFAULT and (message.startswith(sentence.rstrip("。")) or _CJK.match(message)):
        return message
    return f"{sentence} {message}"
