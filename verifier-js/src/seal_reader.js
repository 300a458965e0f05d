// Record seals read strictly, as signer/seal_reader.py does: a detached CMS SignedData of our profile (RFC 5652:
// one SignerInfo, id-data, the signer's certificate found by its identifier, signed attributes exactly
// content-type, signing-time, message-digest) or a GB/T 38540 SES_Signature of version 4. DER only.
import { integer, oid, parseDer, time } from './der.js';
import { bytesToHex, compareBytes, equalBytes } from './bytes.js';
import { parseCertificate } from './certificate.js';

const SIGNED_DATA = '1.2.840.113549.1.7.2';
const DATA = '1.2.840.113549.1.7.1';
const ATTRS = { '1.2.840.113549.1.9.3': 'content_type', '1.2.840.113549.1.9.5': 'signing_time',
  '1.2.840.113549.1.9.4': 'message_digest' };
const SHA256_ALGS = ['300d06096086480165030402010500', '300b0609608648016503040201'];
const ECDSA_SHA256_ALG = '300a06082a8648ce3d040302';
const SM2_WITH_SM3 = '1.2.156.10197.1.501';
const SIGNED_DATA_DER = new Uint8Array([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]);

export class SealRejected extends Error {
  constructor(reason, message) {
    super(message);
    this.reason = reason;
  }
}

const malformed = (message) => new SealRejected('seal_malformed', message);

/** "cms" for a CMS SignedData, "ses" for a GB/T 38540 SES_Signature (as Python's seal_format). */
export function sealFormat(seal) {
  const head = seal.subarray(0, 16);
  for (let i = 0; i + SIGNED_DATA_DER.length <= head.length; i++) {
    if (equalBytes(head.subarray(i, i + SIGNED_DATA_DER.length), SIGNED_DATA_DER)) return 'cms';
  }
  return 'ses';
}

function sortedSet(node) {
  const items = node.children.map((c) => c.der);
  for (let i = 1; i < items.length; i++) {
    if (compareBytes(items[i - 1], items[i]) > 0) {
      throw new SealRejected('seal_not_der', "the seal's certificates or signed attributes are not in DER order");
    }
  }
}

/**
 * `{format, certificate (DER), algorithmOk, eseal (DER or null), signingTime (Unix s), digest, signature, signed}`,
 * or SealRejected naming what is wrong with the seal.
 */
export function readSeal(seal) {
  if (!(seal instanceof Uint8Array) || seal.length < 16 || seal[0] !== 0x30) {
    throw malformed('the seal is not DER: expected a CMS SignedData or a GB/T 38540 SES_Signature');
  }
  let root;
  try {
    root = parseDer(seal);
  } catch (e) {
    if (e.notDer) throw new SealRejected('seal_not_der', `the seal is BER but not DER (${e.message})`);
    throw malformed(`the seal cannot be parsed as a CMS SignedData or a GB/T 38540 SES_Signature: ${e.message}`);
  }
  try {
    return sealFormat(seal) === 'cms' ? readCms(root) : readSes(root);
  } catch (e) {
    if (e instanceof SealRejected) throw e;
    throw malformed(`the seal cannot be parsed as a CMS SignedData or a GB/T 38540 SES_Signature: ${e.message}`);
  }
}

