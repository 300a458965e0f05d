"""The message catalogue (``ledger/core/messages.json``) is complete: every error code and every check reason the
source can produce has zh-CN and English text.

The codes are discovered from the source, not listed by hand, so a code another branch adds fails this test at
merge until the catalogue has its two texts: the first string argument of every call to a ``CertledgerError``
class (or a helper that builds one), the reason of every ``Check(...)`` (both of ``a if c else b``); codes built
at run time are expanded from what they are built of. verifier-js's codes (``verifier-js/src``: its checks'
reasons and its errors' codes) are scanned too, since the pages show what it answers.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from api.errors import HTTP_CODES
from ledger.core import messages
from ledger.core.record import RECORD_KINDS
from ledger.core.statuses import LeafStatus
from ledger.storage.faults import _MESSAGES as STORAGE_MESSAGES

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("api", "cli", "ledger", "signer")
CODE = re.compile(r"^[a-z][a-z0-9_]*$")
ERROR_CLASSES = {"CertledgerError", "BadInput", "NotFound", "Forbidden", "Unauthorized", "Conflict", "TooLarge",
                 "ServiceUnavailable", "RateLimited", "ChainRevert", "SealRejected", "_bad", "_invalid", "__init__"}
# helper -> the position of the code among its arguments
CODE_ARGUMENT = {"Check": 2, "_text": 2}


def _called(node: ast.Call) -> str | None:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def source_codes() -> set[str]:
    """Every code literal the source passes where an error code or a check reason goes."""
    found: set[str] = set()
    for package in SOURCES:
        for path in (ROOT / package).rglob("*.py"):
            if "versions" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = _called(node)
                position = CODE_ARGUMENT.get(name or "", 0 if name in ERROR_CLASSES else None)
                if position is None or len(node.args) <= position:
                    continue
                arg = node.args[position]
                for value in (arg.body, arg.orelse) if isinstance(arg, ast.IfExp) else (arg,):  # a if c else b
                    if isinstance(value, ast.Constant) and isinstance(value.value, str) and CODE.match(value.value):
                        found.add(value.value)
    return found


def built_codes() -> set[str]:
    """Codes built at run time (f-strings), expanded from what they are built of."""
    roles = {kind.anchored_by for kind in RECORD_KINDS.values()}
    out = set(HTTP_CODES.values()) | set(STORAGE_MESSAGES) | {"within_validity", "long_term", "rate_limited",
                                                                "internal_error", "unknown"}
    out |= {s.name.lower() for s in LeafStatus}  # the status fragment's reasons
    # refused before routing (api.jsonguard.problem returns them) and the lockouts (ledger.holders.attempts)
    out |= {"json_too_deep", "number_invalid", "json_encoding_invalid", "use_code_attempts_exceeded",
            "unknown_identifier_attempts_exceeded"}
    for role in roles:
        out |= {f"no_{role}_anchor", f"no_{role}_code", f"{role}_mismatch", f"{role}_and_seal_registered",
                f"not_{role}", f"anchored_by_{role}", f"issuer_not_{role}", role}
    for what in ("anvil", "hardhat", "ipfs"):
        out |= {f"{what}_exited", f"{what}_timeout"}
    for node in ("anvil", "hardhat", "ipfs"):
        out.add(f"{node}_node_down")
    for what in ("root", "leaf", "hash"):
        out.add(f"{what}_malformed")
    return out


def _arguments(text: str, start: int) -> list[str]:
    """The top-level arguments of the JavaScript call whose ``(`` is just before ``start`` (strings skipped)."""
    args, depth, quote, begin, i = [], 0, "", start, start
    while i < len(text):
        c = text[i]
        if quote:
            i += 2 if c == "\\" else 1
            quote = "" if c == quote else quote
            continue
        if c in "'\"`":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}" and depth:
            depth -= 1
        elif c == ")" or (c == "," and not depth):
            args.append(text[begin:i])
            if c == ")":
                return args
            begin = i + 1
        i += 1
    return args


def javascript_codes() -> set[str]:
    """Every code verifier-js (``verifier-js/src/*.js``) can put in a check or an error, as the pages show both:
    the reason of ``check(name, status, reason, ...)``, the code of its error classes, ``code: '...'``."""
    calls = {"check": 2, "new BadInput": 0, "new ChainError": 0, "new RecordError": 0, "new SealRejected": 0}
    call = re.compile(r"\b(" + "|".join(calls) + r")\(")
    found = {"aud_mismatch", "nonce_mismatch"}  # sd_jwt.js's `${claim}_mismatch`
    for path in (ROOT / "verifier-js" / "src").glob("*.js"):
        text = path.read_text(encoding="utf-8")
        for m in call.finditer(text):
            args = _arguments(text, m.end())
            if len(args) > calls[m.group(1)]:
                found |= set(re.findall(r"'([a-z][a-z0-9_]*)'", args[calls[m.group(1)]]))
        found |= set(re.findall(r"\b(?:this\.code =|code:) '([a-z][a-z0-9_]*)'", text))
    return found


def test_the_scan_finds_the_codes_it_should() -> None:
    found = source_codes()
    assert {"certificate_not_found", "not_yet_anchored", "leaf_mismatch", "api_key_missing", "seal_malformed",
            "field_missing"} <= found
    assert len(found) > 200
    javascript = javascript_codes()
    assert {"disclosure_not_signed", "jsonld_invalid", "own_issuer", "foreign_issuer_trusted", "bundle_malformed",
            "seal_certificate_malformed", "seal_not_der", "fetch_failed"} <= javascript
    assert len(javascript) > 100


def test_every_code_has_chinese_and_english_text() -> None:
    missing = sorted(c for c in source_codes() | built_codes() | javascript_codes() if not messages.known(c))
    assert not missing, f"add these codes to ledger/core/messages.json (zh-CN and en): {missing}"
    for code, texts in messages.CATALOGUE.items():
        assert set(texts) == {"zh-CN", "en"}, code
        assert re.search(r"[\u4e00-\u9fff]", texts["zh-CN"]), f"{code}: the zh-CN text is not Chinese"
        assert texts["en"] and not re.search(r"[\u4e00-\u9fff]", texts["en"]), f"{code}: the en text"


def test_languages_follow_accept_language_chinese_by_default() -> None:
    assert messages.language(None) == "zh-CN"
    assert messages.language("en-GB,en;q=0.9") == "en"
    assert messages.language("zh-CN,zh;q=0.9,en;q=0.8") == "zh-CN"
    assert messages.language("fr, en;q=0.5") == "en"
    assert messages.language("fr") == "zh-CN"
    assert messages.language("en;q=0.5, zh;q=0.8") == "zh-CN"
    assert messages.text("certificate_not_found", "en") != messages.text("certificate_not_found", "zh-CN")
    assert messages.text("contract_AccessControlUnauthorizedAccount", "en")  # every contract error has a text


def test_api_errors_speak_the_callers_language_and_keep_their_code() -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    client = TestClient(create_app())
    zh = client.get("/no/such/route").json()["error"]
    en = client.get("/no/such/route", headers={"Accept-Language": "en-US,en;q=0.9"}).json()["error"]
    assert zh["code"] == en["code"] == "route_not_found"
    assert zh["message"].startswith("没有这个接口") and en["message"].startswith("No such route")


def test_the_command_line_language_follows_the_locale() -> None:
    assert messages.locale_language({}) == "zh-CN"
    assert messages.locale_language({"LANG": "C.UTF-8"}) == "zh-CN"
    assert messages.locale_language({"LANG": "en_US.UTF-8"}) == "en"
    assert messages.locale_language({"LANG": "en_US.UTF-8", "LC_ALL": "zh_CN.UTF-8"}) == "zh-CN"
    assert messages.locale_language({"LANGUAGE": "en_GB:en", "LANG": "zh_CN.UTF-8"}) == "en"
