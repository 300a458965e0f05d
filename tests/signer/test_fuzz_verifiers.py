"""Mutated seals and sealed PDFs get a clean INVALID from the verifiers: a failed named check, never an exception.

Mutations: byte flips, truncations, inserted bytes, changed length fields (another length, or a long form that
is BER but not DER, with or without the enclosing lengths following), swapped certificates and re-ordered SET
elements. The CI runs ~1,000 examples per seal format and 300 PDFs; CERTLEDGER_FUZZ_EXAMPLES=10000 runs that
many of each.
"""

from __future__ import annotations

import os

import pytest
from asn1crypto import cms, x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.core.checks import Check, Status, verdict
from ledger.core.errors import BadInput
from signer.pdf_verify import verify_pdf
from signer.record_seal import seal_certificate_der
from signer.render import render_certificate
from signer.ses import SESSignature
from signer.verify import CHECKS

from .conftest import CIVIL, MARKET, record
from .der_edits import elements, with_long_form_length
from .test_pdf_seal import TYPES, URL

FULL_RUN = int(os.environ.get("CERTLEDGER_FUZZ_EXAMPLES", "0"))


def fuzz_settings(ci_examples: int):
    return settings(max_examples=FULL_RUN or ci_examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class Seed:
    """A valid sealed object and what its mutations are built from."""

    def __init__(self, data: bytes, der: bytes, other_cert: bytes, kind: str) -> None:
        self.data, self.der, self.other_cert, self.kind = data, der, other_cert, kind
        self.elements = elements(der)
        self.sets = [e for e in self.elements if der[e[0]] in (0x31, 0xA0) and e[3]]


def swap_certificate(seed: Seed) -> bytes:
    """The seal (or PDF seal's CMS) re-encoded with another department's certificate in place of the signer's."""
    if seed.kind == "ses":
        sig = SESSignature.load(seed.der)
        return SESSignature({"to_sign": sig["to_sign"], "cert": seed.other_cert,
                             "signature_alg_id": sig["signature_alg_id"], "signature": sig["signature"]}).dump()
    info = cms.ContentInfo.load(seed.der)
    certs = list(info["content"]["certificates"])
    certs[0] = cms.CertificateChoices({"certificate": x509.Certificate.load(seed.other_cert)})
    info["content"]["certificates"] = certs
    return info.dump(force=True)


def reorder_set(der: bytes, element: tuple[int, int, int, bool], i: int, j: int) -> bytes:
    """The two children ``i`` and ``j`` of a SET (or [0] IMPLICIT SET) swapped in place: same lengths, unsorted."""
    start, header, end, _ = element
    children, pos = [], start + header
    while pos < end:
        child = elements(der, pos)[0]
        children.append(der[pos:child[2]])
        pos = child[2]
    if len(children) < 2:
        return der[:start] + der[start:end] + b"\x00" + der[end:]  # nothing to swap: an inserted byte instead
    i, j = i % len(children), j % len(children)
    if children[i] == children[j]:
        j = (i + 1) % len(children)
    children[i], children[j] = children[j], children[i]
    return der[:start + header] + b"".join(children) + der[end:]


@st.composite
def mutants(draw, seed: Seed) -> bytes:
    der = seed.der
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "length", "long_form", "long_form_consistent",
                                 "swap_certificate", "reorder_set"]))
    if kind == "flip":
        at = draw(st.integers(0, len(der) - 1))
        return der[:at] + bytes([der[at] ^ draw(st.integers(1, 255))]) + der[at + 1:]
    if kind == "truncate":
        return der[:draw(st.integers(0, len(der) - 1))]
    if kind == "insert":
        at = draw(st.integers(0, len(der)))
        return der[:at] + draw(st.binary(min_size=1, max_size=16)) + der[at:]
    start, header, end, _ = draw(st.sampled_from(seed.elements))
    if kind == "length":  # another value in one byte of the length field
        at = start + 1 + draw(st.integers(0, header - 2))
        return der[:at] + bytes([draw(st.integers(0, 255).filter(lambda b: b != der[at]))]) + der[at + 1:]
    if kind == "long_form":  # this element's length in long form, nothing around it adjusted
        length = der[start + 1:start + header]
        longer = bytes([0x81, length[0]]) if header == 2 else bytes([length[0] + 1, 0]) + length[1:]
        return der[:start + 1] + longer + der[start + header:]
    if kind == "long_form_consistent":
        return with_long_form_length(der, der[start:end])
    if kind == "swap_certificate":
        return swap_certificate(seed)
    if not seed.sets:
        return der[:-1]
    return reorder_set(der, draw(st.sampled_from(seed.sets)), draw(st.integers(0, 7)), draw(st.integers(0, 7)))


