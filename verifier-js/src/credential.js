// W3C VC 2.0 credentials (ecdsa-rdfc-2019) of this platform or of another city on the trust list: the checks of
// ledger/credentials/vc_verify.py, same names, statuses and reason codes, in the same order (contexts,
// issuer_trusted, verification_method, proof, validity_period, status), and `anchor`: the chain anchor in
// `evidence` checked against the JSON-RPC endpoint as a proof bundle is (evidence.js).
import { BadInput } from './bundle.js';
import { check, verdict } from './checks.js';
import { packagedContext, VC_V2 } from './contexts.js';
import { JsonLdInvalid, proofVerifies } from './data_integrity.js';
import { anchorCheck } from './evidence.js';
import { isObject } from './records.js';
import { NotAllowed, methodKeys, Resolver, Unreachable } from './resolver.js';
import { bitAt, bitstring } from './status_lists.js';

export const VC_REQUIRED = ['contexts', 'issuer_trusted', 'verification_method', 'proof', 'validity_period'];
const PURPOSES = ['revocation', 'suspension'];
const CLOCK_TOLERANCE_MS = 60_000; // a document becomes valid this much early: issuers' clocks run ahead of ours
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

/** The credential (parsed) and its issuer DID, if it has the shape of a VC 2.0 with a proof; BadInput vc_malformed. */
export function credentialShape(input) {
  let credential = input;
  if (typeof input === 'string') {
    try {
      credential = JSON.parse(input);
    } catch {
      credential = null;
    }
  }
  const ok = isObject(credential) && Array.isArray(credential['@context']) && Array.isArray(credential.type)
    && credential.type.includes('VerifiableCredential') && isObject(credential.proof);
  const issuer = ok ? credential.issuer : undefined;
  const did = isObject(issuer) ? issuer.id : issuer;
  if (!ok || typeof did !== 'string') {
    throw new BadInput('vc_malformed', '不是带证明的 W3C 可验证凭证 2.0 / not a W3C VC 2.0 with a proof: it needs @context (a list), type VerifiableCredential, issuer and proof');
  }
  return [credential, did];
}

function contextsCheck(credential) {
  const contexts = credential['@context'];
  if (!contexts.length || contexts[0] !== VC_V2) return check('contexts', 'INVALID', 'context_not_vc2', `the first @context must be ${VC_V2}`);
  const unknown = contexts.find((url) => typeof url === 'string' && packagedContext(url) === null);
  if (unknown !== undefined) {
    return check('contexts', 'INVALID', 'context_unknown', '未知的 JSON-LD 上下文 / a context that is not packaged here (contexts are never fetched)', { url: unknown });
  }
  return check('contexts', 'VALID', 'contexts_packaged');
}

function methodCheck(issuer, proof) {
  const vm = proof.verificationMethod;
  let usable;
  try {
    usable = methodKeys(issuer.did, issuer.document);
  } catch (e) {
    return [check('verification_method', 'INVALID', 'did_document_invalid', e.message), null];
  }
  if (!usable.has(vm)) {
    return [check('verification_method', 'INVALID', 'method_not_authorized', '证明的密钥不在发证机构的 assertionMethod 中 / the proof\'s key is not an assertion method of the issuer', { verification_method: vm ?? null }), null];
  }
  return [check('verification_method', 'VALID', 'assertion_method', '', { verification_method: vm }), usable.get(vm)];
}

async function proofCheck(document, key) {
  let ok;
  try {
    ok = await proofVerifies(document, key);
  } catch (e) {
    if (!(e instanceof JsonLdInvalid)) throw e;
    return check('proof', 'INVALID', 'jsonld_invalid', `不能规范化 / cannot be canonicalised: ${e.message}`);
  }
  if (!ok) return check('proof', 'INVALID', 'signature_invalid', '签名无效：凭证已被改动 / the signature does not match: the credential was changed or not signed by this key');
  return check('proof', 'VALID', 'signature_valid');
}

function when(value) {
  if (value === undefined || value === null) return null;
  const text = String(value);
  if (!DATE_TIME.test(text) || Number.isNaN(Date.parse(text))) throw new Error('not a dateTime');
  return new Date(/(Z|[+-]\d{2}:\d{2})$/.test(text) ? text : text + 'Z');
}

/** validity_period: now within validFrom .. validUntil. */
export function validityCheck(document, now = new Date(), name = 'validity_period') {
  let start, end;
  try {
    [start, end] = [when(document.validFrom), when(document.validUntil)];
  } catch {
    return check(name, 'INVALID', 'dates_malformed', 'validFrom/validUntil are not XML Schema dateTimes');
  }
  if (start !== null && now.getTime() + CLOCK_TOLERANCE_MS < start.getTime()) return check(name, 'INVALID', 'not_yet_valid', '尚未生效 / not valid yet', { validFrom: start.toISOString() });
  if (end !== null && now > end) return check(name, 'INVALID', 'expired', '已过期 / expired', { validUntil: end.toISOString() });
  return check(name, 'VALID', 'within_period');
}

/** Every check of a VC 2.0 and the verdict; `verifier` (a Verifier) checks the evidence's anchor on chain and
 * gives the trust list, `options` the Resolver's (platformUrl, documents, fetchImpl). */
