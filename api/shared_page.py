"""The page a share link opens in a browser: server-rendered, phone first, Chinese with English beside, no script
and nothing fetched from elsewhere. Shows the verdict, the certificate type, the issuing department, the status
and only the fields the holder shared."""

from __future__ import annotations

from html import escape
from typing import Any

from ledger.core.errors import CertledgerError

VERDICTS = {"VALID": ("有效", "Valid", "valid", "证照真实有效，由签发部门盖章并已上链存证。",
                      "The certificate is genuine, sealed by its department and anchored on chain."),
            "INVALID": ("无效", "Invalid", "invalid", "证照未通过核验，请勿采信，并请向持证人或签发部门核实。",
                        "The certificate failed verification: do not rely on it; ask the holder or the department."),
            "PENDING": ("待上链", "Pending", "pending", "证照已签发并盖章，正在上链存证，请稍后刷新。",
                        "Issued and sealed, being anchored on chain: reload in a minute.")}
STATUS_WORDS = {"01": "有效 valid", "02": "暂停 suspended", "03": "撤销 revoked", "04": "注销 cancelled",
                "05": "过期 expired", "07": "撤回 withdrawn", "08": "已换新 superseded"}
STYLE = """
:root{font-family:"Noto Sans CJK SC","WenQuanYi Zen Hei",system-ui,sans-serif;color:#1b2430;background:#f2f4f7;
line-height:1.5}body{margin:0}main{max-width:640px;margin:0 auto;padding:16px}
.card{background:#fff;border:1px solid #d9dee5;border-radius:10px;padding:16px;margin-bottom:16px}
h1{font-size:1.35rem;margin:0 0 8px}h2{font-size:1.05rem;margin:0 0 8px}.en{color:#4f5967;font-size:.85em}
.verdict{border-radius:10px;padding:16px;margin-bottom:16px;font-size:1.2rem;font-weight:bold}
.valid{background:#e6f4ea;color:#0d5a2d}.invalid{background:#fdecea;color:#8c1d16}.pending{background:#fff4e0;color:#6b4100}
dl{display:grid;grid-template-columns:minmax(7em,auto) 1fr;gap:6px 12px;margin:0}dt{color:#4f5967}dd{margin:0;word-break:break-all}
.mono{font-family:"DejaVu Sans Mono",monospace;font-size:.85em}footer{color:#4f5967;font-size:.85rem;padding:0 16px 24px;
max-width:640px;margin:0 auto}
"""


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{escape(title)}</title><style>{STYLE}</style>'
            f'</head><body><main>{body}</main><footer>城市电子证照平台 · 分享的证照 <span lang="en">City e-certificate '
            f'platform · shared certificate</span></footer></body></html>')


def _row(label: str, label_en: str, value: Any) -> str:
    shown = "—" if value in (None, "") else str(value)
    return f'<dt>{escape(label)} <span class="en" lang="en">{escape(label_en)}</span></dt><dd>{escape(shown)}</dd>'


def render_shared(shown: dict[str, Any]) -> str:
    """The page for an opened link (``ledger.holders.sharing.open_link``'s answer)."""
    zh, en, css, says_zh, says_en = VERDICTS.get(shown["verdict"], VERDICTS["INVALID"])
    rows = "".join([
        _row("证照类型", "Type", shown["name"]),
        _row("签发部门", "Issuing department", shown["issuing_department"]),
        _row("证照状态", "Status", STATUS_WORDS.get(shown["status"], shown["status"])),
        _row("证照标识", "Identifier", shown["identifier"]),
    ])
    fields = "".join(_row(f["label"], f["label_en"], f["value"]) for f in shown["fields"])
    body = (f'<h1>{escape(shown["name"])} <span class="en" lang="en">{escape(shown["name_en"] or "")}</span></h1>'
            f'<div class="verdict {css}" role="status">核验结果：{zh} <span lang="en">Verdict: {en}</span></div>'
            f'<div class="card"><p>{escape(says_zh)}</p><p class="en" lang="en">{escape(says_en)}</p></div>'
            f'<section class="card"><h2>证照 <span class="en" lang="en">Certificate</span></h2><dl>{rows}</dl></section>'
            f'<section class="card"><h2>持证人分享的信息 <span class="en" lang="en">Shared by the holder</span></h2>'
            f'<dl>{fields}</dl></section>'
            f'<p class="en">此链接有效至 {escape(str(shown["expires_at"]))}；每次打开都会记入持证人的用证记录。 '
            f'<span lang="en">This link opens until {escape(str(shown["expires_at"]))}; each opening is logged for the '
            f'holder.</span></p>')
    return _page(f"{shown['name']} · 核验结果 {zh}", body)


def render_refusal(exc: CertledgerError) -> str:
    """The page for a link that is unknown, expired or revoked."""
    body = (f'<h1>无法打开此分享链接 <span class="en" lang="en">This share link cannot be opened</span></h1>'
            f'<div class="verdict invalid" role="alert">{escape(exc.message)}</div>'
            f'<div class="card"><p>请向持证人索取新的分享链接。</p><p class="en" lang="en">Ask the holder for a new link.'
            f'</p><p class="mono">{escape(exc.code)}</p></div>')
    return _page("分享链接无法打开 · Share link unavailable", body)
