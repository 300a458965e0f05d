// SM3 (GB/T 32905) and SM2 signature verification (GB/T 32918.2) for GB/T 38540 seals. No well-kept npm
// library offers SM2 on @noble's audited point arithmetic, so the curve is defined here with @noble/curves'
// `weierstrass` and the verification equation written out (a dozen lines); SM3 is the standard's compression
// function. Tested against Python's tongsuopy/OpenSSL seals (tests/test_verifier_js.py) and the standard's
// SM3 vectors (test/sm2.test.js).
import { weierstrass } from '@noble/curves/abstract/weierstrass.js';
import { concatBytes, hexToBytes, utf8 } from './bytes.js';

const rotl = (x, n) => ((x << n) | (x >>> (32 - n))) >>> 0;
const P0 = (x) => (x ^ rotl(x, 9) ^ rotl(x, 17)) >>> 0;
const P1 = (x) => (x ^ rotl(x, 15) ^ rotl(x, 23)) >>> 0;
const IV = [0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e];

export function sm3(message) {
  const bitLength = BigInt(message.length) * 8n;
  const padded = new Uint8Array(Math.ceil((message.length + 9) / 64) * 64);
  padded.set(message);
  padded[message.length] = 0x80;
  new DataView(padded.buffer).setBigUint64(padded.length - 8, bitLength);
  const v = IV.slice();
  const w = new Uint32Array(68);
  const w1 = new Uint32Array(64);
  const view = new DataView(padded.buffer);
  for (let off = 0; off < padded.length; off += 64) {
    for (let j = 0; j < 16; j++) w[j] = view.getUint32(off + 4 * j);
    for (let j = 16; j < 68; j++) {
      w[j] = (P1(w[j - 16] ^ w[j - 9] ^ rotl(w[j - 3], 15)) ^ rotl(w[j - 13], 7) ^ w[j - 6]) >>> 0;
    }
    for (let j = 0; j < 64; j++) w1[j] = (w[j] ^ w[j + 4]) >>> 0;
    let [a, b, c, d, e, f, g, h] = v;
    for (let j = 0; j < 64; j++) {
      const t = j < 16 ? 0x79cc4519 : 0x7a879d8a;
      const ss1 = rotl((rotl(a, 12) + e + rotl(t, j % 32)) >>> 0, 7);
      const ss2 = (ss1 ^ rotl(a, 12)) >>> 0;
      const ff = j < 16 ? a ^ b ^ c : (a & b) | (a & c) | (b & c);
      const gg = j < 16 ? e ^ f ^ g : (e & f) | (~e & g);
      const tt1 = (ff + d + ss2 + w1[j]) >>> 0;
      const tt2 = (gg + h + ss1 + w[j]) >>> 0;
      d = c; c = rotl(b, 9); b = a; a = tt1;
      h = g; g = rotl(f, 19); f = e; e = P0(tt2);
    }
    [a, b, c, d, e, f, g, h].forEach((x, i) => { v[i] = (v[i] ^ x) >>> 0; });
  }
  const out = new Uint8Array(32);
  const o = new DataView(out.buffer);
  v.forEach((x, i) => o.setUint32(4 * i, x));
  return out;
}

const CURVE = {
  p: 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn,
  n: 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n,
  h: 1n,
  a: 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn,
  b: 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n,
  Gx: 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n,
  Gy: 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n,
};
export const SM2Point = weierstrass(CURVE);
const DEFAULT_ID = utf8('1234567812345678');  // GM/T 0009's default user ID, as every signer here uses

const be32 = (x) => hexToBytes(x.toString(16).padStart(64, '0'));
const toBig = (b) => BigInt('0x' + ([...b].map((x) => x.toString(16).padStart(2, '0')).join('') || '0'));

/** ZA = SM3(ENTL || ID || a || b || xG || yG || xA || yA). */
function za(point, id) {
  const { x, y } = point.toAffine();
  const entl = new Uint8Array([(id.length * 8) >> 8, (id.length * 8) & 0xff]);
  return sm3(concatBytes(entl, id, be32(CURVE.a), be32(CURVE.b), be32(CURVE.Gx), be32(CURVE.Gy), be32(x), be32(y)));
}

/** SM2 signature (r, s) over `message` with the uncompressed public key point `publicKey`; false if not. */
export function sm2Verify(r, s, message, publicKey) {
  const { n } = CURVE;
  if (r < 1n || r >= n || s < 1n || s >= n) return false;
  let point;
  try {
    point = SM2Point.fromBytes(publicKey);
    point.assertValidity();
  } catch {
    return false;
  }
  const e = toBig(sm3(concatBytes(za(point, DEFAULT_ID), message)));
  const t = (r + s) % n;
  if (t === 0n) return false;
  const sum = SM2Point.BASE.multiply(s).add(point.multiply(t));
  if (sum.is0()) return false;
  return (e + sum.toAffine().x) % n === r;
}
