// The public verification page's own check, in the reader's browser: finds
// <section id="browser-verification" hidden data-bundle-url="URL">, fetches the bundle, the JSON-RPC endpoint
// (GET /public/verifier, or data-rpc-url) and the sealed trust list (GET /public/trust, or data-trust-url),
// verifies against the chain directly, then unhides the section and shows every check and the verdict, Chinese
// first, English beside. Nothing the platform's server says about the verdict is used.
import { loadTrustList, Verifier } from './index.js';

const CHECKS = {
  record_integrity: ['记录完整', 'record integrity'],
  merkle_proof: ['默克尔证明', 'Merkle proof'],
  anchor_on_chain: ['已锚定上链', 'anchored on chain'],
  anchor_issuer: ['锚定账户与印章', 'anchoring account and seal'],
  seal: ['电子印章', 'seal'],
  seal_intact: ['印章签名完好', 'seal signature intact'],
  seal_chain: ['印章证书由城市根证书签发', 'seal certificate issued by the city root'],
  seal_certificate_valid: ['印章证书有效', 'seal certificate valid'],
  seal_signer_matches: ['盖章部门相符', 'sealing department matches'],
  status: ['证照状态', 'status'],
  validity_period: ['有效期', 'validity period'],
  document_digest: ['文件摘要', 'document digest'],
};
const STATUSES = { VALID: ['通过', 'valid'], INVALID: ['未通过', 'invalid'], SKIPPED: ['未检查', 'skipped'], ERROR: ['出错', 'error'] };
const VERDICTS = {
  VALID: ['核验通过', 'VALID'],
  INVALID: ['核验未通过', 'INVALID'],
  ERROR: ['无法完成核验', 'ERROR'],
};
const NO_RECORD_NOTE = '本页核验的是公开证明：其中不含持证人等记录内容，记录完整性与印章签名需持证人的证明包核验 / this page checks the '
  + 'public proof, which carries no record (holder and fields): record integrity and the seal signature need the holder\'s bundle';
const HEADING = '本机浏览器已直接核验区块链 / verified by this browser against the chain';
const COLOURS = { VALID: '#0a7d32', INVALID: '#b3261e', ERROR: '#8a5300', SKIPPED: '#555' };

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

async function getJson(url) {
  const response = await fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  if (!response.ok) throw Object.assign(new Error(`${url}: HTTP ${response.status}`), { code: 'fetch_failed' });
  return response.text();
}

/** Verifies the section's bundle; `{verdict, checks, certificate, rpcUrl}`. */
export async function verifySection(section) {
  const data = section.dataset;
  let rpcUrl = data.rpcUrl, trustUrl = data.trustUrl;
  if (!rpcUrl || !trustUrl) {
    const config = JSON.parse(await getJson(data.configUrl || '/public/verifier'));
    rpcUrl ||= config.rpc_url;
    trustUrl ||= config.trust_list_url;
  }
  const [bundle, trustText] = await Promise.all([getJson(data.bundleUrl), getJson(trustUrl)]);
  const result = await new Verifier(rpcUrl, loadTrustList(trustText)).verifyBundle(bundle);
  return { ...result, rpcUrl };
}

function render(section, result) {
  section.replaceChildren();
  section.setAttribute('aria-live', 'polite');
  section.append(el('h2', HEADING));
  const [zh, en] = VERDICTS[result.verdict] ?? VERDICTS.ERROR;
  const verdict = el('p', `${zh} / ${en}`, { class: 'browser-verdict', 'data-verdict': result.verdict });
  verdict.style.fontWeight = 'bold';
  verdict.style.color = COLOURS[result.verdict] ?? COLOURS.ERROR;
  section.append(verdict);
  const list = el('ul', undefined, { class: 'browser-checks' });
  for (const c of result.checks) {
    const [czh, cen] = CHECKS[c.name] ?? [c.name, c.name];
    const [szh, sen] = STATUSES[c.status] ?? [c.status, c.status];
    const item = el('li', `${czh} / ${cen}: ${szh} / ${sen} (${c.reason})`, { 'data-check': c.name, 'data-status': c.status });
    if (c.name.startsWith('seal_')) item.style.marginLeft = '1.5em';
    item.style.color = COLOURS[c.status] ?? '';
    if (c.status !== 'VALID' && c.message) item.title = c.message;
    list.append(item);
  }
  section.append(list);
  if (result.checks.some((c) => c.reason === 'no_record')) section.append(el('p', NO_RECORD_NOTE, { class: 'browser-note' }));
  if (result.rpcUrl) section.append(el('p', `区块链节点 / chain node: ${result.rpcUrl}`, { class: 'browser-rpc' }));
  if (result.error) section.append(el('p', result.error, { class: 'browser-error' }));
}

export async function run(doc = document) {
  const section = doc.getElementById('browser-verification');
  if (!section || !section.dataset.bundleUrl) return null;
  section.hidden = false;
  section.replaceChildren(el('p', '正在本机核验… / verifying in this browser…', { class: 'browser-progress' }));
  let result;
  try {
    result = await verifySection(section);
  } catch (e) {
    result = { verdict: 'ERROR', checks: [], error: `${e.code ?? 'error'}: ${e.message}` };
  }
  render(section, result);
  section.dataset.verdict = result.verdict;
  return result;
}

if (typeof document !== 'undefined') {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => run());
  else run();
}
