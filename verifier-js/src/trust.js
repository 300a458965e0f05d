// The trust list (`certledger/trust/1`, ledger/verify/trust.py): the chain, every genuine CertLedger deployment,
// the city seal roots and the audit writer, sealed by the city root (detached CMS over the RFC 8785 JSON of the
// list without its seal). Nothing is verified without one; a bundle's own `trust` member is never trusted.
import { base64ToBytes, bytesToHex, equalBytes, pemToDer } from './bytes.js';
import { BadInput } from './bundle.js';
import { parseCertificate } from './certificate.js';
import { checksumAddress } from './chain.js';
import { sha256 } from './hashes.js';
import { isObject } from './records.js';
import { SealVerifier } from './seal.js';

export const TRUST_FORMAT = 'certledger/trust/1';
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
// `issuers` (other cities' credential issuers) is covered by the seal; bundles do not need it
const BODY_KEYS = ['format', 'issued_at', 'chain_id', 'deployments', 'seal_roots', 'audit_writer', 'issuers'];
const SEAL_CHECKS = ['seal_intact', 'seal_chain', 'seal_certificate_valid'];

const malformed = (problem) => new BadInput('trust_list_malformed', `信任列表格式错误 / the trust list ${problem}; see docs/proof-bundle.md`);

function rootDer(pem) {
  try {
    return pemToDer(pem);
  } catch (e) {
    throw new BadInput('root_pem_malformed', `the trusted city root ${e.message}; give the city seal root certificate in PEM`);
  }
}

function deployments(items) {
  if (!Array.isArray(items) || !items.length) throw malformed('names no deployment');
  return items.map((d) => {
    if (!isObject(d) || typeof d.address !== 'string' || !ADDRESS.test(d.address)) throw malformed('has a deployment without a 0x address');
    if (!Number.isInteger(d.from_block) || d.from_block < 0) throw malformed(`deployment ${d.address} has no from_block`);
    return { address: checksumAddress(d.address), fromBlock: d.from_block, txHash: d.tx_hash ?? null };
  });
}

function roots(items) {
  if (!Array.isArray(items) || !items.length) throw malformed('names no seal root');
  return items.map((r) => {
    if (!isObject(r) || typeof r.certificate_pem !== 'string') throw malformed('has a seal root without certificate_pem');
    const der = rootDer(r.certificate_pem);
    if (r.sha256 !== bytesToHex(sha256(der))) throw malformed("has a seal root whose sha256 is not its certificate's");
    return der;
  });
}

/** Another city's credential issuer: its DID document pinned, its status lists fetched from under the prefix. */
function foreignIssuer(i) {
  if (!isObject(i) || typeof i.did !== 'string' || typeof i.name !== 'string' || !isObject(i.did_document)) {
    throw malformed('has an issuer without did, name and did_document');
  }
  return { did: i.did, name: i.name, didDocument: i.did_document, statusUrlPrefix: i.status_url_prefix ?? null };
}

/**
 * A trust list from its JSON text or object, after checking its seal (BadInput trust_list_seal_invalid otherwise):
 * `{chainId, deployments, sealRoots (DER), auditWriter, issuedAt, issuers, trustsContract(address)}`.
 * `rootPem`, when given, is the city root the caller already trusts: the list must be sealed by it.
 */
export function loadTrustList(data, { rootPem = null } = {}) {
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch (e) {
      throw malformed(`is not JSON (${e.message})`);
    }
  }
  if (!isObject(data) || data.format !== TRUST_FORMAT) throw malformed(`is not a ${TRUST_FORMAT} document`);
  const unknown = Object.keys(data).filter((k) => !BODY_KEYS.includes(k) && k !== 'seal').sort();
  if (unknown.length) throw malformed(`has unknown keys ${unknown}`);
  if (!Number.isInteger(data.chain_id) || data.chain_id <= 0) throw malformed('has no positive chain_id');
  if (data.issuers !== undefined && !Array.isArray(data.issuers)) throw malformed('has issuers that are not a list');
  const writer = data.audit_writer ?? null;
  if (writer !== null && (typeof writer !== 'string' || !ADDRESS.test(writer))) throw malformed('has an audit_writer that is not an address');
  const trust = {
    chainId: data.chain_id,
    deployments: deployments(data.deployments),
    sealRoots: roots(data.seal_roots),
    auditWriter: writer && checksumAddress(writer),
    issuedAt: data.issued_at ?? null,
    issuers: (data.issuers ?? []).map(foreignIssuer),
    trustsContract(address) {
      return this.deployments.some((d) => d.address.toLowerCase() === address.toLowerCase());
    },
  };
  const sealing = trust.sealRoots.find((der) => parseCertificate(der).algorithm === 'p256');
  if (!sealing) throw new BadInput('trust_list_malformed', '信任列表没有 P-256 根证书 / the trust list has no P-256 seal root to check its seal with');
  if (rootPem !== null && !equalBytes(rootDer(rootPem), sealing)) {
    throw new BadInput('trust_list_untrusted_root', `信任列表不是由您信任的城市根证书签发的 / the trust list is sealed by a root other than the one you trust (its root has SHA-256 ${bytesToHex(sha256(sealing))})`);
  }
  checkSeal(data, sealing);
  return trust;
}

function checkSeal(doc, sealingRoot) {
  const seal = doc.seal;
  if (!isObject(seal) || seal.format !== 'cms' || typeof seal.der !== 'string') {
    throw new BadInput('trust_list_seal_invalid', '信任列表未签章 / the trust list carries no seal ({"format": "cms", "der": base64}); get a sealed copy from the platform');
  }
  let der;
  try {
    der = base64ToBytes(seal.der);
  } catch {
    throw new BadInput('trust_list_seal_invalid', "the trust list's seal is not base64");
  }
  const body = Object.fromEntries(Object.entries(doc).filter(([k]) => k !== 'seal'));
  const checks = new SealVerifier(sealingRoot).verifyRecord(body, der, { issuerCodeKey: 'certledger:none' });
  const failed = checks.find((c) => SEAL_CHECKS.includes(c.name) && c.status !== 'VALID');
  if (failed) {
    throw new BadInput('trust_list_seal_invalid', `信任列表签章无效 / the trust list's seal fails ${failed.name} (${failed.reason}): the list was changed or not sealed by its city root`);
  }
}