def assert_clean_invalid(checks: list[Check]) -> None:
    assert isinstance(checks, list) and checks and all(isinstance(c, Check) for c in checks)
    assert all(c.name in CHECKS and c.reason for c in checks), checks
    failed = [c for c in checks if c.status is Status.INVALID]
    assert failed, [c.to_dict() for c in checks]


@pytest.fixture(scope="module")
def seal_seeds(city) -> dict[str, Seed]:
    cms_record, ses_record = record(), record(CIVIL)
    return {
        "cms": Seed(cms_record, city.sealer(city.market).seal_records([cms_record])[0], city.police.der, "cms"),
        "ses": Seed(ses_record, city.sealer(city.civil_sm2).seal_records([ses_record])[0], city.market.der, "ses"),
    }


@pytest.mark.parametrize("fmt", ["cms", "ses"])
def test_mutated_record_seals_are_invalid(city, seal_seeds, fmt) -> None:
    seed = seal_seeds[fmt]
    assert verdict(city.verifier.verify_record(seed.data, seed.der), CHECKS) is Status.VALID

    @fuzz_settings(1000)
    @given(mutant=mutants(seed))
    def check(mutant: bytes) -> None:
        if mutant == seed.der:
            return
        assert_clean_invalid(city.verifier.verify_record(seed.data, mutant))
        try:
            assert isinstance(seal_certificate_der(mutant), bytes)
        except BadInput as e:
            assert e.code and e.message

    check()


@pytest.fixture(scope="module")
def pdf_seed(city) -> tuple[bytes, int, int, Seed]:
    rec = record()
    pdf = city.pdf_sealer(city.market).seal_pdf(render_certificate(TYPES[0], rec, URL + rec["identifier"]))
    start = pdf.rindex(b"/Contents <") + len(b"/Contents <")
    end = pdf.index(b">", start)
    contents = bytes.fromhex(pdf[start:end].decode())
    cms_der = cms.ContentInfo.load(contents).dump()
    return pdf, start, end, Seed(b"", cms_der, city.police.der, "cms")


@st.composite
def pdf_mutants(draw, pdf: bytes, start: int, end: int, seed: Seed) -> bytes:
    """Mutations of the file's bytes, or of the seal's CMS written back into /Contents (the unsigned part)."""
    if draw(st.booleans()):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "flip_contents"]))
        if kind == "flip" or kind == "flip_contents":
            at = draw(st.integers(start, end - 1) if kind == "flip_contents" else st.integers(0, len(pdf) - 1))
            return pdf[:at] + bytes([pdf[at] ^ draw(st.integers(1, 255))]) + pdf[at + 1:]
        if kind == "truncate":
            return pdf[:draw(st.integers(0, len(pdf) - 1))]
        at = draw(st.integers(0, len(pdf)))
        return pdf[:at] + draw(st.binary(min_size=1, max_size=16)) + pdf[at:]
    cms_mutant = draw(mutants(seed))
    hex_mutant = cms_mutant.hex().upper().encode()
    if len(hex_mutant) > end - start:
        hex_mutant = hex_mutant[:end - start]
    return pdf[:start] + hex_mutant.ljust(end - start, b"0") + pdf[end:]


def test_mutated_sealed_pdfs_are_invalid(city, pdf_seed) -> None:
    pdf, start, end, seed = pdf_seed
    assert verdict(verify_pdf(city.verifier, pdf, issuer_code=MARKET[1]), CHECKS) is Status.VALID

    @fuzz_settings(300)
    @given(mutant=pdf_mutants(pdf, start, end, seed))
    def check(mutant: bytes) -> None:
        if mutant == pdf:
            return
        assert_clean_invalid(verify_pdf(city.verifier, mutant, issuer_code=MARKET[1]))

    check()
