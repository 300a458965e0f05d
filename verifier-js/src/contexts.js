// The JSON-LD contexts our credentials name, packaged here (copies of ledger/credentials/contexts/, a test keeps
// them equal) and resolved offline: a verifier never fetches a context while it checks a signature, since a changed
// context changes what was signed. Any URL whose path is OUR_CONTEXT_PATH means our GB/T 36903 context.
import credentialsV2 from '../contexts/credentials-v2.json' with { type: 'json' };
import didV1 from '../contexts/did-v1.json' with { type: 'json' };
import gbt36903 from '../contexts/gbt36903-v1.json' with { type: 'json' };
import multikeyV1 from '../contexts/multikey-v1.json' with { type: 'json' };

export const VC_V2 = 'https://www.w3.org/ns/credentials/v2';
export const OUR_CONTEXT_PATH = '/credentials/contexts/gbt36903/v1';
const PACKAGED = new Map([
  [VC_V2, credentialsV2],
  ['https://www.w3.org/ns/did/v1', didV1],
  ['https://w3id.org/security/multikey/v1', multikeyV1],
]);

/** The packaged context a URL names, or null (never fetched). */
export function packagedContext(url) {
  if (PACKAGED.has(url)) return PACKAGED.get(url);
  try {
    return new URL(url).pathname === OUR_CONTEXT_PATH ? gbt36903 : null;
  } catch {
    return null;
  }
}