export async function verifyCredential(verifier, input, options = {}) {
  const [credential, did] = credentialShape(input);
  const resolver = new Resolver(verifier.trust, { fetchImpl: verifier.fetchImpl, timeoutMs: verifier.timeoutMs, ...options });
  const now = verifier.now ?? new Date();
  const checks = [contextsCheck(credential)];
  let issuer = null, key = null;
  try {
    issuer = await resolver.issuer(did);
  } catch (e) {
    if (!(e instanceof Unreachable)) throw e;
    checks.push(check('issuer_trusted', 'ERROR', 'did_document_unreachable', e.message, { issuer: did }));
  }
  if (checks.length === 2) {
    checks.push(check('verification_method', 'SKIPPED', 'did_document_unreachable'));
  } else if (issuer === null) {
    checks.push(check('issuer_trusted', 'INVALID', 'issuer_not_trusted', '发证机构不在信任列表中 / the issuer is not on the platform\'s trust list', { issuer: did }),
      check('verification_method', 'SKIPPED', 'issuer_not_trusted'));
  } else {
    checks.push(check('issuer_trusted', 'VALID', issuer.ownCode ? 'own_issuer' : 'foreign_issuer_trusted', '', { issuer: did, name: issuer.name }));
    let methodResult;
    [methodResult, key] = methodCheck(issuer, credential.proof);
    checks.push(methodResult);
  }
  if (key === null) checks.push(check('proof', 'SKIPPED', 'no_trusted_key', '没有可信的密钥 / no trusted key to check with'));
  else if (checks[0].status !== 'VALID') checks.push(check('proof', 'SKIPPED', 'context_unknown', '上下文未知，无法规范化 / unknown context'));
  else checks.push(await proofCheck(credential, key));
  checks.push(validityCheck(credential, now));
  const authentic = key !== null && checks.at(-2).status === 'VALID';
  checks.push(authentic ? await statusCheck(resolver, issuer, credential, key, now)
    : check('status', 'SKIPPED', 'not_authentic', '凭证未通过验证 / the credential is not authentic'));
  checks.push(authentic ? await anchorCheck(verifier, credential, did)
    : check('anchor', 'SKIPPED', 'not_authentic', '凭证未通过验证 / the credential is not authentic'));
  const summary = { id: credential.id ?? null, type: credential.type, name: credential.name ?? null, issuer: did,
    issuer_name: issuer?.name ?? null, validFrom: credential.validFrom ?? null, validUntil: credential.validUntil ?? null };
  return { verdict: verdict(checks, VC_REQUIRED), checks, credential: summary };
}

async function statusCheck(resolver, issuer, credential, key, now) {
  let entries = credential.credentialStatus ?? [];
  entries = (isObject(entries) ? [entries] : entries).filter((e) => isObject(e) && e.type === 'BitstringStatusListEntry');
  if (!entries.length) return check('status', 'SKIPPED', 'no_status', '凭证没有状态列表 / the credential has no status list entry');
  if (issuer.ownCode === null && issuer.statusUrlPrefix === null) {
    return check('status', 'SKIPPED', 'status_not_checked', '信任列表未允许获取该机构的状态列表，未检查撤销 / the trust entry allows no status list URL for this issuer, so revocation was not checked');
  }
  const checked = [];
  for (const entry of entries) {
    const problem = await entryStatus(resolver, issuer, entry, key, now);
    if (problem !== null) return problem;
    checked.push(entry.statusPurpose);
  }
  return check('status', 'VALID', 'not_revoked', '', { purposes: checked });
}

async function entryStatus(resolver, issuer, entry, key, now) {
  const url = String(entry.statusListCredential ?? ''), purpose = entry.statusPurpose;
  const index = /^\s*[+-]?\d+\s*$/.test(String(entry.statusListIndex ?? '')) ? Number(entry.statusListIndex) : NaN;
  if (Number.isNaN(index)) return check('status', 'INVALID', 'status_entry_invalid', '状态条目无效 / malformed status entry', { url });
  const allowed = issuer.ownCode !== null && PURPOSES.includes(purpose) ? [resolver.statusUrl(issuer.ownCode, purpose)] : [];
  let list;
  try {
    list = JSON.parse(await resolver.statusList(issuer, url, allowed));
  } catch (e) {
    if (e instanceof NotAllowed) {
      return check('status', 'SKIPPED', 'status_url_not_allowed', '状态列表地址不在信任列表允许的前缀下 / the status list URL is outside the prefix the trust entry allows', { url });
    }
    return check('status', 'ERROR', 'status_list_unreachable', `无法获取状态列表 / could not get the status list: ${e.message}`, { url });
  }
  const subject = (isObject(list) && list.credentialSubject) || {};
  if (!isObject(list) || list.issuer !== issuer.did || subject.statusPurpose !== purpose
      || validityCheck(list, now).status !== 'VALID' || (await proofCheck(list, key)).status !== 'VALID') {
    return check('status', 'INVALID', 'status_list_invalid', '状态列表未通过验证 / the status list is not the issuer\'s, not current, or not for this purpose', { url });
  }
  let bits;
  try {
    bits = await bitstring(subject.encodedList);
  } catch {
    return check('status', 'INVALID', 'status_list_invalid', '状态列表无法解码 / undecodable list', { url });
  }
  const set = bitAt(bits, index);
  if (set === null) return check('status', 'INVALID', 'status_entry_invalid', '索引超出列表 / index out of the list');
  if (set) {
    const reason = purpose === 'revocation' ? 'revoked' : String(purpose);
    return check('status', 'INVALID', reason, reason === 'revoked' ? '已撤销 / revoked' : `状态：${purpose} / status set: ${purpose}`, { purpose, index });
  }
  return null;
}
