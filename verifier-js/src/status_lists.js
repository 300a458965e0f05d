// Reading a bit of a status list: a W3C Bitstring Status List (`encodedList`: multibase base64url of GZIP, index 0
// the first byte's most significant bit) and an IETF Token Status List (`lst`: base64url of zlib, `bits` per
// status, least significant first), as ledger/credentials/vc_verify.py and sd_jwt_verify.py read them.
import { base64UrlToBytes, inflate } from './bytes.js';

/** The bytes of a Bitstring Status List's `encodedList`; throws when it cannot be decoded. */
export async function bitstring(encodedList) {
  if (typeof encodedList !== 'string' || !encodedList.startsWith('u')) throw new Error('encodedList is not multibase base64url');
  return inflate(base64UrlToBytes(encodedList.slice(1)), 'gzip');
}

/** Whether bit `index` is set (null when the index lies outside the list). */
export function bitAt(bits, index) {
  if (index < 0 || index >= bits.length * 8) return null;
  return (bits[Math.floor(index / 8)] & (0x80 >> (index % 8))) !== 0;
}

/** Status `index` of a Token Status List's `status_list` claim ({bits, lst}); throws when it cannot be read. */
export async function tokenStatus(statusList, index) {
  const bits = statusList?.bits;
  if (![1, 2, 4, 8].includes(bits)) throw new Error('status_list.bits must be 1, 2, 4 or 8');
  const lst = await inflate(base64UrlToBytes(statusList.lst), 'deflate');
  const perByte = 8 / bits;
  const byte = Math.floor(index / perByte);
  if (!Number.isInteger(index) || index < 0 || byte >= lst.length) throw new Error(`index ${index} lies outside the list`);
  return (lst[byte] >> (bits * (index % perByte))) & ((1 << bits) - 1);
}
