// Proof bundles (`certledger/bundle/1`, docs/proof-bundle.md): the shape checked field by field, as
// ledger/verify/bundle.py's load_bundle. Only the shape: whether it is true is what verification decides.
import { base64ToBytes, pemToDer } from './bytes.js';
import { isObject } from './records.js';
import { sealFormat } from './seal_reader.js';

export const BUNDLE_FORMAT = 'certledger/bundle/1';
export const PUBLIC_PROOF_FORMAT = 'certledger/public-proof/1';
export const MAX_BUNDLE_BYTES = 1_000_000;
const MAX_PROOF_LENGTH = 64;
const HEX32 = /^0x[0-9a-f]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const TOP_KEYS = ['format', 'identifier', 'record', 'seal', 'leaf', 'root', 'proof', 'chain', 'trust', 'document', 'exported_at'];
// A public proof (ledger/verify/public_proof.py): a bundle whose record and document are replaced by the record's
// public summary.
const PUBLIC_KEYS = ['format', 'identifier', 'summary', 'record_included', 'seal', 'leaf', 'root', 'proof', 'chain', 'trust', 'exported_at'];

/** A refused input: `code` as the Python verifier's BadInput (bundle_malformed, trust_list_*...). */
export class BadInput extends Error {
  constructor(code, message, path) {
    super(message);
    this.code = code;
    if (path) this.path = path;
  }
}

const malformed = (path, problem) => new BadInput('bundle_malformed', `the proof bundle's ${path} ${problem}; see docs/proof-bundle.md`, path);
const typeOf = (v) => (v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v);

function require(obj, key, kind, path) {
  if (!(key in obj)) throw malformed(path + key, 'is missing');
  const v = obj[key];
  const ok = { str: typeof v === 'string', int: Number.isInteger(v), dict: isObject(v), list: Array.isArray(v) }[kind];
  if (!ok) throw malformed(path + key, `must be a ${kind}, not ${typeOf(v)}`);
  return v;
}

function hash32(obj, key, path = '') {
  if (!HEX32.test(require(obj, key, 'str', path))) throw malformed(path + key, 'must be 0x followed by 64 lower-case hex digits');
}

function isoTime(obj, key, path) {
  const v = require(obj, key, 'str', path);
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:\d{2})?$/.test(v)) {
    throw malformed(path + key, `is not an ISO 8601 time: ${JSON.stringify(v)}`);
  }
}

function pem(obj, key) {
  try {
    pemToDer(require(obj, key, 'str', 'trust.'));
  } catch (e) {
    if (e instanceof BadInput) throw e;
    throw malformed(`trust.${key}`, e.message);
  }
}

/** The record (a bundle) or the public summary (a public proof) whose identifier must be the bundle's. */
function recordOrSummary(data) {
  if (data.format === BUNDLE_FORMAT) return ['record', require(data, 'record', 'dict', '')];
  if (data.record_included !== false) throw malformed('record_included', 'must be false in a public proof');
  return ['summary', require(data, 'summary', 'dict', '')];
}

/** A bundle or a public proof from JSON text (or an already parsed object), checked field by field; BadInput
 * otherwise. */
export function loadBundle(data) {
  if (typeof data === 'string') {
    if (data.length > MAX_BUNDLE_BYTES) throw new BadInput('bundle_too_large', `a proof bundle is at most ${MAX_BUNDLE_BYTES} bytes`);
    try {
      data = JSON.parse(data);
    } catch (e) {
      throw new BadInput('bundle_malformed', `the proof bundle is not valid JSON: ${e.message}`);
    }
  }
  if (!isObject(data)) throw new BadInput('bundle_malformed', 'a proof bundle is a JSON object; see docs/proof-bundle.md');
  if (data.format !== BUNDLE_FORMAT && data.format !== PUBLIC_PROOF_FORMAT) {
    throw malformed('format', `is ${JSON.stringify(data.format)}; this verifier reads ${BUNDLE_FORMAT} and ${PUBLIC_PROOF_FORMAT}`);
  }
  const keys = data.format === BUNDLE_FORMAT ? TOP_KEYS : PUBLIC_KEYS;
  const unknown = Object.keys(data).filter((k) => !keys.includes(k)).sort();
  if (unknown.length) throw malformed('top level', `has unknown keys ${unknown}`);
  const identifier = require(data, 'identifier', 'str', '');
  const [what, record] = recordOrSummary(data);
  if (record.identifier !== identifier) throw malformed(`${what}.identifier`, `is not the bundle's ${identifier}`);
  const seal = require(data, 'seal', 'dict', '');
  if (!['cms', 'ses'].includes(require(seal, 'format', 'str', 'seal.'))) throw malformed('seal.format', 'must be one of cms, ses');
  let sealDer;
  try {
    sealDer = base64ToBytes(require(seal, 'der', 'str', 'seal.'));
  } catch (e) {
    if (e instanceof BadInput) throw e;
    throw malformed('seal.der', 'is not base64');
  }
  if (sealFormat(sealDer) !== seal.format) throw malformed('seal.format', `says ${seal.format} but the seal is ${sealFormat(sealDer)}`);
  hash32(data, 'leaf');
  hash32(data, 'root');
  const proof = require(data, 'proof', 'list', '');
  if (proof.length > MAX_PROOF_LENGTH) throw malformed('proof', `has ${proof.length} elements; a proof has at most ${MAX_PROOF_LENGTH}`);
  proof.forEach((p, i) => {
    if (typeof p !== 'string' || !HEX32.test(p)) throw malformed(`proof[${i}]`, 'must be 0x followed by 64 lower-case hex digits');
  });
  const chain = require(data, 'chain', 'dict', '');
  if (require(chain, 'chain_id', 'int', 'chain.') <= 0) throw malformed('chain.chain_id', 'must be a positive integer');
  if (!ADDRESS.test(require(chain, 'contract', 'str', 'chain.'))) throw malformed('chain.contract', 'must be a 0x-prefixed 20-byte address');
  if (chain.tx_hash !== null && chain.tx_hash !== undefined) hash32(chain, 'tx_hash', 'chain.');
  if (require(chain, 'block_number', 'int', 'chain.') < 0) throw malformed('chain.block_number', 'must not be negative');
  isoTime(chain, 'anchored_at', 'chain.');
  const trust = require(data, 'trust', 'dict', '');
  pem(trust, 'city_root_pem');
  pem(trust, 'seal_certificate_pem');
  const document = data.document;
  if (document !== null && document !== undefined) {
    if (!isObject(document)) throw malformed('document', 'must be an object with cid and sha256, or null');
    require(document, 'cid', 'str', 'document.');
    if (!/^[0-9a-f]{64}$/.test(require(document, 'sha256', 'str', 'document.'))) throw malformed('document.sha256', 'must be 64 lower-case hex digits');
  }
  isoTime(data, 'exported_at', '');
  return data;
}
