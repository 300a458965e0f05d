// Byte helpers shared by every module: hex, base64, PEM, comparison. No dependency, Node and browser alike.

export function hexToBytes(hex) {
  const text = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  if (text.length % 2 || /[^0-9a-fA-F]/.test(text)) throw new Error(`not hex: ${hex}`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes) {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export const hex0x = (bytes) => '0x' + bytesToHex(bytes);

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** -1, 0 or 1: byte-wise order, as Python compares bytes. */
export function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export function concatBytes(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Strict standard base64 (as Python's b64decode(validate=True)); throws on anything else. */
export function base64ToBytes(text) {
  if (typeof text !== 'string' || text.length % 4 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new Error('not base64');
  }
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0, value = 0, j = 0;
  for (const ch of clean) {
    value = (value << 6) | B64.indexOf(ch);
    bits += 6;
    if (bits >= 8) { bits -= 8; out[j++] = (value >> bits) & 0xff; }
  }
  return out;
}

export function bytesToBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    s += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    s += i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=';
    s += i + 2 < bytes.length ? B64[n & 63] : '=';
  }
  return s;
}

/** DER of one PEM CERTIFICATE; throws saying why not. */
export function pemToDer(text) {
  const m = /^\s*-----BEGIN ([A-Z0-9 ]+)-----\s*([A-Za-z0-9+/=\s]*?)\s*-----END \1-----\s*$/.exec(text ?? '');
  if (!m) throw new Error('is not a PEM certificate');
  if (m[1] !== 'CERTIFICATE') throw new Error(`is a PEM ${m[1]}, not a CERTIFICATE`);
  return base64ToBytes(m[2].replace(/\s+/g, ''));
}

export const utf8 = (text) => new TextEncoder().encode(text);

/** base64url with or without padding (JWS, SD-JWT disclosures, multibase `u`); throws on anything else. */
export function base64UrlToBytes(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*={0,2}$/.test(text)) throw new Error('not base64url');
  const plain = text.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  if (plain.length % 4 === 1) throw new Error('not base64url');
  return base64ToBytes(plain + '='.repeat((4 - (plain.length % 4)) % 4));
}

export const bytesToBase64Url = (bytes) => bytesToBase64(bytes).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** A multibase base58btc value (`z...`: Multikeys and Data Integrity proof values); throws on anything else. */
export function multibaseBase58(text) {
  if (typeof text !== 'string' || !text.startsWith('z')) throw new Error('not multibase base58btc');
  let n = 0n;
  for (const ch of text.slice(1)) {
    const digit = B58.indexOf(ch);
    if (digit < 0) throw new Error('not base58btc');
    n = n * 58n + BigInt(digit);
  }
  const body = [];
  for (; n > 0n; n >>= 8n) body.unshift(Number(n & 0xffn));
  const zeros = /^1*/.exec(text.slice(1))[0].length;
  return new Uint8Array([...new Array(zeros).fill(0), ...body]);
}

/** The bytes a DecompressionStream (`gzip` for Bitstring Status Lists, `deflate` = zlib for Token Status Lists)
 * makes of `bytes`, with at most `limit` bytes out (a decompression bomb is refused). */
export async function inflate(bytes, format, limit = 16_000_000) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream(format));
  const parts = [];
  let size = 0;
  for await (const part of stream) {
    size += part.length;
    if (size > limit) throw new Error('decompressed list too large');
    parts.push(part);
  }
  return concatBytes(...parts);
}
