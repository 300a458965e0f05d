"""Certificate PDFs from data: title, fields, holder, department, dates, identifier and a QR code.

Chinese text uses the embedded WenQuanYi Zen Hei font (Debian fonts-wqy-zenhei), so the page reads
the same on a viewer without CJK fonts.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from ledger.core.errors import BadInput

from .seal_image import FONT_PATH

FONT = "WenQuanYiZenHei"
_DARK = Color(0.1, 0.1, 0.1)
_RULE = Color(0.75, 0.55, 0.2)
_LABEL_WIDTH = 150  # points left of the values, inside the inner frame


def _register_font() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        try:
            pdfmetrics.registerFont(TTFont(FONT, FONT_PATH, subfontIndex=0))
        except Exception as e:  # reportlab raises TTFError or IOError
            raise RuntimeError(f"CJK font missing at {FONT_PATH}: apt-get install fonts-wqy-zenhei") from e


QR_MASK = 2


def _draw_qr(c: canvas.Canvas, payload: str, x: float, y: float, size: float) -> None:
    """The QR code, with its 4-module quiet zone, in a ``size`` square at (x, y), as one filled path of module
    runs: reportlab's QrCodeWidget makes a shape object per module and encodes twice (~80 ms a page).
    The mask is fixed: any of the eight is valid, and scoring all of them (qrcode's default) cost ~30 ms."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=QR_MASK)
    qr.add_data(payload)
    qr.make(fit=True)
    rows = qr.get_matrix()
    n = len(rows)
    unit = size / (n + 8)
    left, top = x + 4 * unit, y + size - 4 * unit
    path = c.beginPath()
    for r, row in enumerate(rows):
        col = 0
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                path.rect(left + start * unit, top - (r + 1) * unit, (col - start) * unit, unit)
            col += 1
    c.setFillColor(black)
    c.drawPath(path, stroke=0, fill=1)
    c.setFillColor(_DARK)


def qr_payload(identifier: str, verify_url: str) -> str:
    """The verification address, carrying the identifier as ``id`` unless the caller's URL already has it."""
    if identifier in verify_url:
        return verify_url
    return f"{verify_url}{'&' if '?' in verify_url else '?'}id={quote(identifier, safe='')}"


def render_certificate(cert_type: Mapping[str, Any], record: Mapping[str, Any], verify_url: str) -> bytes:
    """One A4 page; ``cert_type`` is an entry of certificate-types.json, ``record`` the certificate record.

    Record keys used: identifier, number, holder, holder_id, issuer_name, issued_on, valid_from,
    valid_until and ``fields`` (values by the type's field keys).
    """
    for key in ("identifier", "holder", "issuer_name"):
        if not record.get(key):
            raise BadInput("record_field_missing", f"the certificate record needs {key!r} to be rendered")
    _register_font()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=1)
    c.setTitle(f"{cert_type['name']} {record['identifier']}")
    c.setCreator("certledger")
    w, h = A4
    c.setStrokeColor(_RULE)
    c.setLineWidth(3)
    c.rect(28, 28, w - 56, h - 56)
    c.setLineWidth(0.8)
    c.rect(36, 36, w - 72, h - 72)

    c.setFillColor(_DARK)
    c.setFont(FONT, 30)
    c.drawCentredString(w / 2, h - 110, str(cert_type["name"]))
    c.setFont(FONT, 10)
    if record.get("number"):
        c.drawCentredString(w / 2, h - 132, f"编号：{record['number']}")

    rows: list[tuple[str, str]] = [("持证主体", str(record["holder"]))]
    if record.get("holder_id"):
        rows.append(("证件号码", str(record["holder_id"])))
    values = record.get("fields") or {}
    for f in cert_type.get("fields", []):
        v = values.get(f["key"])
        if v not in (None, ""):
            rows.append((f["label"], str(v)))
    rows.append(("颁发机构", str(record["issuer_name"])))
    for key, label in (("issued_on", "颁发日期"), ("valid_from", "有效期起"), ("valid_until", "有效期至")):
        if record.get(key):
            rows.append((label, str(record[key])))
    if "valid_until" in record and not record["valid_until"]:
        rows.append(("有效期至", "长期"))

    y = h - 190
    for label, value in rows:
        text = f"{label}："
        c.setFont(FONT, min(12.0, 12.0 * _LABEL_WIDTH / pdfmetrics.stringWidth(text, FONT, 12)))
        c.drawRightString(200, y, text)
        c.setFont(FONT, 13)
        for i, start in enumerate(range(0, max(len(value), 1), 26)):
            c.drawString(210, y - i * 18, value[start:start + 26])
        y -= 30 + 18 * ((len(value) - 1) // 26 if value else 0)

    _draw_qr(c, qr_payload(str(record["identifier"]), verify_url), 60, 70, 110)
    c.setFont(FONT, 8)
    c.drawString(60, 58, "扫码核验")
    c.drawCentredString(w / 2, 44, f"证照标识：{record['identifier']}")
    c.showPage()
    c.save()
    return buf.getvalue()
