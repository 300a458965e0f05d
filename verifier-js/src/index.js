// @certledger/verifier: verify certledger proof bundles, W3C VC 2.0 credentials and SD-JWT VCs against a chain
// node and the platform's trust list.
export { Verifier, REQUIRED, todayChina } from './verifier.js';
export { loadTrustList, TRUST_FORMAT } from './trust.js';
export { loadBundle, BadInput, BUNDLE_FORMAT } from './bundle.js';
export { verdict } from './checks.js';
export { canonicalize } from './jcs.js';
export { recordLeaf } from './records.js';
export { detectFormat } from './formats.js';
