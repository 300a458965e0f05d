// What a file given to certledger-verify is: a proof bundle, a public proof, a W3C VC 2.0 (JSON-LD with a proof)
// or an SD-JWT VC (compact text: issuer JWT~disclosure~...~[KB-JWT]).
import { BUNDLE_FORMAT, PUBLIC_PROOF_FORMAT } from './bundle.js';
import { isObject } from './records.js';

const SD_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+~([A-Za-z0-9_-]*~)*([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)?$/;

/** 'bundle', 'public-proof', 'vc', 'sd-jwt', or null when it is none of them. */
export function detectFormat(text) {
  const trimmed = String(text).trim();
  if (SD_JWT.test(trimmed)) return 'sd-jwt';
  let data;
  try {
    data = JSON.parse(trimmed);
  } catch {
    return null;
  }
  if (!isObject(data)) return null;
  if (data.format === BUNDLE_FORMAT) return 'bundle';
  if (data.format === PUBLIC_PROOF_FORMAT) return 'public-proof';
  if ('@context' in data) return 'vc';
  return null;
}
