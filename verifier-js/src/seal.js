// Seal verification as named checks, as signer/verify.py: seal_intact (signature over the canonical record),
// seal_chain (the certificate issued by the trusted city root), seal_certificate_valid (valid at signing time, and
// neither made nor anchored at or after a compromise the chain records), seal_signer_matches (the certificate's
// credit code is the record's sealing organisation's).
import { sha256 } from './hashes.js';
import { equalBytes } from './bytes.js';
import { integer, parseDer, oid } from './der.js';
import { CertificateError, parseCertificate, verifyP256 } from './certificate.js';
import { readSeal, SealRejected } from './seal_reader.js';
import { sm2Verify, sm3 } from './sm2.js';
import { canonicalBytes } from './jcs.js';
import { check } from './checks.js';

const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const iso = (t) => new Date(t * 1000).toISOString().replace('.000Z', '+00:00');

function sm2SignatureOk(publicKey, signature, data) {
  try {
    const seq = parseDer(signature);
    if (seq.tag !== 0x30 || seq.children.length !== 2) return false;
    return sm2Verify(integer(seq.child(0)), integer(seq.child(1)), data, publicKey);
  } catch {
    return false;
  }
}

/** Verifies record seals against one trusted city root (DER); `revocations`: serial (bigint) -> Unix s. */
export class SealVerifier {
  constructor(rootDer) {
    this.root = parseCertificate(rootDer);
    this.rootDer = rootDer;
    this.revocations = new Map();
  }

  /** Every seal check for `record` (a JSON object) and `seal` (DER bytes). `withRecord` false (a public proof's
   * summary): seal_intact SKIPPED `no_record`, the certificate's checks as usual. */
  verifyRecord(record, seal, { anchoredAt = null, issuerCodeKey = 'issuing_department_code', withRecord = true } = {}) {
    const data = withRecord ? canonicalBytes(record) : null;
    const issuerCode = record?.[issuerCodeKey];
    let read, info;
    try {
      read = readSeal(seal);
      info = parseCertificate(read.certificate);
    } catch (e) {
      if (e instanceof SealRejected) return [check('seal_intact', 'INVALID', e.reason, e.message)];
      if (e instanceof CertificateError) return [check('seal_intact', 'INVALID', e.code, e.message)];
      throw e;
    }
    const intact = withRecord ? this.intact(read, info, data)
      : check('seal_intact', 'SKIPPED', 'no_record', 'the public proof carries no record, so the seal\'s signature over it needs the holder\'s bundle');
    return [intact, this.chain(info), this.validity(info, read.signingTime, anchoredAt),
      signerMatches(info, issuerCode)];
  }

  intact(read, info, data) {
    const cms = read.format === 'cms';
    if (!read.algorithmOk || info.algorithm !== (cms ? 'p256' : 'sm2')) {
      return check('seal_intact', 'INVALID', 'unsupported_algorithm',
        cms ? 'record seals here are ECDSA with SHA-256 (P-256)' : 'SES seals here are SM2 with SM3');
    }
    if (!equalBytes(read.digest, cms ? sha256(data) : sm3(data))) {
      return check('seal_intact', 'INVALID', 'digest_mismatch', 'the record differs from the one that was sealed');
    }
    const ok = cms ? verifyP256(info.publicKey, read.signature, read.signed)
      : sm2SignatureOk(info.publicKey, read.signature, read.signed);
    if (!ok) {
      return check('seal_intact', 'INVALID', 'signature_invalid',
        "the seal signature does not verify with the seal certificate's key");
    }
    if (!cms && !this.esealOk(read.eseal, info.der)) {
      return check('seal_intact', 'INVALID', 'eseal_invalid',
        'the electronic seal (SESeal) inside the signature was not made by the city authority for this certificate');
    }
    return check('seal_intact', 'VALID', 'signature_valid', '', { format: cms ? 'cms' : 'gbt38540' });
  }

  /** The SESeal names the certificate, carries the root and the root's signature over its SES_SealInfo. */
  esealOk(esealDer, certDer) {
    try {
      const eseal = parseDer(esealDer);
      const [info, cert, alg, signed] = eseal.children;
      const property = info.child(2, 0x30);
      const listed = property.child(3, 0x30).children.some((c) => c.tag === 0x04 && equalBytes(c.content, certDer));
      return listed && cert.tag === 0x04 && equalBytes(cert.content, this.rootDer) && oid(alg) === ECDSA_SHA256
        && signed.tag === 0x03 && signed.content[0] === 0
        && verifyP256(this.root.publicKey, signed.content.subarray(1), info.der);
    } catch {
      return false;
    }
  }

  chain(info) {
    const data = { serial: info.serial.toString(16) };
    if (!equalBytes(info.issuerDer, this.root.subjectDer)) {
      return check('seal_chain', 'INVALID', 'unknown_issuer', 'the seal certificate was not issued by the city seal root', data);
    }
    if (!verifyP256(this.root.publicKey, info.signature, info.tbsDer)) {
      return check('seal_chain', 'INVALID', 'issuer_signature_invalid',
        'the seal certificate names the city root but its signature does not verify', data);
    }
    return check('seal_chain', 'VALID', 'chains_to_city_root', '', data);
  }

  validity(info, t, anchoredAt) {
    const name = 'seal_certificate_valid';
    const data = { signing_time: iso(t), not_before: iso(info.notBefore), not_after: iso(info.notAfter) };
    if (t < info.notBefore) return check(name, 'INVALID', 'not_yet_valid_at_signing', "the seal was made before its certificate's validity began", data);
    if (t > info.notAfter) return check(name, 'INVALID', 'expired_at_signing', 'the seal was made after its certificate expired', data);
    if (t < this.root.notBefore || t > this.root.notAfter) {
      return check(name, 'INVALID', 'root_not_valid_at_signing', 'the city root was not valid when the seal was made', data);
    }
    const compromised = this.revocations.get(info.serial);
    if (compromised !== undefined) {
      data.compromise_time = iso(compromised);
      if (t >= compromised) return check(name, 'INVALID', 'signed_after_compromise', "the seal was made at or after the seal key's recorded compromise", data);
      if (anchoredAt !== null && anchoredAt >= compromised) {
        return check(name, 'INVALID', 'anchored_after_compromise',
          'the seal key was compromised before this seal was anchored, so its signing time cannot be trusted', data);
      }
      return check(name, 'VALID', 'signed_before_compromise', 'the seal key was later revoked, but this seal predates the compromise', data);
    }
    return check(name, 'VALID', 'valid_at_signing', '', data);
  }
}

function signerMatches(info, issuerCode) {
  const data = { certificate_code: info.creditCode, department: info.departmentName };
  if (!issuerCode) return check('seal_signer_matches', 'SKIPPED', 'no_issuer_code', 'no issuing department code to compare the seal with', data);
  if (issuerCode !== info.creditCode) {
    return check('seal_signer_matches', 'INVALID', 'department_mismatch',
      `sealed by ${info.departmentName} (${info.creditCode}), but the record names ${issuerCode}`, data);
  }
  return check('seal_signer_matches', 'VALID', 'department_matches', '', data);
}
