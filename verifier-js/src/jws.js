// Compact JWS with ES256 (the SD-JWT VC's issuer-signed JWT, its key binding JWT and the Token Status List):
// `header.payload.signature`, the signature raw r||s over the ASCII of `header.payload`.
import { p256 } from '@noble/curves/nist.js';
import { base64UrlToBytes, concatBytes, utf8 } from './bytes.js';
import { isObject } from './records.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/** `{header, payload, signingInput, signature}` of a compact JWS whose header and payload are JSON objects;
 * throws saying why not. */
export function parseJws(compact) {
  const parts = typeof compact === 'string' ? compact.split('.') : [];
  if (parts.length !== 3) throw new Error('not a compact JWS (header.payload.signature)');
  const [header, payload] = parts.slice(0, 2).map((p) => JSON.parse(decoder.decode(base64UrlToBytes(p))));
  if (!isObject(header) || !isObject(payload)) throw new Error('the JWS header and payload must be JSON objects');
  return { header, payload, signingInput: `${parts[0]}.${parts[1]}`, signature: base64UrlToBytes(parts[2]) };
}

/** Whether a parsed JWS is ES256 and signed by `point` (a P-256 public key). */
export function es256Verifies(jws, point) {
  if (jws.header.alg !== 'ES256' || jws.signature.length !== 64) return false;
  try {
    return p256.verify(jws.signature, utf8(jws.signingInput), point, { prehash: true, lowS: false, format: 'compact' });
  } catch {
    return false;
  }
}

/** The uncompressed point of a P-256 public JWK (kty EC, crv P-256); throws for anything else. */
export function jwkPoint(jwk) {
  if (!isObject(jwk) || jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw new Error('not a P-256 public JWK');
  const point = concatBytes(new Uint8Array([4]), base64UrlToBytes(jwk.x), base64UrlToBytes(jwk.y));
  p256.Point.fromBytes(point);
  return point;
}
