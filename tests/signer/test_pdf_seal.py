import io
import json
import re
import subprocess
from pathlib import Path

import pytest
from asn1crypto import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from reportlab.pdfgen import canvas

from ledger.core.checks import Status, verdict
from ledger.core.errors import BadInput
from signer.pdf_seal import PdfSealer
from signer.pdf_verify import verify_pdf
from signer.render import qr_payload, render_certificate
from signer.verify import CHECKS

from .conftest import MARKET, need, record

TYPES = json.loads((Path(__file__).parents[2] / "ledger" / "data" / "certificate-types.json").read_text("utf-8"))
URL = "https://certs.example.gov.cn/verify/"


@pytest.fixture(scope="module")
def sealed(city) -> bytes:
    rec = record()
    return city.pdf_sealer(city.market).seal_pdf(render_certificate(TYPES[0], rec, URL + rec["identifier"]))


@pytest.fixture(scope="module")
def nssdb(city, tmp_path_factory) -> str:
    need("certutil")
    d = tmp_path_factory.mktemp("nss")
    subprocess.run(["certutil", "-N", "-d", f"sql:{d}", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{d}", "-n", "city-root", "-t", "C,C,C", "-i", str(city.root_pem)],
                   check=True, capture_output=True)
    return f"sql:{d}"


def pdfsig(nssdb: str, pdf: bytes, tmp_path: Path) -> str:
    need("pdfsig")
    f = tmp_path / "doc.pdf"
    f.write_bytes(pdf)
    return subprocess.run(["pdfsig", "-nssdir", nssdb, str(f)], capture_output=True, text=True).stdout


def test_render_has_embedded_cjk_font_and_text(sealed, tmp_path) -> None:
    f = tmp_path / "c.pdf"
    f.write_bytes(sealed)
    fonts = subprocess.run(["pdffonts", str(f)], capture_output=True, text=True).stdout
    assert "WenQuanYi" in fonts and " yes " in fonts  # embedded
    text = subprocess.run(["pdftotext", str(f), "-"], capture_output=True, text=True).stdout
    for expected in ("营业执照", "某某科技有限公司", "个人独资企业", MARKET[0], "2024-01-02", "11430000006122244L"):
        assert expected in text


def test_qr_code_scans_to_verification_address(sealed, tmp_path) -> None:
    need("pdftoppm")
    need("zbarimg")
    (tmp_path / "c.pdf").write_bytes(sealed)
    subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", str(tmp_path / "c.pdf"), str(tmp_path / "c")],
                   check=True)
    out = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "c.png")], capture_output=True, text=True)
    assert out.stdout.strip() == URL + record()["identifier"], out.stderr


def test_qr_payload() -> None:
    assert qr_payload("1.2.3", URL + "1.2.3") == URL + "1.2.3"
    assert qr_payload("1.2.3", "https://x/verify") == "https://x/verify?id=1.2.3"


def test_pyhanko_validator_independently(city, sealed) -> None:
    sig = PdfFileReader(io.BytesIO(sealed)).embedded_signatures[0]
    ctx = ValidationContext(trust_roots=[x509.Certificate.load(city.authority.registry.root_der)], allow_fetching=False)
    status = validate_pdf_signature(sig, ctx)
    assert status.bottom_line and status.intact and status.trusted
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"


def test_our_checks(city, sealed) -> None:
    checks = verify_pdf(city.verifier, sealed, issuer_code=MARKET[1])
    assert verdict(checks, CHECKS) is Status.VALID, [c.to_dict() for c in checks]
    wrong = {c.name: c for c in verify_pdf(city.verifier, sealed, issuer_code="11430000006122252F")}
    assert wrong["seal_signer_matches"].reason == "department_mismatch"


def test_pdfsig_valid_and_trusted(sealed, nssdb, tmp_path) -> None:
    out = pdfsig(nssdb, sealed, tmp_path)
    assert "Signature is Valid" in out and "Certificate is Trusted" in out, out


def test_one_byte_of_pdf(city, sealed, nssdb, tmp_path) -> None:
    pdf = bytearray(sealed)
    at = pdf.index(b"/Creator")  # inside the signed byte range
    pdf[at + 3] ^= 0x01
    out = pdfsig(nssdb, bytes(pdf), tmp_path)
    assert "Signature is Valid" not in out and "Digest Mismatch" in out, out
    checks = {c.name: c for c in verify_pdf(city.verifier, bytes(pdf), issuer_code=MARKET[1])}
    assert checks["seal_intact"].status.value == "INVALID"


def test_foreign_root_not_trusted(city, foreign, nssdb, tmp_path) -> None:
    keystore, other = foreign
    impostor = other.issue_seal(*MARKET)
    pdf = PdfSealer.load(keystore, other.registry, impostor.serial).seal_pdf(
        render_certificate(TYPES[0], record(), URL))
    checks = {c.name: c for c in verify_pdf(city.verifier, pdf, issuer_code=MARKET[1])}
    assert checks["seal_chain"].status.value == "INVALID"
    out = pdfsig(nssdb, pdf, tmp_path)
    assert "Certificate is Trusted" not in out, out


def test_sm2_key_cannot_seal_pdf(city) -> None:
    with pytest.raises(BadInput) as e:
        city.pdf_sealer(city.civil_sm2)
    assert e.value.code == "pdf_seal_algorithm"


