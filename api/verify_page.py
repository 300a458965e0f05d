"""The public verification page: what a phone shows after scanning a certificate's QR code (``GET /verify/{id}``).

A browser gets this HTML, an API client the JSON it always got (``wants_html``). The page is mobile first,
Chinese with English beside, and self-contained (its one stylesheet is served by this service, no external
asset): the verdict with what it means and what to do (``ledger.core.messages``, section ``verdicts``), the
type, the issuing department, the dates, the status as shown everywhere (05 once expired), the
status history, the holder masked, every check. It carries the hook of the in-browser verifier: a hidden
``#browser-verification`` section naming the public proof (``/public/proofs/{id}``), and its script when
``api/static/verifier/page.js`` was installed (checked once, at import).
"""

from __future__ import annotations

import datetime as dt
from html import escape
from importlib import resources
from typing import Any
from urllib.parse import quote

from ledger.core.masking import masked_holder
from ledger.core.messages import localized, section
from ledger.core.statuses import CHINA_TIME

VERIFIER_SCRIPT = "/static/verifier/page.js"
HAS_VERIFIER = resources.files("api").joinpath("static", "verifier", "page.js").is_file()
ACTIONS = {"issue": ("签发", "issued"), "suspend": ("暂停", "suspended"), "reinstate": ("恢复", "reinstated"),
           "revoke": ("撤销", "revoked"), "cancel": ("注销", "cancelled"), "withdraw": ("收回", "withdrawn"),
           "renew": ("延续", "renewed"), "amend": ("变更", "amended")}
VERDICT_CLASS = {"VALID": "valid", "INVALID": "invalid", "PENDING": "pending", "ERROR": "error"}


def wants_html(accept: str | None) -> bool:
    """Whether the caller is a browser: it asks for text/html, and not for JSON before it."""
    accept = (accept or "").lower()
    if "text/html" not in accept:
        return False
    return "application/json" not in accept or accept.index("text/html") < accept.index("application/json")


def _bi(zh: str, en: str) -> str:
    return f'{escape(zh)}<span class="en" lang="en">{escape(en)}</span>'


def _row(zh: str, en: str, value: str) -> str:
    return f"<tr><th scope=\"row\">{_bi(zh, en)}</th><td>{value}</td></tr>"


def _status_text(code: str | None) -> str:
    names = section("statuses").get(code or "")
    if not names:
        return escape(code or "—")
    return f'{escape(code or "")} {_bi(names["zh-CN"], names["en"])}'


def _china_time(value: Any) -> str:
    """An ISO time as a person in China reads it."""
    try:
        at = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return at.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S") + "（北京时间 / UTC+8）"


def _facts(result: dict[str, Any]) -> str:
    cert = result["certificate"]
    shown = cert.get("status")  # as shown everywhere: 05 once expired (ledger.verify.fragments)
    rows = [
        _row("证照名称", "Type", escape(str(cert.get("name") or "—"))),
        _row("发证部门", "Issued by", escape(str(cert.get("issuing_department") or "—"))),
        _row("证照编号", "Number", escape(str(cert.get("number") or "—"))),
        _row("持证人", "Holder", escape(masked_holder(cert).get("holder", "")) + ' <span class="muted">（已隐去 / masked）</span>'),
        _row("发证日期", "Issued on", escape(str(cert.get("issue_date") or "—"))),
        _row("有效期", "Valid", escape(f"{cert.get('valid_from') or '—'} — {cert.get('valid_until') or '长期 / no end'}")),
        _row("链上状态", "Status", _status_text(shown) if shown else _bi("待上链", "not yet anchored")),
    ]
    if cert.get("anchored_at"):
        rows.append(_row("上链时间", "Anchored at", escape(_china_time(cert["anchored_at"]))))
    if cert.get("expected_anchoring_by"):
        rows.append(_row("预计上链", "Expected on chain by", escape(_china_time(cert["expected_anchoring_by"]))))
    rows.append(_row("证照标识", "Identifier", f'<span class="mono">{escape(str(cert.get("identifier") or ""))}</span>'))
    return '<table class="facts">' + "".join(rows) + "</table>"