function readCms(info) {
  if (info.children.length !== 2) throw malformed('a ContentInfo has two parts');
  if (oid(info.child(0)) !== SIGNED_DATA) throw new SealRejected('content_type_invalid', "the seal's ContentInfo is not id-signedData");
  const sd = info.child(1, 0xa0).child(0, 0x30);
  const [version, digestAlgs, eci, ...rest] = sd.children;
  const signerInfos = rest.at(-1);
  const certs = rest.find((c) => c.tag === 0xa0);
  if (!signerInfos || signerInfos.tag !== 0x31 || digestAlgs?.tag !== 0x31 || eci?.tag !== 0x30) {
    throw malformed('the SignedData lacks a part');
  }
  if (rest.some((c) => c.tag === 0xa1)) throw malformed('a seal carries no revocation lists');
  if (rest.length !== (certs ? 2 : 1)) throw malformed('the SignedData has unknown parts');
  if (oid(eci.child(0)) !== DATA) throw new SealRejected('content_type_invalid', `a seal signs id-data content, this one signs ${oid(eci.child(0))}`);
  if (eci.children.length !== 1) throw malformed('a seal is detached: it must not carry what it seals');
  if (signerInfos.children.length !== 1) throw malformed(`a seal has one signer, this one ${signerInfos.children.length}`);
  const si = signerInfos.child(0, 0x30);
  const [siVersion, sid, digestAlg, attrs, sigAlg, signature, ...unsigned] = si.children;
  if (!signature || signature.tag !== 0x04 || attrs.tag !== 0xa0 || digestAlg.tag !== 0x30 || sigAlg.tag !== 0x30) {
    throw malformed('the SignerInfo lacks a part');
  }
  if (unsigned.length) throw malformed('a record seal has no unsigned attributes');
  const expected = sid.tag === 0x30 ? 1n : sid.tag === 0x80 ? 3n : null;
  if (expected === null) throw malformed('unknown signer identifier');
  if (integer(siVersion) !== expected || integer(version) !== expected) {
    throw malformed(`a signer identified this way needs SignedData and SignerInfo version ${expected} (RFC 5652)`);
  }
  if (digestAlgs.children.length !== 1 || !equalBytes(digestAlgs.child(0).der, digestAlg.der)) {
    throw malformed("the SignedData's digest algorithms are not its signer's");
  }
  if (certs) sortedSet(certs);
  sortedSet(attrs);
  const values = {};
  for (const attr of attrs.children) {
    const name = ATTRS[oid(attr.child(0))];
    const set = attr.child(1, 0x31);
    if (!name || name in values || set.children.length !== 1 || attr.children.length !== 2) {
      throw malformed("a record seal's signed attributes are exactly one content-type, signing-time and message-digest value each");
    }
    values[name] = set.child(0);
  }
  for (const name of Object.values(ATTRS)) if (!(name in values)) throw malformed(`the seal lacks the signed attribute ${name}`);
  if (values.content_type.tag !== 0x06 || oid(values.content_type) !== DATA) {
    throw new SealRejected('content_type_invalid', 'the signed content-type attribute differs from the content type');
  }
  if (values.message_digest.tag !== 0x04 || values.message_digest.content.length !== 32) {
    throw malformed('the message digest is not a SHA-256 digest');
  }
  const signingTime = time(values.signing_time);
  const signed = attrs.der.slice();
  signed[0] = 0x31;
  return {
    format: 'cms',
    certificate: signerCertificate(certs, sid),
    algorithmOk: SHA256_ALGS.includes(bytesToHex(digestAlg.der)) && bytesToHex(sigAlg.der) === ECDSA_SHA256_ALG,
    eseal: null,
    signingTime,
    digest: values.message_digest.content,
    signature: signature.content,
    signed,
  };
}

function signerCertificate(certs, sid) {
  const matches = new Map();
  for (const c of certs ? certs.children : []) {
    if (c.tag !== 0x30) continue;
    let info;
    try {
      info = parseCertificate(c.der);
    } catch {
      continue;
    }
    const named = sid.tag === 0x30
      ? equalBytes(sid.child(0).der, info.issuerDer) && integer(sid.child(1)) === info.serial
      : info.keyId !== null && equalBytes(info.keyId, sid.content);
    if (named) matches.set(bytesToHex(c.der), c.der);
  }
  if (matches.size !== 1) {
    throw new SealRejected('signer_certificate_missing', matches.size === 0
      ? 'the seal does not carry the certificate its signer identifier names'
      : 'the seal carries several certificates for its one signer');
  }
  return [...matches.values()][0];
}

function readSes(sig) {
  const [tbs, cert, algId, signature, ...rest] = sig.children;
  if (!signature || tbs.tag !== 0x30 || cert.tag !== 0x04 || algId.tag !== 0x06 || signature.tag !== 0x03) {
    throw malformed('not an SES_Signature');
  }
  if (rest.length) throw malformed('a record seal carries no time stamp');
  const [version, eseal, timeInfo, dataHash, property, ...ext] = tbs.children;
  if (!property || integer(version) !== 4n || ext.length || eseal.tag !== 0x30 || property.tag !== 0x16) {
    throw malformed('a GB/T 38540 record seal is a version 4 TBS_Sign without extensions');
  }
  for (const [name, value] of [['dataHash', dataHash], ['signature', signature]]) {
    if (value.tag !== 0x03 || !value.content.length || value.content[0] !== 0) {
      throw malformed(`the seal's ${name} is not a whole number of bytes`);
    }
  }
  if (dataHash.content.length !== 33) throw malformed("the seal's dataHash is not an SM3 digest");
  if (timeInfo.tag !== 0x18) throw malformed("the seal's signing time is not a UTC time to the second");
  return {
    format: 'ses',
    certificate: cert.content,
    algorithmOk: oid(algId) === SM2_WITH_SM3,
    eseal: eseal.der,
    signingTime: time(timeInfo),
    digest: dataHash.content.subarray(1),
    signature: signature.content.subarray(1),
    signed: tbs.der,
  };
}
