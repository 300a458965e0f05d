// RFC 8785 (JSON Canonicalization Scheme): what a record seal covers and a leaf hashes.
// JSON.stringify already writes strings and numbers as JCS requires (ECMAScript's own serialization, which RFC
// 8785 adopts); what remains is sorting object keys by UTF-16 code units, which is JavaScript's default sort.

export class CanonicalizationError extends Error {}

export function canonicalize(value) {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new CanonicalizationError('a number that is not finite');
    return JSON.stringify(value);
  }
  if (typeof value === 'string') {
    if (!value.isWellFormed()) throw new CanonicalizationError('a string with a lone surrogate');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return '[' + value.map(canonicalize).join(',') + ']';
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return '{' + keys.map((k) => {
      if (!k.isWellFormed()) throw new CanonicalizationError('a key with a lone surrogate');
      return JSON.stringify(k) + ':' + canonicalize(value[k]);
    }).join(',') + '}';
  }
  throw new CanonicalizationError(`a value of type ${typeof value}`);
}

/** The canonical UTF-8 bytes of a JSON value. */
export const canonicalBytes = (value) => new TextEncoder().encode(canonicalize(value));
