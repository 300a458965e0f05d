// Verifies a W3C VC 2.0 with the Digital Bazaar libraries, unchanged, and an offline document loader.
// Input (stdin): {"credential": VC, "documents": {URL or DID: document}} - what a verifier would have
// resolved (DID documents, status list credentials, our context) - or the VC alone; the W3C, DID and
// Multikey contexts come from the npm context packages. With `--resolve BASE` (a platform's public URL,
// e.g. http://127.0.0.1:8000) what is missing is fetched from that platform only: its did:web documents
// at BASE/dids/<code>/did.json, its status lists and context by their URLs.
// Output (stdout): {"verified": bool, "errors": [message, ...]}.
// A credential whose revocation or suspension bit is set is refused (checkStatus reports the bit;
// refusing on it is the relying party's rule, written here once).
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite} from '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import * as credentialsContext from '@digitalbazaar/credentials-context';
import * as multikeyContext from '@digitalbazaar/multikey-context';
import * as didContext from 'did-context';
import * as dataIntegrityContext from '@digitalbazaar/data-integrity-context';

const input = JSON.parse(await new Promise(resolve => {
  let text = '';
  process.stdin.on('data', chunk => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));

const resolveAt = process.argv.indexOf('--resolve');
const base = resolveAt > 0 ? process.argv[resolveAt + 1].replace(/\/$/, '') : null;
const given = input.credential ? input : {credential: input, documents: {}};

const documents = new Map();
for(const pkg of [credentialsContext, multikeyContext, didContext, dataIntegrityContext]) {
  for(const [url, doc] of pkg.contexts) {
    documents.set(url, doc);
  }
}
for(const [url, doc] of Object.entries(given.documents || {})) {
  documents.set(url, doc);
}

async function fetchFromPlatform(id) {
  let url = id;
  if(id.startsWith('did:web:')) {
    url = `${base}/${id.split(':').slice(3).map(decodeURIComponent).join('/')}/did.json`;
  } else if(!id.startsWith(base + '/')) {
    return undefined;
  }
  const response = await fetch(url);
  if(!response.ok) {
    throw new Error(`${url}: HTTP ${response.status}`);
  }
  const doc = await response.json();
  documents.set(id, doc);
  return doc;
}

async function documentLoader(url) {
  const [id, fragment] = url.split('#');
  const doc = documents.get(id) || (base ? await fetchFromPlatform(id) : undefined);
  if(!doc) {
    throw new Error(`offline document loader: ${url} is not known`);
  }
  if(id.startsWith('did:') && fragment) {
    const method = (doc.verificationMethod || []).find(m => m.id === url);
    if(!method) {
      throw new Error(`${url} is not in the DID document`);
    }
    return {contextUrl: null, documentUrl: url,
      document: {'@context': multikeyContext.CONTEXT_URL, ...method}};
  }
  return {contextUrl: null, documentUrl: url, document: doc};
}

async function checkStatusRefusingSetBits(options) {
  const result = await checkStatus(options);
  const set = (result.results || []).filter(r => r.status).map(r => r.credentialStatus.statusPurpose);
  if(result.verified && set.length) {
    return {verified: false, error: new Error(`status set: ${set.join(', ')}`)};
  }
  return result;
}

const suite = new DataIntegrityProof({cryptosuite});
const result = await vc.verifyCredential({
  credential: given.credential, suite, documentLoader, checkStatus: checkStatusRefusingSetBits
});
const errors = [];
for(const e of [result.error, ...(result.results || []).map(r => r.error),
  result.statusResult && result.statusResult.error]) {
  if(!e) {
    continue;
  }
  for(const inner of (e.errors || [e])) {
    errors.push(String(inner.message || inner));
  }
}
process.stdout.write(JSON.stringify({verified: result.verified === true, errors}) + '\n');
