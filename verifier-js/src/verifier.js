// The verification fragments and the verdict, as ledger/verify/fragments.py's Verifier in its standalone mode
// (a chain node and the trust list, nothing else): the same named checks, statuses and reason codes, in the same
// order, and the same verdict rule. docs/proof-bundle.md documents each fragment.
import { base64ToBytes, bytesToHex, equalBytes, hex0x, hexToBytes } from './bytes.js';
import { BadInput, loadBundle, PUBLIC_PROOF_FORMAT } from './bundle.js';
import { ChainError, LedgerContract, NoContract } from './chain.js';
import { check, verdict } from './checks.js';
import { CertificateError, parseCertificate } from './certificate.js';
import { processProof, sha256, usccHash } from './hashes.js';
import { CERTIFICATE, checkRecord, documentSha256, isObject, recordKind, recordLeaf, RecordError } from './records.js';
import { SealVerifier } from './seal.js';
import { readSeal, SealRejected } from './seal_reader.js';
import { CanonicalizationError } from './jcs.js';

export const REQUIRED = ['record_integrity', 'merkle_proof', 'anchor_on_chain', 'anchor_issuer', 'seal', 'status', 'validity_period'];
const STATUS_NAMES = { 1: 'valid', 2: 'suspended', 3: 'revoked', 4: 'cancelled', 7: 'withdrawn', 8: 'superseded' };
const ORG_KINDS = { 1: 'department', 2: 'association', 3: 'audit_writer' };
const iso = (t) => new Date(t * 1000).toISOString().replace('.000Z', '+00:00');
const pad2 = (n) => String(n).padStart(2, '0');
/** Why a public proof's record-level checks are SKIPPED (reason `no_record`): it carries the public summary only. */
export const NO_RECORD = 'the public proof carries no record (no holder, fields or salt), so this needs the holder\'s own bundle; '
  + 'the chain checks above do not depend on it';

