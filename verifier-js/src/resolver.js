// Where a credential verifier gets the issuer's DID document and the status lists, and nothing else: documents the
// caller supplies (`documents`, by DID or URL), the trust list's foreign issuers (their DID documents pinned, their
// status lists under the entry's status_url_prefix), and the platform the caller names (`platformUrl`: its
// departments' did:web documents at /dids/<code>/did.json, their lists at /status-lists/...). No other URL is
// ever fetched, and a did:web is never resolved on its own.
import { p256KeyOf } from './multikey.js';
import { isObject } from './records.js';

export const MAX_DOCUMENT_BYTES = 2_000_000;

/** A document could not be had (ERROR ..._unreachable). */
export class Unreachable extends Error {}

/** The URL is not one the caller or the trust list allows (SKIPPED status_url_not_allowed). */
export class NotAllowed extends Error {}

/** A department's did:web under a platform URL, as ledger/credentials/issuers.py's department_did. */
export function departmentDid(platformUrl, code) {
  const url = new URL(platformUrl.replace(/\/+$/, ''));
  const path = url.pathname.split('/').filter(Boolean).map(encodeURIComponent);
  return ['did:web', encodeURIComponent(url.host), ...path, 'dids', code].join(':');
}

/** The verification methods of `document` that may assert credentials (assertionMethod, controlled by `did`,
 * P-256 Multikeys), as foreign_issuers.method_key_ids; throws saying why the document is unusable. */
export function methodKeys(did, document) {
  if (!isObject(document) || document.id !== did) throw new Error(`the DID document's id is not ${did}`);
  const methods = new Map((document.verificationMethod ?? []).filter(isObject).map((m) => [m.id, m]));
  const usable = new Map();
  for (const ref of Array.isArray(document.assertionMethod) ? document.assertionMethod : []) {
    const method = isObject(ref) ? ref : methods.get(ref);
    if (!isObject(method) || !String(method.id ?? '').startsWith(did + '#')) continue;
    try {
      usable.set(method.id, p256KeyOf(String(method.publicKeyMultibase ?? '')));
    } catch {
      continue;
    }
  }
  if (!usable.size) throw new Error('the DID document has no P-256 Multikey in assertionMethod');
  return usable;
}

export class Resolver {
  /** `trust` from loadTrustList; options: platformUrl, documents ({DID or URL: document}), fetchImpl, timeoutMs. */
  constructor(trust, { platformUrl = null, documents = {}, fetchImpl, timeoutMs = 15000 } = {}) {
    const base = platformUrl ? platformUrl.replace(/\/+$/, '') : null;
    Object.assign(this, { trust, base, documents, timeoutMs, fetchImpl: fetchImpl ?? ((...a) => globalThis.fetch(...a)) });
    this.ownPrefix = base ? departmentDid(base, '') : null;
  }

  /** `{did, name, document, ownCode, statusUrlPrefix}` of a trusted issuer, or null; Unreachable when the
   * platform's DID document cannot be had. */
  async issuer(did) {
    const foreign = (this.trust.issuers ?? []).find((i) => i.did === did);
    if (foreign) return { did, name: foreign.name, document: foreign.didDocument, ownCode: null, statusUrlPrefix: foreign.statusUrlPrefix };
    if (!this.ownPrefix || !did.startsWith(this.ownPrefix)) return null;
    const code = did.slice(this.ownPrefix.length);
    if (!/^[0-9A-Z]{18}$/.test(code)) return null;
    let document = this.documents[did];
    if (document === undefined) {
      try {
        document = JSON.parse(await this.get(`${this.base}/dids/${code}/did.json`));
      } catch (e) {
        if (e.httpStatus === 404) return null;
        throw e instanceof Unreachable ? e : new Unreachable(`the DID document of ${did} is not JSON`);
      }
    }
    return { did, name: code, document, ownCode: code, statusUrlPrefix: null };
  }

  /** The platform's URL of a department's Bitstring list (`purpose`) or Token Status List (no purpose). */
  statusUrl(code, purpose = null) {
    return `${this.base}/status-lists/${code}${purpose ? '/' + purpose : ''}`;
  }

  /** A status list (text) at `url`, which the issuer's entry must allow; NotAllowed, Unreachable. */
  async statusList(issuer, url, allowed) {
    const ok = issuer.ownCode !== null ? allowed.includes(url) : Boolean(issuer.statusUrlPrefix) && url.startsWith(issuer.statusUrlPrefix);
    if (!ok) throw new NotAllowed(url);
    if (url in this.documents) {
      const supplied = this.documents[url];
      return typeof supplied === 'string' ? supplied : JSON.stringify(supplied);
    }
    return this.get(url);
  }

  async get(url) {
    let response, text;
    try {
      response = await this.fetchImpl(url, { redirect: 'error', signal: AbortSignal.timeout(this.timeoutMs) });
      text = await response.text();
    } catch (e) {
      throw new Unreachable(`无法获取 / could not get ${url}: ${e.message}`);
    }
    if (!response.ok) {
      throw Object.assign(new Unreachable(`无法获取 / could not get ${url}: HTTP ${response.status}`), { httpStatus: response.status });
    }
    if (text.length > MAX_DOCUMENT_BYTES) throw new Unreachable(`${url} is larger than ${MAX_DOCUMENT_BYTES} bytes`);
    return text;
  }
}
