// SD-JWT VCs of this platform or of a city on the trust list (ledger/credentials/sd_jwt.py makes them,
// sd_jwt_verify.py verifies them): named checks as the VC's, with SD-JWT's own where the format differs:
// issuer_trusted, verification_method (the header's kid), signature (ES256), disclosures (each one's digest in an
// `_sd` of the signed payload), key_binding (a KB-JWT, when present, by the key in `cnf`), validity_period (nbf,
// exp), status (the issuer's Token Status List) and anchor (the chain anchor in the payload, on chain).
import { BadInput } from './bundle.js';
import { base64UrlToBytes, bytesToBase64Url, equalBytes, hexToBytes, hex0x, utf8 } from './bytes.js';
import { ChainError, LedgerContract, NoContract } from './chain.js';
import { check, verdict } from './checks.js';
import { processProof, sha256, usccHash } from './hashes.js';
import { es256Verifies, jwkPoint, parseJws } from './jws.js';
import { isObject } from './records.js';
import { methodKeys, NotAllowed, Resolver, Unreachable } from './resolver.js';
import { tokenStatus } from './status_lists.js';

export const SD_JWT_REQUIRED = ['issuer_trusted', 'verification_method', 'signature', 'disclosures', 'validity_period'];
const STATUS_REASONS = { 1: 'revoked', 2: 'suspended' };
const decoder = new TextDecoder('utf-8', { fatal: true });
const digestOf = (disclosure) => bytesToBase64Url(sha256(utf8(disclosure)));

/** `{jws, disclosures, kb, presented}` of an SD-JWT compact presentation; BadInput sd_jwt_malformed. */
export function parseSdJwt(text) {
  const parts = typeof text === 'string' ? text.trim().split('~') : [];
  let jws;
  try {
    jws = parseJws(parts[0]);
  } catch (e) {
    throw new BadInput('sd_jwt_malformed', `不是 SD-JWT / not an SD-JWT (issuer JWT~disclosures~[KB-JWT]): ${e.message}`);
  }
  if (parts.length < 2) throw new BadInput('sd_jwt_malformed', 'an SD-JWT ends with "~" (or a key binding JWT after it)');
  const kb = parts.at(-1) || null;
  return { jws, disclosures: parts.slice(1, -1), kb, presented: parts.slice(0, -1).join('~') + '~' };
}

function collectDigests(node, into = new Set()) {
  if (Array.isArray(node)) node.forEach((v) => collectDigests(v, into));
  else if (isObject(node)) {
    for (const d of Array.isArray(node._sd) ? node._sd : []) into.add(d);
    if (typeof node['...'] === 'string') into.add(node['...']);
    Object.values(node).forEach((v) => collectDigests(v, into));
  }
  return into;
}

/** The payload with every disclosed claim put in place of its digest (`_sd`, `_sd_alg` and undisclosed gone). */
function disclosed(node, byDigest) {
  if (Array.isArray(node)) {
    return node.filter((v) => !(isObject(v) && '...' in v) || byDigest.has(v['...']))
      .map((v) => (isObject(v) && '...' in v ? disclosed(byDigest.get(v['...']).at(-1), byDigest) : disclosed(v, byDigest)));
  }
  if (!isObject(node)) return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) if (k !== '_sd' && k !== '_sd_alg') out[k] = disclosed(v, byDigest);
  for (const d of Array.isArray(node._sd) ? node._sd : []) {
    const found = byDigest.get(d);
    if (found && found.length === 3) out[found[1]] = disclosed(found[2], byDigest);
  }
  return out;
}

function disclosuresCheck(payload, disclosures) {
  const signed = collectDigests(payload);
  const byDigest = new Map();
  if (payload._sd_alg !== undefined && payload._sd_alg !== 'sha-256') {
    return [check('disclosures', 'INVALID', 'sd_alg_unsupported', `_sd_alg ${payload._sd_alg} is not sha-256`), {}];
  }
  for (const d of disclosures) {
    let value;
    try {
      value = JSON.parse(decoder.decode(base64UrlToBytes(d)));
    } catch {
      value = null;
    }
    const digest = digestOf(d);
    if (!Array.isArray(value) || ![2, 3].includes(value.length) || byDigest.has(digest)) {
      return [check('disclosures', 'INVALID', 'disclosure_malformed', '披露格式错误 / a disclosure is not base64url JSON [salt, name, value] or appears twice'), {}];
    }
    if (!signed.has(digest)) {
      return [check('disclosures', 'INVALID', 'disclosure_not_signed', '披露不在已签名的令牌中 / a disclosure\'s digest is in no _sd of the signed token: it was changed or added', { digest }), {}];
    }
    byDigest.set(digest, value);
  }
  return [check('disclosures', 'VALID', 'disclosures_signed', '', { count: disclosures.length }), disclosed(payload, byDigest)];
}