/** Today's date in China (UTC+8), YYYY-MM-DD, against which validity periods are judged. */
export function todayChina(now = new Date()) {
  return new Date(now.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

function isoDate(value) {
  if (typeof value !== 'string' || !value) return null;
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(value);
  if (!m) throw new Error('not a date');
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  if (d.getUTCMonth() !== +m[2] - 1 || d.getUTCDate() !== +m[3]) throw new Error('not a date');
  return `${m[1]}-${m[2]}-${m[3]}`;
}

function sealCertificate(seal) {
  return readSeal(seal).certificate;
}

/**
 * Verifies proof bundles with only a JSON-RPC endpoint and the trust list (`loadTrustList`).
 * `options.now` (a Date) fixes "today"; `options.fetchImpl` replaces the global fetch.
 */
export class Verifier {
  constructor(rpcUrl, trust, { now = null, fetchImpl, timeoutMs } = {}) {
    if (!trust) {
      throw new BadInput('trust_list_missing', '没有信任列表，无法验证 / no trust list, so nothing to verify against: get the platform\'s with GET /public/trust');
    }
    Object.assign(this, { rpcUrl, trust, now, fetchImpl, timeoutMs });
  }

  /** `{verdict, checks, certificate}` for a bundle or a public proof (JSON text or object); `document` (bytes)
   * checked when given. A public proof gets every check that needs no record; the others are SKIPPED `no_record`
   * and not required. */
  async verifyBundle(input, document = null) {
    return this.verifyLoaded(loadBundle(input), document);
  }

  /** verifyBundle of a bundle whose shape is checked already (a credential's evidence makes one). */
  async verifyLoaded(bundle, document = null) {
    const withRecord = bundle.format !== PUBLIC_PROOF_FORMAT;
    const contract = new LedgerContract(this.rpcUrl, bundle.chain.contract, { fetchImpl: this.fetchImpl, timeoutMs: this.timeoutMs });
    const seal = base64ToBytes(bundle.seal.der);
    const leaf = hexToBytes(bundle.leaf);
    const root = bundle.root ? hexToBytes(bundle.root) : null;
    const proof = (bundle.proof ?? []).map(hexToBytes);
    const record = withRecord ? bundle.record : bundle.summary;
    const kind = withRecord ? recordKind(record) : CERTIFICATE;
    const checks = [withRecord ? recordIntegrity(record, leaf) : check('record_integrity', 'SKIPPED', 'no_record', NO_RECORD)];
    let anchor = null, statusCode = null;
    if (root === null) {
      const pending = ['not_yet_anchored', 'the certificate is issued but not yet anchored; verify again after the next anchoring batch'];
      checks.push(check('merkle_proof', 'SKIPPED', ...pending), check('anchor_on_chain', 'SKIPPED', ...pending));
    } else {
      checks.push(merkleProof(leaf, root, proof));
      let anchored;
      [anchor, statusCode, anchored] = await this.anchorOnChain(contract, bundle, record, leaf, root, proof, kind);
      checks.push(anchored);
    }
    const required = REQUIRED.slice(withRecord ? 0 : 1, 4);
    if (!kind.sealed) {
      checks.push(anchorAccount(anchor, checks.at(-1), kind));
    } else {
      required.push('seal', 'status');
      checks.push(...await this.sealedChecks(contract, record, seal, anchor, statusCode, checks.at(-1), kind, withRecord));
      if (kind.dated) {
        checks.push(this.validity(record));
        required.push('validity_period');
      }
      if (!withRecord) {
        checks.push(check('document_digest', 'SKIPPED', 'no_record', NO_RECORD));
      } else if (document === null) {
        checks.push(check('document_digest', 'SKIPPED', 'no_document', 'no document was given; pass the PDF to check it against the record'));
      } else {
        checks.push(await documentDigest(record, document, kind));
        required.push('document_digest');
      }
    }
    return { verdict: verdict(checks, required), checks, certificate: summary(record, bundle, anchor, statusCode, kind) };
  }

  /** `{verdict, checks, credential}` of a W3C VC 2.0 (JSON text or object). `options`: `platformUrl` (the
   * platform whose departments' DID documents and status lists may be fetched), `documents` ({DID or URL:
   * document} the caller supplies). The JSON-LD code (large) is loaded on the first call. */
  async verifyCredential(input, options = {}) {
    const { verifyCredential } = await import('./credential.js');
    return verifyCredential(this, input, options);
  }

  /** `{verdict, checks, credential, claims}` of an SD-JWT VC presentation (compact text); options as
   * verifyCredential's, and `aud`/`nonce` a key binding JWT must carry, `anchor: false` to skip the chain. Its code is
   * loaded on the first call too (browsers that verify bundles only never fetch it). */
  async verifySdJwt(text, options = {}) {
    const { verifySdJwt } = await import('./sd_jwt.js');
    return verifySdJwt(this, text, options);
  }

  async anchorOnChain(contract, bundle, record, leaf, root, proof, kind) {
    const name = 'anchor_on_chain';
    const claimed = bundle.chain ?? {};
    let refused = this.untrusted(claimed, null, contract.address);
    if (refused) return [null, null, refused];
    let chainId, anchor = null, status = null, org = null, issuers = [];
    try {
      chainId = await contract.chainId();
      refused = this.untrusted(claimed, chainId, contract.address);
      if (refused) return [null, null, refused];
      if (claimed.chain_id !== undefined && claimed.chain_id !== null && claimed.chain_id !== chainId) {
        return [null, null, check(name, 'INVALID', 'wrong_chain', `the bundle was anchored on chain ${claimed.chain_id}, but this node serves chain ${chainId}: use an RPC endpoint of that chain`)];
      }
      issuers = await this.issuers(contract, record, kind);
      for (const issuer of issuers) {
        const answer = await contract.verify(issuer, root, leaf, proof);
        if (answer.anchored) {
          anchor = { issuer, blockNumber: answer.blockNumber, timestamp: answer.timestamp,
            sealFingerprint: answer.sealFingerprint, compromiseTime: answer.sealCompromiseTime };
          status = answer.included ? answer.status : await contract.statusOf(issuer, root, leaf);
          break;
        }
      }
      org = anchor ? await contract.organization(anchor.issuer) : null;
    } catch (e) {
      if (e instanceof ChainError) return [null, null, check(name, 'ERROR', e.code, e.message)];
      if (e instanceof NoContract) {
        return [null, null, check(name, 'INVALID', 'contract_not_found', `no CertLedger contract answers at ${contract.address} on chain ${chainId}: ${e.message}`)];
      }
      throw e;
    }
    if (!anchor) {
      return [null, null, check(name, 'INVALID', 'root_not_anchored', `the root ${hex0x(root)} was never anchored on the ledger contract by an account of the record's ${kind.anchoredBy} (${issuers.length} registered)`)];
    }
    const data = { issuer: anchor.issuer, block_number: anchor.blockNumber, anchored_at: iso(anchor.timestamp), chain_id: chainId, batch_kind: kind.batchKind };
    if (!org || org.kind !== kind.orgKind) {
      const registered = org ? ORG_KINDS[org.kind] ?? 'none' : 'unregistered';
      return [anchor, status, check(name, 'INVALID', `issuer_not_${kind.anchoredBy}`, `the root was anchored by ${anchor.issuer}, an account registered as ${registered}; only an account registered as ${kind.anchoredBy} anchors ${kind.batchKind}`, data)];
    }
    anchor.org = org;
    if (claimed.block_number !== undefined && claimed.block_number !== null && claimed.block_number !== anchor.blockNumber) {
      return [anchor, status, check(name, 'INVALID', 'anchor_mismatch', `the bundle says block ${claimed.block_number}, the chain anchored the root in block ${anchor.blockNumber}`, data)];
    }
    return [anchor, status, check(name, 'VALID', `anchored_by_${kind.anchoredBy}`, '', data)];
  }

  /** anchor_on_chain refused before the chain is asked: the bundle's chain or contract (or the node's chain) is
   * not one the trust list names. */
  untrusted(claimed, chainId, address) {
    const trust = this.trust;
    for (const [source, value] of [['bundle', claimed.chain_id], ['node', chainId]]) {
      if (value !== undefined && value !== null && value !== trust.chainId) {
        return check('anchor_on_chain', 'INVALID', 'untrusted_chain', `不受信任的链 / the ${source} names chain ${value}, but the trust list trusts chain ${trust.chainId} only`, { chain_id: value, trusted_chain_id: trust.chainId });
      }
    }
    for (const a of [claimed.contract, address]) {
      if (typeof a === 'string' && !trust.trustsContract(a)) {
        return check('anchor_on_chain', 'INVALID', 'untrusted_contract', `不受信任的合约 / the ledger contract ${a} is not one of the platform's deployments on the trust list: a look-alike contract proves nothing`, { contract: a, trusted: trust.deployments.map((d) => d.address) });
      }
    }
    return null;
  }

  async issuers(contract, record, kind) {
    if (kind.issuerCodeKey === null) return this.trust.auditWriter ? [this.trust.auditWriter] : [];
    const code = isObject(record) ? record[kind.issuerCodeKey] : undefined;
    return typeof code === 'string' && code ? contract.accountsOf(usccHash(code)) : [];
  }

  async sealedChecks(contract, record, seal, anchor, statusCode, anchored, kind, withRecord) {
    const department = isObject(record) ? record[kind.issuerCodeKey] : undefined;
    const checks = [await anchorIssuer(contract, anchor, department, seal, anchored, kind)];
    const [verifier, rootSource] = this.sealVerifier(seal);
    applyCompromise(verifier, seal, anchor);
    checks.push(...sealChecks(verifier, rootSource, record, seal, anchor, kind, withRecord));
    checks.push(statusCheck(anchor, statusCode));
    return checks;
  }

  /** A verifier for the trust list's root that issued the seal's certificate (its first root when none did). */
  sealVerifier(seal) {
    let root = this.trust.sealRoots[0];
    try {
      const issuer = parseCertificate(sealCertificate(seal)).issuerDer;
      root = this.trust.sealRoots.find((r) => equalBytes(parseCertificate(r).subjectDer, issuer)) ?? root;
    } catch (e) {
      if (!(e instanceof SealRejected || e instanceof CertificateError)) throw e;
    }
    return [new SealVerifier(root), 'trust_list'];
  }

  validity(record) {
    const name = 'validity_period';
    const today = todayChina(this.now ?? new Date());
    let start, end;
    try {
      start = isoDate(record.valid_from);
      end = isoDate(record.valid_until);
    } catch {
      return check(name, 'INVALID', 'dates_malformed', "the record's validity dates are not ISO dates");
    }
    const data = { today, valid_from: start, valid_until: end };
    if (start !== null && today < start) return check(name, 'INVALID', 'not_yet_valid', `the certificate is valid from ${start}`, data);
    if (end !== null && today > end) return check(name, 'INVALID', 'expired', `the certificate expired after ${end}`, data);
    return check(name, 'VALID', end ? 'within_validity' : 'long_term', '', data);
  }
}

function recordIntegrity(record, leaf) {
  let computed;
  try {
    checkRecord(record);
    computed = recordLeaf(record);
  } catch (e) {
    if (e instanceof RecordError) return check('record_integrity', 'INVALID', e.code, e.message);
    throw e;
  }
  const data = { leaf: hex0x(computed) };
  if (!equalBytes(computed, leaf)) {
    return check('record_integrity', 'INVALID', 'leaf_mismatch', "the record differs from the one that was anchored: its hash is not the bundle's leaf", data);
  }
  return check('record_integrity', 'VALID', 'leaf_matches', '', data);
}

function merkleProof(leaf, root, proof) {
  const reached = processProof(leaf, proof);
  const data = { root: hex0x(root), length: proof.length };
  if (!equalBytes(reached, root)) {
    data.reached = hex0x(reached);
    return check('merkle_proof', 'INVALID', 'proof_mismatch', 'the proof does not lead from the leaf to the root: it belongs to another leaf or root', data);
  }
  return check('merkle_proof', 'VALID', 'proof_reaches_root', '', data);
}

async function anchorIssuer(contract, anchor, department, seal, anchored, kind) {
  const name = 'anchor_issuer', role = kind.anchoredBy;
  if (!anchor || anchored.status !== 'VALID') return check(name, 'SKIPPED', `no_${role}_anchor`, `the root has no ${role} anchor to check`);
  if (typeof department !== 'string' || !department) return check(name, 'INVALID', `no_${role}_code`, `the record names no ${kind.issuerCodeKey}`);
  let fingerprint;
  try {
    fingerprint = sha256(sealCertificate(seal));
  } catch (e) {
    if (e instanceof SealRejected) return check(name, 'INVALID', e.reason, `no seal certificate can be read from the seal: ${e.message}`);
    throw e;
  }
  const org = anchor.org;
  const data = { issuer: anchor.issuer, seal_fingerprint: hex0x(fingerprint), anchor_seal_fingerprint: hex0x(anchor.sealFingerprint) };
  if (!org || !equalBytes(org.usccHash, usccHash(department))) {
    return check(name, 'INVALID', `${role}_mismatch`, `the anchoring account ${anchor.issuer} is not registered for ${role} ${department}`, data);
  }
  if (!equalBytes(fingerprint, anchor.sealFingerprint)) {
    return check(name, 'INVALID', 'seal_not_current', `印章与上链时的印章不符 / the record's seal certificate is not the seal ${anchor.issuer} had on chain when it anchored the root (a rotated-out or never registered seal anchors nothing)`, data);
  }
  return check(name, 'VALID', `${role}_and_seal_registered`, '', data);
}

function anchorAccount(anchor, anchored, kind) {
  const name = 'anchor_issuer', role = kind.anchoredBy;
  if (!anchor || anchored.status !== 'VALID') return check(name, 'SKIPPED', `no_${role}_anchor`, `the root has no ${role} anchor to check`);
  return check(name, 'VALID', role, '', { account: anchor.issuer });
}

/** The chain's compromise time of the anchor's seal counts for seal_certificate_valid when the record was sealed
 * with that seal. */
function applyCompromise(verifier, seal, anchor) {
  if (!anchor || !anchor.compromiseTime) return;
  let cert;
  try {
    cert = sealCertificate(seal);
  } catch {
    return;
  }
  if (!equalBytes(sha256(cert), anchor.sealFingerprint)) return;
  const serial = parseCertificate(cert).serial;
  const known = verifier.revocations.get(serial);
  if (known === undefined || anchor.compromiseTime < known) verifier.revocations.set(serial, anchor.compromiseTime);
}

function sealChecks(verifier, rootSource, record, seal, anchor, kind, withRecord) {
  let checks;
  try {
    checks = verifier.verifyRecord(record, seal, { anchoredAt: anchor ? anchor.timestamp : null, issuerCodeKey: kind.issuerCodeKey, withRecord });
  } catch (e) {
    if (e instanceof CanonicalizationError) return [check('seal', 'INVALID', 'record_not_json', e.message, { trust_root: rootSource })];
    throw e;
  }
  const failed = checks.find((c) => c.status !== 'VALID' && c.reason !== 'no_record');
  const data = { trust_root: rootSource, checks: checks.map((c) => c.name) };
  let summaryCheck;
  if (failed) summaryCheck = check('seal', 'INVALID', failed.reason, `${failed.name}: ${failed.message}`, data);
  else if (withRecord) summaryCheck = check('seal', 'VALID', 'seal_valid', '', data);
  else {
    summaryCheck = check('seal', 'VALID', 'seal_certificate_valid', 'the seal certificate chains to the city root, was valid '
      + 'when sealing and is the one on chain at the anchor; its signature over the record needs the holder\'s bundle', data);
  }
  return [summaryCheck, ...checks];
}

function statusCheck(anchor, code) {
  if (!anchor || code === null) return check('status', 'SKIPPED', 'no_anchor', 'a status exists only for an anchored leaf');
  const data = { code: pad2(code) };
  if (code === 1) return check('status', 'VALID', 'valid', '', data);
  const name = STATUS_NAMES[code] ?? 'unknown';
  return check('status', 'INVALID', name, `the certificate's status on chain is ${pad2(code)} (${name})`, data);
}

async function documentDigest(record, document, kind) {
  const name = 'document_digest';
  const expected = isObject(record) ? documentSha256(kind, record) : undefined;
  const digest = bytesToHex(sha256(document));
  if (typeof expected !== 'string' || !expected) {
    return check(name, 'INVALID', 'record_has_no_document', 'the record was issued without a document, so no document can belong to it');
  }
  const data = { sha256: digest, expected };
  if (digest !== expected) return check(name, 'INVALID', 'digest_mismatch', 'this document is not the one issued with the certificate (its SHA-256 differs)', data);
  return check(name, 'VALID', 'digest_matches', '', data);
}

function summary(record, bundle, anchor, status, kind) {
  if (!isObject(record)) return {};
  const out = Object.fromEntries(kind.summaryKeys.map((k) => [k, record[k] ?? null]));
  out.status = status !== null ? pad2(status) : null;
  out.root = bundle.root ?? null;
  if (anchor) {
    out.anchored_at = iso(anchor.timestamp);
    out.block_number = anchor.blockNumber;
    out.issuer_account = anchor.issuer;
  }
  return out;
}

