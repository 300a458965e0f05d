// Record formats (ledger/core/record.py): their keys, who seals and anchors them, whether they are dated.
import { canonicalBytes, CanonicalizationError } from './jcs.js';
import { digestLeaf, sha256 } from './hashes.js';

const CERTIFICATE_KEYS = ['format', 'identifier', 'name', 'number', 'version', 'type_code', 'defining_department',
  'defining_department_code', 'issuing_department', 'issuing_department_code', 'issue_date', 'valid_from',
  'valid_until', 'jurisdiction_code', 'holder', 'holder_id', 'holder_id_type', 'service_item', 'fields', 'file', 'salt'];
const REPORT_KEYS = ['format', 'identifier', 'association', 'association_code', 'name', 'number', 'kind',
  'issuing_body', 'subject', 'report_date', 'conclusion', 'catalogue', 'document_sha256', 'file', 'salt'];
const ACCESS_KEYS = ['format', 'intake_id', 'counter', 'staff_id', 'service_item_code', 'case_number', 'holder_key',
  'certificates', 'time', 'salt'];

export const CERTIFICATE = {
  format: 'certledger/record/1', keys: CERTIFICATE_KEYS, issuerCodeKey: 'issuing_department_code',
  anchoredBy: 'department', orgKind: 1, batchKind: 'CERTIFICATES', dated: true, sealed: true, digestKey: null,
  summaryKeys: ['identifier', 'name', 'number', 'version', 'type_code', 'issuing_department',
    'issuing_department_code', 'issue_date', 'valid_from', 'valid_until', 'holder', 'service_item'],
};
export const REPORT = {
  format: 'certledger/report/1', keys: REPORT_KEYS, issuerCodeKey: 'association_code', anchoredBy: 'association',
  orgKind: 2, batchKind: 'REPORT_SUMMARIES', dated: false, sealed: true, digestKey: 'document_sha256',
  summaryKeys: ['identifier', 'name', 'number', 'kind', 'association', 'association_code', 'issuing_body',
    'subject', 'report_date', 'conclusion'],
};
export const ACCESS_LOG = {
  format: 'certledger/access/1', keys: ACCESS_KEYS, issuerCodeKey: null, anchoredBy: 'audit_writer', orgKind: 3,
  batchKind: 'ACCESS_LOG', dated: false, sealed: false, digestKey: null,
  summaryKeys: ['intake_id', 'counter', 'service_item_code', 'case_number', 'time'],
};
const KINDS = Object.fromEntries([CERTIFICATE, REPORT, ACCESS_LOG].map((k) => [k.format, k]));

export const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The record's kind by its format; certificate for anything unknown (record_integrity refuses it). */
export const recordKind = (record) => (isObject(record) && KINDS[record.format]) || CERTIFICATE;

export function documentSha256(kind, record) {
  if (kind.digestKey) return record[kind.digestKey];
  return isObject(record.file) ? record.file.sha256 : undefined;
}

export class RecordError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** A record has exactly the keys of its format; anything else is refused rather than silently hashed. */
export function checkRecord(record) {
  if (!isObject(record)) throw new RecordError('record_not_object', 'a certificate record is a JSON object');
  const kind = typeof record.format === 'string' ? KINDS[record.format] : undefined;
  if (!kind) throw new RecordError('record_format_unknown', `record format ${JSON.stringify(record.format)} is not known`);
  const keys = Object.keys(record);
  const missing = kind.keys.filter((k) => !keys.includes(k)).sort();
  const extra = keys.filter((k) => !kind.keys.includes(k)).sort();
  if (missing.length || extra.length) {
    throw new RecordError('record_keys_invalid', `record keys differ from ${kind.format}: missing [${missing}], unexpected [${extra}]`);
  }
  return kind;
}

/** The Merkle leaf anchored for a record: keccak256(keccak256(SHA-256(RFC 8785 bytes))). */
export function recordLeaf(record) {
  try {
    return digestLeaf(sha256(canonicalBytes(record)));
  } catch (e) {
    if (e instanceof CanonicalizationError) throw new RecordError('record_not_json', `the certificate record cannot be canonicalized (RFC 8785): ${e.message}`);
    throw e;
  }
}
