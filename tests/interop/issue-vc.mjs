// Plays "another city": makes a P-256 key and its did:web document, and signs W3C VC 2.0 credentials with the
// Digital Bazaar libraries, unchanged (ecdsa-rdfc-2019 Data Integrity proofs), offline.
// Input (stdin): {"did": "did:web:...", "credentials": [unsigned VC, ...], "documents": {URL: context}} (the
// contexts beyond the W3C VC 2.0 one the credentials name).
// Output (stdout): {"didDocument": {...}, "credentials": [signed VC, ...]}.
import * as vc from '@digitalbazaar/vc';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite} from '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import * as credentialsContext from '@digitalbazaar/credentials-context';

const input = JSON.parse(await new Promise(resolve => {
  let text = '';
  process.stdin.on('data', chunk => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));

async function documentLoader(url) {
  const doc = credentialsContext.contexts.get(url) || (input.documents || {})[url];
  if(!doc) {
    throw new Error(`offline document loader: ${url} is not known`);
  }
  return {contextUrl: null, documentUrl: url, document: doc};
}

const did = input.did;
const key = await EcdsaMultikey.generate({curve: 'P-256', id: `${did}#key-1`, controller: did});
const exported = await key.export({publicKey: true, includeContext: false});
const didDocument = {
  '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
  id: did,
  verificationMethod: [{id: exported.id, type: 'Multikey', controller: did,
    publicKeyMultibase: exported.publicKeyMultibase}],
  assertionMethod: [exported.id]
};
const suite = new DataIntegrityProof({signer: key.signer(), cryptosuite});
const credentials = [];
for(const credential of input.credentials) {
  credentials.push(await vc.issue({credential, suite, documentLoader}));
}
process.stdout.write(JSON.stringify({didDocument, credentials}) + '\n');
