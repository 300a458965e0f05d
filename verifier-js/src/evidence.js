// The chain anchor a credential carries as `evidence` (ledger/credentials/evidence.py: a ChainAnchor with the
// record, its leaf, the Merkle proof, the root and the anchoring transaction), checked as the proof bundle it
// amounts to: the record's leaf, the proof, the root anchored on the trusted contract by an account of the
// record's department, that account's seal the record's seal. The record's status on chain is the status
// check's business (the status list says the same), so it is not repeated here.
import { check } from './checks.js';
import { BUNDLE_FORMAT } from './bundle.js';
import { base64ToBytes } from './bytes.js';
import { isObject } from './records.js';
import { sealFormat } from './seal_reader.js';

const ANCHOR_CHECKS = ['record_integrity', 'merkle_proof', 'anchor_on_chain', 'anchor_issuer', 'seal'];

/** The proof bundle a ChainAnchor evidence amounts to, or null when it is not one. */
export function evidenceBundle(evidence) {
  const types = Array.isArray(evidence?.type) ? evidence.type : [evidence?.type];
  if (!isObject(evidence) || !types.includes('ChainAnchor') || !isObject(evidence.record) || typeof evidence.recordSeal !== 'string') return null;
  let format;
  try {
    format = sealFormat(base64ToBytes(evidence.recordSeal));
  } catch {
    return null;
  }
  return {
    format: BUNDLE_FORMAT, identifier: evidence.record.identifier, record: evidence.record,
    seal: { format, der: evidence.recordSeal }, leaf: evidence.leaf, root: evidence.merkleRoot,
    proof: Array.isArray(evidence.merkleProof) ? evidence.merkleProof : [],
    chain: { chain_id: evidence.chainId, contract: evidence.contract, tx_hash: evidence.transactionHash ?? null,
      block_number: evidence.blockNumber, anchored_at: evidence.anchoredAt },
  };
}

/** anchor: the credential's evidence anchored on chain for its issuer (SKIPPED no_evidence without one). */
export async function anchorCheck(verifier, credential, did) {
  const evidence = (Array.isArray(credential.evidence) ? credential.evidence : [credential.evidence]).filter(isObject);
  const found = evidence.map(evidenceBundle).find((b) => b !== null);
  if (!found) return check('anchor', 'SKIPPED', 'no_evidence', '凭证没有上链证据 / the credential carries no chain anchor evidence');
  const code = found.record.issuing_department_code ?? found.record.association_code;
  if (typeof code !== 'string' || !did.endsWith(':' + code)) {
    return check('anchor', 'INVALID', 'evidence_not_issuers', '上链证据不是该发证机构的 / the evidence is a record of another issuer', { issuer: did });
  }
  let result;
  try {
    result = await verifier.verifyLoaded(found);
  } catch (e) {
    return check('anchor', 'INVALID', 'evidence_malformed', `上链证据格式错误 / the evidence is not a chain anchor: ${e.message}`);
  }
  const data = { root: found.root, block_number: found.chain.block_number, checks: result.checks.filter((c) => ANCHOR_CHECKS.includes(c.name)) };
  const failed = data.checks.find((c) => c.status !== 'VALID');
  if (failed) return check('anchor', failed.status === 'ERROR' ? 'ERROR' : 'INVALID', failed.reason, `${failed.name}: ${failed.message}`, data);
  return check('anchor', 'VALID', 'anchored', '', data);
}
