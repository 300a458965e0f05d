// Seal certificates (X.509 v3, signed ECDSA P-256/SHA-256 by the city root): what a verifier needs from one,
// as signer/certificates.py reads it. The department is subject O, its credit code organizationIdentifier.
import { p256 } from '@noble/curves/nist.js';
import { bitString, integer, oid, parseDer, text, time } from './der.js';
import { SM2Point } from './sm2.js';

const CURVES = { '1.2.840.10045.3.1.7': 'p256', '1.2.156.10197.1.301': 'sm2' };
const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const SUBJECT_KEY_IDENTIFIER = '2.5.29.14';

export class CertificateError extends Error {
  constructor(message) {
    super(message);
    this.code = 'seal_certificate_malformed';
  }
}

function nameAttributes(name) {
  const out = {};
  for (const rdn of name.children) {
    for (const atv of rdn.children) out[oid(atv.child(0))] = text(atv.child(1));
  }
  return out;
}

function subjectKeyId(tbs) {
  const ext = tbs.children.find((c) => c.tag === 0xa3);
  for (const e of ext ? ext.child(0, 0x30).children : []) {
    if (oid(e.child(0)) === SUBJECT_KEY_IDENTIFIER) return parseDer(e.children.at(-1).content).content;
  }
  return null;
}

/**
 * `{der, serial, departmentName, creditCode, notBefore, notAfter (Unix s), algorithm, publicKey, tbsDer,
 * signature, issuerDer, subjectDer, keyId}`; CertificateError (code seal_certificate_malformed) when it is not one.
 */
export function parseCertificate(der) {
  try {
    const cert = parseDer(der);
    const tbs = cert.child(0, 0x30);
    if (cert.children.length !== 3) throw new Error('a certificate has three parts');
    const f = tbs.children;
    let i = f[0]?.tag === 0xa0 ? 1 : 0;
    const serial = integer(f[i++]);
    const sigAlg = f[i++];
    if (!sigAlg || sigAlg.tag !== 0x30 || !equal(sigAlg.der, cert.child(1, 0x30).der)) {
      throw new Error('its two signature algorithm fields differ (RFC 5280 4.1.1.2)');
    }
    const issuer = f[i++];
    const validity = f[i++];
    const subject = f[i++];
    const spki = f[i++];
    if (![issuer, subject, validity, spki].every((n) => n?.tag === 0x30)) throw new Error('a field is missing');
    const alg = spki.child(0, 0x30);
    const curve = alg.children.length === 2 && oid(alg.child(0)) === EC_PUBLIC_KEY && alg.child(1).tag === 0x06
      ? CURVES[oid(alg.child(1))] : undefined;
    if (!curve) throw new Error("its key is neither P-256 nor SM2");
    const publicKey = bitString(spki.child(1));
    const point = (curve === 'p256' ? p256.Point : SM2Point).fromBytes(publicKey);
    point.assertValidity();
    const names = nameAttributes(subject);
    return {
      der,
      serial,
      departmentName: names['2.5.4.10'] ?? '',
      creditCode: names['2.5.4.97'] ?? '',
      notBefore: time(validity.child(0)),
      notAfter: time(validity.child(1)),
      algorithm: curve,
      publicKey,
      tbsDer: tbs.der,
      signature: bitString(cert.child(2)),
      issuerDer: issuer.der,
      subjectDer: subject.der,
      keyId: subjectKeyId(tbs),
    };
  } catch (e) {
    if (e instanceof CertificateError) throw e;
    throw new CertificateError(`the seal certificate is not a valid X.509 certificate: ${e.message}`);
  }
}

function equal(a, b) {
  return a.length === b.length && a.every((x, j) => x === b[j]);
}

/** ECDSA P-256 / SHA-256 over `data`, DER signature; high S accepted, as OpenSSL does. */
export function verifyP256(publicKey, signature, data) {
  try {
    return p256.verify(signature, data, publicKey, { prehash: true, lowS: false, format: 'der' });
  } catch {
    return false;
  }
}