def _current_version(result: dict[str, Any]) -> str:
    current = next((c["data"].get("current_version") for c in result["checks"] if c["name"] == "status"), None)
    if not current:
        return ""
    href = "/verify/" + quote(str(current), safe="")
    return (f'<p class="current">{_bi("此证照已有新版本", "A newer version replaces this certificate")}: '
            f'<a href="{escape(href)}">{_bi("核验当前版本", "verify the current version")}</a></p>')


def _history(events: list[dict[str, Any]]) -> str:
    if not events:
        return ""
    items = []
    for e in events:
        zh, en = ACTIONS.get(e["action"], (e["action"], e["action"]))
        at = e["at"].astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M")
        items.append(f"<li><time>{escape(at)}</time> {_bi(zh, en)} · {_status_text(e['status'])}</li>")
    return (f'<section class="card"><h2>{_bi("状态记录", "Status history")}</h2>'
            f'<ol class="history">{"".join(items)}</ol></section>')


def _checks(result: dict[str, Any], lang: str) -> str:
    names = section("checks")
    rows = []
    for c in result["checks"]:
        label = names.get(c["name"])
        title = _bi(label["zh-CN"], label["en"]) if label else escape(c["name"])
        css = {"VALID": "valid", "INVALID": "invalid", "ERROR": "error"}.get(c["status"], "skipped")
        note = localized(c["reason"], "", lang)
        rows.append(f'<li class="check {css}"><span class="badge {css}">{escape(c["status"])}</span> {title}'
                    f'<div class="muted">{escape(note)}</div></li>')
    return (f'<details class="card"><summary>{_bi("核验明细", "Every check")}</summary>'
            f'<ul class="checks">{"".join(rows)}</ul></details>')


def render(result: dict[str, Any], events: list[dict[str, Any]], *, bundle_url: str | None,
           lang: str = "zh-CN") -> str:
    """The page for a verification result (``VerificationResult.to_dict()`` shape) and its status history."""
    verdict = result["verdict"]
    texts = section("verdicts").get(verdict, section("verdicts")["ERROR"])
    css = VERDICT_CLASS.get(verdict, "error")
    script = f'<script type="module" src="{VERIFIER_SCRIPT}"></script>' if HAS_VERIFIER else ""
    hook = (f'<section id="browser-verification" hidden data-bundle-url="{escape(bundle_url or "")}">'
            "</section>")
    return f"""{_top()}<main>
<section class="verdict {css}" aria-live="polite">
<h1>{_bi(texts["label"]["zh-CN"], texts["label"]["en"])}</h1>
<p class="means"><strong>这意味着 <span class="en" lang="en">What this means</span>：</strong>{escape(texts["means"]["zh-CN"])}
<span class="en" lang="en">{escape(texts["means"]["en"])}</span></p>
<p class="next"><strong>下一步 <span class="en" lang="en">What to do</span>：</strong>{escape(texts["next"]["zh-CN"])}
<span class="en" lang="en">{escape(texts["next"]["en"])}</span></p>
{_current_version(result)}
</section>
<section class="card"><h2>{_bi("证照信息", "Certificate")}</h2>{_facts(result)}</section>
{_history(events)}
{_checks(result, lang)}
{hook}
</main>
<footer class="muted">{_bi("本页不显示个人信息；核验依据区块链上的记录。",
                           "This page shows no personal data; verification rests on the ledger's records.")}</footer>
{script}
</body>
</html>
"""


def _top() -> str:
    """What every verification page starts with: the document head and the bar (one stylesheet, no script)."""
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>证照核验 Certificate verification</title>
<link rel="stylesheet" href="/verify-assets/verify.css">
</head>
<body>
<header class="topbar"><p class="brand">{_bi("电子证照核验", "E-certificate verification")}</p></header>
"""


def render_error(code: str) -> str:
    """The page for an identifier that cannot be verified (malformed, unknown): the catalogue's sentence."""
    return f"""{_top()}<main>
<section class="verdict invalid">
<h1>{_bi("无法核验", "Cannot verify")}</h1>
<p>{escape(localized(code, "", "zh-CN"))} <span class="en" lang="en">{escape(localized(code, "", "en"))}</span></p>
<p class="next"><strong>下一步 <span class="en" lang="en">What to do</span>：</strong>请核对二维码或证照标识，或联系发证部门。
<span class="en" lang="en">Check the QR code or the identifier, or contact the issuing department.</span></p>
<p class="muted mono">{escape(code)}</p>
</section>
</main>
</body>
</html>
"""