def _encrypted_pdf() -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, encrypt="secret")
    c.drawString(100, 700, "locked")
    c.save()
    return buf.getvalue()


@pytest.mark.parametrize("data,code", [
    (b"PK\x03\x04 this is a zip", "pdf_not_pdf"),
    (b"", "pdf_not_pdf"),
    (b"%PDF-1.7\n garbage without objects", "pdf_malformed"),
    (_encrypted_pdf(), "pdf_encrypted"),
])
def test_bad_pdfs(city, data, code) -> None:
    with pytest.raises(BadInput) as e:
        city.pdf_sealer(city.market).seal_pdf(data)
    assert e.value.code == code
    assert intact(verify_pdf(city.verifier, data)) == ("INVALID", code)


def intact(checks) -> tuple[str, str]:
    return checks[0].status.value, checks[0].reason


def test_unsealed_pdf(city) -> None:
    checks = verify_pdf(city.verifier, render_certificate(TYPES[0], record(), URL))
    assert len(checks) == 1 and intact(checks) == ("INVALID", "pdf_not_sealed")


def _incremental_update(pdf: bytes, catalog: bytes) -> bytes:
    """``pdf`` with an incremental update that replaces its catalog by ``catalog``."""
    root = int(re.findall(rb"/Root (\d+) 0 R", pdf)[-1])
    prev = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    size = int(re.findall(rb"/Size (\d+)", pdf)[-1])
    offset = len(pdf) + 1
    update = b"\n" + f"{root} 0 obj\n".encode() + catalog + b"\nendobj\n"
    xref = len(pdf) + len(update)
    update += (f"xref\n0 1\n0000000000 65535 f \n{root} 1\n{offset:010d} 00000 n \ntrailer\n"
               f"<< /Size {size} /Root {root} 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n").encode()
    return pdf + update


@pytest.mark.parametrize("catalog,reason", [
    (b"<< /Type /Catalog /Pages 999 0 R >>", "pdf_malformed"),
    (b"<< /Type /Catalog /Pages 999 0 R /AcroForm 998 0 R >>", "pdf_malformed"),
])
def test_dangling_reference_in_an_update(city, sealed, catalog, reason) -> None:
    """Issue 11: an incremental update pointing at objects that do not exist is a clean INVALID."""
    assert intact(verify_pdf(city.verifier, _incremental_update(sealed, catalog), issuer_code=MARKET[1])) == (
        "INVALID", reason)


def test_dangling_acroform_hides_the_seal(city, sealed) -> None:
    pages = re.search(rb"/Pages (\d+ 0 R)", sealed).group(1)
    updated = _incremental_update(sealed, b"<< /Type /Catalog /Pages " + pages + b" /AcroForm 998 0 R >>")
    assert intact(verify_pdf(city.verifier, updated, issuer_code=MARKET[1])) == ("INVALID", "pdf_not_sealed")


def test_appended_bytes_are_a_change(city, sealed) -> None:
    """pyHanko sees no modification in a comment appended after the seal; the seal no longer covers the file."""
    assert intact(verify_pdf(city.verifier, sealed + b"\n%appended\n", issuer_code=MARKET[1])) == (
        "INVALID", "modified_after_sealing")


def _contents(pdf: bytes) -> tuple[int, int]:
    """Where the hex of the seal's /Contents lies."""
    start = pdf.rindex(b"/Contents <") + len(b"/Contents <")
    return start, pdf.index(b">", start)


def test_the_unsigned_contents_are_checked(city, sealed) -> None:
    """/Contents is the one part of the file no signature covers: its padding and certificates are checked."""
    start, end = _contents(sealed)
    padded = bytearray(sealed)
    padded[end - 1:end] = b"1"
    assert intact(verify_pdf(city.verifier, bytes(padded), issuer_code=MARKET[1])) == ("INVALID", "seal_malformed")
    letter = next(i for i in range(start, end) if sealed[i:i + 1] in b"ABCDEF")
    for same_cms in (b"\t", sealed[letter:letter + 1].lower()):  # a reader decodes both to the very same CMS
        at = letter if same_cms != b"\t" else end - 1
        changed = sealed[:at] + same_cms + sealed[at + 1:]
        assert intact(verify_pdf(city.verifier, changed, issuer_code=MARKET[1])) == ("INVALID", "seal_malformed")
    header = sealed[start:start + 8]  # 3082xxxx: the ContentInfo's length, stretched over four padding zeros
    assert header[:4] == b"3082"
    longer = b"3082" + f"{int(header[4:], 16) + 4:04X}".encode()
    swallowed = sealed[:start] + longer + sealed[start + 8:]
    assert intact(verify_pdf(city.verifier, swallowed, issuer_code=MARKET[1])) == ("INVALID", "seal_not_der")
    root_hex = city.authority.registry.root_der.hex().upper().encode()
    at = sealed.index(root_hex, start, end) + len(root_hex) - 10  # inside the root copy's signature
    root_changed = bytearray(sealed)
    root_changed[at:at + 1] = b"0" if sealed[at:at + 1] != b"0" else b"1"
    assert intact(verify_pdf(city.verifier, bytes(root_changed), issuer_code=MARKET[1])) == (
        "INVALID", "unexpected_certificate")


def test_render_needs_core_fields() -> None:
    with pytest.raises(BadInput) as e:
        render_certificate(TYPES[0], {"identifier": "x"}, URL)
    assert e.value.code == "record_field_missing"