function keyBindingCheck(parsed, options) {
  const name = 'key_binding';
  if (parsed.kb === null) return check(name, 'SKIPPED', 'no_key_binding', '没有持有者绑定 / the presentation carries no key binding JWT');
  let kb, holder;
  try {
    kb = parseJws(parsed.kb);
    holder = jwkPoint(parsed.jws.payload.cnf?.jwk);
  } catch (e) {
    return check(name, 'INVALID', 'key_binding_malformed', `持有者绑定无效 / the key binding JWT or the token's cnf key cannot be read: ${e.message}`);
  }
  if (kb.header.typ !== 'kb+jwt' || !es256Verifies(kb, holder)) {
    return check(name, 'INVALID', 'key_binding_invalid', '持有者绑定签名无效 / the key binding JWT is not signed by the holder key in cnf');
  }
  if (kb.payload.sd_hash !== digestOf(parsed.presented)) {
    return check(name, 'INVALID', 'sd_hash_mismatch', 'the key binding JWT was made for another presentation (sd_hash)');
  }
  for (const claim of ['aud', 'nonce']) {
    if (options[claim] !== undefined && kb.payload[claim] !== options[claim]) {
      return check(name, 'INVALID', `${claim}_mismatch`, `the key binding JWT's ${claim} is not ${options[claim]}`);
    }
  }
  return check(name, 'VALID', 'holder_bound', '', { aud: kb.payload.aud ?? null, iat: kb.payload.iat ?? null });
}

function validityCheck(payload, now) {
  const t = Math.floor(now.getTime() / 1000);
  if (typeof payload.nbf === 'number' && t < payload.nbf) return check('validity_period', 'INVALID', 'not_yet_valid', '尚未生效 / not valid yet', { nbf: payload.nbf });
  if (typeof payload.exp === 'number' && t > payload.exp) return check('validity_period', 'INVALID', 'expired', '已过期 / expired', { exp: payload.exp });
  return check('validity_period', 'VALID', 'within_period');
}

async function statusCheck(resolver, issuer, payload, key, now) {
  const ref = payload.status?.status_list;
  if (!isObject(ref)) return check('status', 'SKIPPED', 'no_status', '凭证没有状态列表 / the token names no status list');
  if (issuer.ownCode === null && issuer.statusUrlPrefix === null) {
    return check('status', 'SKIPPED', 'status_not_checked', '信任列表未允许获取该机构的状态列表，未检查撤销 / the trust entry allows no status list URL for this issuer, so revocation was not checked');
  }
  const url = String(ref.uri ?? '');
  let token;
  try {
    token = parseJws((await resolver.statusList(issuer, url, issuer.ownCode !== null ? [resolver.statusUrl(issuer.ownCode)] : [])).trim());
  } catch (e) {
    if (e instanceof NotAllowed) return check('status', 'SKIPPED', 'status_url_not_allowed', '状态列表地址不在允许的范围内 / the status list URL is not the issuer\'s', { url });
    return check('status', 'ERROR', 'status_list_unreachable', `无法获取状态列表 / could not get the status list: ${e.message}`, { url });
  }
  const t = Math.floor(now.getTime() / 1000);
  if (!es256Verifies(token, key) || token.payload.sub !== url || (typeof token.payload.exp === 'number' && t > token.payload.exp)) {
    return check('status', 'INVALID', 'status_list_invalid', '状态列表未通过验证 / the status list token is not the issuer\'s, not for this URL, or expired', { url });
  }
  let status;
  try {
    status = await tokenStatus(token.payload.status_list, ref.idx);
  } catch (e) {
    return check('status', 'INVALID', 'status_entry_invalid', `状态条目无效 / ${e.message}`, { url });
  }
  if (status !== 0) {
    return check('status', 'INVALID', STATUS_REASONS[status] ?? `status_${status}`, `状态 / status ${status} (1 invalid, 2 suspended)`, { status, index: ref.idx });
  }
  return check('status', 'VALID', 'not_revoked', '', { index: ref.idx });
}

/** anchor: the payload's leaf reaches its root, anchored on the trusted contract by an account registered for the
 * issuer's credit code. */
