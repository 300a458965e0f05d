// P-256 public keys as DID documents name them: a Multikey's publicKeyMultibase (base58btc of the p256-pub
// multicodec and the compressed point), as ledger/credentials/data_integrity.py's p256_key_of.
import { p256 } from '@noble/curves/nist.js';
import { multibaseBase58 } from './bytes.js';

const P256_PUB = [0x80, 0x24]; // multicodec p256-pub (0x1200) as an unsigned varint

/** The compressed P-256 point of a `publicKeyMultibase` (throws for any other key or encoding). */
export function p256KeyOf(multikey) {
  const raw = multibaseBase58(multikey);
  if (raw.length !== 35 || raw[0] !== P256_PUB[0] || raw[1] !== P256_PUB[1]) {
    throw new Error('not a P-256 Multikey (p256-pub, compressed point, base58btc)');
  }
  p256.Point.fromBytes(raw.slice(2));
  return raw.slice(2);
}
