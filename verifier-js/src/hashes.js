// SHA-256 and keccak-256 from @noble/hashes (audited, no dependencies, same code in Node and browsers);
// the record's leaf and the Merkle proof as OpenZeppelin's StandardMerkleTree makes them.
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { compareBytes, concatBytes, utf8 } from './bytes.js';

export { sha256 };
export const keccak = (bytes) => keccak_256(bytes);

/** keccak256(keccak256(D)): OpenZeppelin's standard leaf of the value [D] with encoding ["bytes32"]. */
export const digestLeaf = (digest) => keccak(keccak(digest));

/** OpenZeppelin's commutativeKeccak256: the smaller node first. */
export const hashPair = (a, b) => keccak(compareBytes(a, b) < 0 ? concatBytes(a, b) : concatBytes(b, a));

/** The root a proof leads to from a leaf (MerkleProof.processProof). */
export const processProof = (leaf, proof) => proof.reduce((node, sibling) => hashPair(node, sibling), leaf);

/** What goes on chain for a credit code: keccak256 of its UTF-8, trimmed and upper-case. */
export const usccHash = (code) => keccak(utf8(code.trim().toUpperCase()));