async function anchorCheck(verifier, payload, code) {
  const name = 'anchor', a = payload.anchor;
  if (!isObject(a)) return check(name, 'SKIPPED', 'no_anchor', '凭证没有上链锚点 / the token carries no chain anchor');
  let leaf, root, proof;
  try {
    [leaf, root, proof] = [hexToBytes(a.leaf), hexToBytes(a.root), a.proof.map(hexToBytes)];
  } catch {
    return check(name, 'INVALID', 'anchor_malformed', 'the anchor\'s leaf, root and proof are not hex');
  }
  if (!equalBytes(processProof(leaf, proof), root)) return check(name, 'INVALID', 'proof_mismatch', 'the proof does not lead from the leaf to the root');
  const contract = new LedgerContract(verifier.rpcUrl, a.contract, { fetchImpl: verifier.fetchImpl, timeoutMs: verifier.timeoutMs });
  let refused = verifier.untrusted({ chain_id: a.chain_id, contract: a.contract }, null, contract.address);
  if (refused) return { ...refused, name };
  try {
    const chainId = await contract.chainId();
    refused = verifier.untrusted({}, chainId, contract.address);
    if (refused) return { ...refused, name };
    if (a.chain_id !== chainId) return check(name, 'INVALID', 'wrong_chain', `the token was anchored on chain ${a.chain_id}, this node serves ${chainId}`);
    for (const account of await contract.accountsOf(usccHash(code))) {
      const answer = await contract.verify(account, root, leaf, proof);
      if (answer.anchored) return check(name, 'VALID', 'anchored', '', { issuer: account, block_number: answer.blockNumber, root: hex0x(root) });
    }
  } catch (e) {
    if (e instanceof ChainError) return check(name, 'ERROR', e.code, e.message);
    if (e instanceof NoContract) return check(name, 'INVALID', 'contract_not_found', `no CertLedger contract answers at ${contract.address}: ${e.message}`);
    throw e;
  }
  return check(name, 'INVALID', 'root_not_anchored', `the root ${hex0x(root)} was never anchored by an account of ${code}`);
}

async function issuerChecks(resolver, jws) {
  const did = String(jws.payload.iss ?? ''), kid = jws.header.kid;
  let issuer;
  try {
    issuer = await resolver.issuer(did);
  } catch (e) {
    if (!(e instanceof Unreachable)) throw e;
    return [null, null, [check('issuer_trusted', 'ERROR', 'did_document_unreachable', e.message, { issuer: did }),
      check('verification_method', 'SKIPPED', 'did_document_unreachable')]];
  }
  if (issuer === null) {
    return [null, null, [check('issuer_trusted', 'INVALID', 'issuer_not_trusted', '发证机构不在信任列表中 / the issuer is not on the platform\'s trust list', { issuer: did }),
      check('verification_method', 'SKIPPED', 'issuer_not_trusted')]];
  }
  const trusted = check('issuer_trusted', 'VALID', issuer.ownCode ? 'own_issuer' : 'foreign_issuer_trusted', '', { issuer: did, name: issuer.name });
  let keys;
  try {
    keys = methodKeys(did, issuer.document);
  } catch (e) {
    return [issuer, null, [trusted, check('verification_method', 'INVALID', 'did_document_invalid', e.message)]];
  }
  if (!keys.has(kid)) {
    return [issuer, null, [trusted, check('verification_method', 'INVALID', 'method_not_authorized', '签名密钥不在发证机构的 assertionMethod 中 / the kid is not an assertion method of the issuer', { verification_method: kid ?? null })]];
  }
  return [issuer, keys.get(kid), [trusted, check('verification_method', 'VALID', 'assertion_method', '', { verification_method: kid })]];
}

/** Every check of an SD-JWT VC presentation, the verdict and the disclosed claims; `options`: the Resolver's
 * (platformUrl, documents), `aud`/`nonce` a key binding must carry, `anchor: false` to leave the chain alone. */
export async function verifySdJwt(verifier, text, options = {}) {
  const parsed = parseSdJwt(text);
  const resolver = new Resolver(verifier.trust, { fetchImpl: verifier.fetchImpl, timeoutMs: verifier.timeoutMs, ...options });
  const now = verifier.now ?? new Date();
  const { payload } = parsed.jws;
  const [issuer, key, checks] = await issuerChecks(resolver, parsed.jws);
  const skip = (name) => check(name, 'SKIPPED', 'not_authentic', '凭证未通过验证 / the token is not authentic');
  let claims = {};
  if (key === null) checks.push(check('signature', 'SKIPPED', 'no_trusted_key', '没有可信的密钥 / no trusted key to check with'));
  else if (!es256Verifies(parsed.jws, key)) checks.push(check('signature', 'INVALID', 'signature_invalid', '签名无效：令牌已被改动 / the signature does not match: the token was changed or not signed by this key'));
  else checks.push(check('signature', 'VALID', 'signature_valid'));
  const authentic = checks.at(-1).status === 'VALID';
  if (authentic) {
    let disclosures;
    [disclosures, claims] = disclosuresCheck(payload, parsed.disclosures);
    checks.push(disclosures, keyBindingCheck(parsed, options));
  } else {
    checks.push(skip('disclosures'), skip('key_binding'));
  }
  checks.push(validityCheck(payload, now));
  checks.push(authentic ? await statusCheck(resolver, issuer, payload, key, now) : skip('status'));
  const code = String(payload.iss ?? '').split(':').at(-1);
  checks.push(!authentic ? skip('anchor') : options.anchor === false
    ? check('anchor', 'SKIPPED', 'anchor_not_checked', 'the caller asked not to check the chain') : await anchorCheck(verifier, payload, code));
  const summary = { issuer: payload.iss ?? null, issuer_name: issuer?.name ?? null, vct: payload.vct ?? null,
    nbf: payload.nbf ?? null, exp: payload.exp ?? null };
  return { verdict: verdict(checks, SD_JWT_REQUIRED), checks, credential: summary, claims };
}
