// Data Integrity proofs with the ecdsa-rdfc-2019 cryptosuite (P-256), as ledger/credentials/data_integrity.py:
// the proof options and the document, each canonicalised with RDFC-1.0 (jsonld + rdf-canonize, contexts from
// contexts.js only) and hashed with SHA-256, options hash first; proofValue is the raw r||s in base58btc.
// jsonld is large: this module is loaded only when a VC is verified (and is its own browser script).
import jsonld from 'jsonld';
import { p256 } from '@noble/curves/nist.js';
import { concatBytes, multibaseBase58, utf8 } from './bytes.js';
import { packagedContext } from './contexts.js';
import { sha256 } from './hashes.js';
import { isObject } from './records.js';

export const CRYPTOSUITE = 'ecdsa-rdfc-2019';

/** A document could not be canonicalised (an unknown context, a term no context defines...). */
export class JsonLdInvalid extends Error {}

async function documentLoader(url) {
  const document = packagedContext(url);
  if (document === null) throw new JsonLdInvalid(`未知的 JSON-LD 上下文 / unknown JSON-LD context ${url}: only the packaged contexts are resolved (offline)`);
  return { contextUrl: null, documentUrl: url, document };
}

/** RDFC-1.0 canonical N-Quads, offline, in safe mode (a term no context defines is refused, not dropped). */
export async function canonicalNQuads(document) {
  try {
    return await jsonld.canonize(document, { algorithm: 'RDFC-1.0', format: 'application/n-quads', documentLoader, safe: true });
  } catch (e) {
    if (e instanceof JsonLdInvalid) throw e;
    throw new JsonLdInvalid(e.details?.cause?.message ?? e.message);
  }
}

/** Whether `document`'s ecdsa-rdfc-2019 proof is a signature by `key` (a P-256 point) over it; JsonLdInvalid when
 * it cannot be canonicalised. */
export async function proofVerifies(document, key) {
  const proof = document.proof;
  if (!isObject(proof) || proof.cryptosuite !== CRYPTOSUITE || proof.type !== 'DataIntegrityProof') return false;
  let signature;
  try {
    signature = multibaseBase58(proof.proofValue);
  } catch {
    return false;
  }
  if (signature.length !== 64) return false;
  const { proofValue, ...options } = proof;
  const { proof: _omitted, ...unsigned } = document;
  const hash = concatBytes(sha256(utf8(await canonicalNQuads({ '@context': document['@context'], ...options }))),
    sha256(utf8(await canonicalNQuads(unsigned))));
  try {
    return p256.verify(signature, hash, key, { prehash: true, lowS: false, format: 'compact' });
  } catch {
    return false;
  }
}
