// W3C VC 2.0 and SD-JWT VC verification offline: test/fixtures/credentials.json was made with the platform's own
// code (ledger/credentials: sign_document, sign_es256, encode_list, two_bit_list) and a throwaway P-256 key for a
// department of https://certledger.example; `now` is fixed inside the status lists' hour. The chain is not asked:
// the VC carries no evidence and the SD-JWT checks run with `anchor: false` (tests/test_verifier_js_credentials.py
// runs both against a real chain and the Python verifiers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { detectFormat, Verifier } from '../src/index.js';

const fx = JSON.parse(readFileSync(new URL('./fixtures/credentials.json', import.meta.url), 'utf8'));
const did = fx.did_document.id;
const code = did.split(':').at(-1);
const listUrl = (purpose) => `${fx.platform}/status-lists/${code}${purpose ? '/' + purpose : ''}`;
const trust = { chainId: 31337, deployments: [], issuers: [], trustsContract: () => false };
const noNetwork = async (url) => { throw new Error(`no network in this test (${url})`); };
const verifier = (t = trust, fetchImpl = noNetwork) => new Verifier('http://127.0.0.1:1', t, { now: new Date(fx.now), fetchImpl });
const vcDocuments = (revocation = fx.status_lists.revocation) => ({
  [did]: fx.did_document, [listUrl('revocation')]: revocation, [listUrl('suspension')]: fx.status_lists.suspension });
const byName = (result) => Object.fromEntries(result.checks.map((c) => [c.name, [c.status, c.reason]]));

test('the packaged contexts are the platform\'s', () => {
  const ours = new URL('../../ledger/credentials/contexts/', import.meta.url);
  for (const name of readdirSync(ours)) {
    const copy = new URL(`../contexts/${name.replace('.jsonld', '.json')}`, import.meta.url);
    assert.deepEqual(JSON.parse(readFileSync(copy, 'utf8')), JSON.parse(readFileSync(new URL(name, ours), 'utf8')), name);
  }
});

test('a genuine VC is VALID check by check; without evidence the anchor is SKIPPED', async () => {
  const result = await verifier().verifyCredential(fx.vc, { platformUrl: fx.platform, documents: vcDocuments() });
  assert.deepEqual(byName(result), {
    contexts: ['VALID', 'contexts_packaged'], issuer_trusted: ['VALID', 'own_issuer'],
    verification_method: ['VALID', 'assertion_method'], proof: ['VALID', 'signature_valid'],
    validity_period: ['VALID', 'within_period'], status: ['VALID', 'not_revoked'], anchor: ['SKIPPED', 'no_evidence'] });
  assert.equal(result.verdict, 'VALID');
  assert.equal(result.credential.issuer, did);
});

test('a changed field, an added property, a changed proof, a revoked bit, an unknown context, an untrusted issuer', async () => {
  const options = { platformUrl: fx.platform, documents: vcDocuments() };
  const changed = structuredClone(fx.vc);
  changed.credentialSubject.holderName = '伪造有限公司';
  assert.deepEqual(byName(await verifier().verifyCredential(changed, options)).proof, ['INVALID', 'signature_invalid']);
  const added = { ...structuredClone(fx.vc), foo: 'an unsigned claim' };  // no context defines it: refused, not dropped
  assert.deepEqual(byName(await verifier().verifyCredential(added, options)).proof, ['INVALID', 'jsonld_invalid']);
  const proof = structuredClone(fx.vc);
  proof.proof.proofValue = proof.proof.proofValue.slice(0, -3) + (proof.proof.proofValue.endsWith('222') ? '333' : '222');
  assert.deepEqual(byName(await verifier().verifyCredential(proof, options)).proof, ['INVALID', 'signature_invalid']);
  const revoked = await verifier().verifyCredential(fx.vc, { ...options, documents: vcDocuments(fx.status_lists.revocation_set) });
  assert.deepEqual([revoked.verdict, byName(revoked).status], ['INVALID', ['INVALID', 'revoked']]);
  const context = structuredClone(fx.vc);
  context['@context'].push('https://example.com/other/v1');
  const unknown = byName(await verifier().verifyCredential(context, options));
  assert.deepEqual([unknown.contexts, unknown.proof], [['INVALID', 'context_unknown'], ['SKIPPED', 'context_unknown']]);
  const stranger = await verifier().verifyCredential(fx.vc, { documents: vcDocuments() });
  assert.deepEqual(byName(stranger).issuer_trusted, ['INVALID', 'issuer_not_trusted']);
  await assert.rejects(verifier().verifyCredential('{"@context": []}'), (e) => e.code === 'vc_malformed');
});

test('only the caller\'s platform is fetched, and a foreign issuer\'s lists only under its trust entry\'s prefix', async () => {
  const asked = [];
  const served = { [`${fx.platform}/dids/${code}/did.json`]: fx.did_document, ...vcDocuments() };
  const fetchImpl = async (url) => {
    asked.push(url);
    return new Response(JSON.stringify(served[url]), { status: served[url] ? 200 : 404 });
  };
  const result = await verifier(trust, fetchImpl).verifyCredential(fx.vc, { platformUrl: fx.platform });
  assert.equal(result.verdict, 'VALID');
  assert.deepEqual(asked.sort(), [`${fx.platform}/dids/${code}/did.json`, listUrl('revocation'), listUrl('suspension')]);
  const foreign = { ...trust, issuers: [{ did, name: '外市', didDocument: fx.did_document, statusUrlPrefix: null }] };
  const checks = byName(await verifier(foreign).verifyCredential(fx.vc, {}));
  assert.deepEqual([checks.issuer_trusted, checks.status], [['VALID', 'foreign_issuer_trusted'], ['SKIPPED', 'status_not_checked']]);
  const elsewhere = { ...trust, issuers: [{ did, name: '外市', didDocument: fx.did_document, statusUrlPrefix: 'https://other.example/' }] };
  assert.deepEqual(byName(await verifier(elsewhere).verifyCredential(fx.vc, {})).status, ['SKIPPED', 'status_url_not_allowed']);
});

test('an SD-JWT VC: signature, disclosures, validity, Token Status List; the disclosed claims', async () => {
  const options = { platformUrl: fx.platform, documents: { [did]: fx.did_document, [listUrl()]: fx.token_status }, anchor: false };
  const result = await verifier().verifySdJwt(fx.sd_jwt, options);
  assert.equal(result.verdict, 'VALID');
  assert.deepEqual(byName(result), {
    issuer_trusted: ['VALID', 'own_issuer'], verification_method: ['VALID', 'assertion_method'],
    signature: ['VALID', 'signature_valid'], disclosures: ['VALID', 'disclosures_signed'],
    key_binding: ['SKIPPED', 'no_key_binding'], validity_period: ['VALID', 'within_period'],
    status: ['VALID', 'not_revoked'], anchor: ['SKIPPED', 'anchor_not_checked'] });
  assert.equal(result.claims.holder, '示例企业有限公司');
  assert.deepEqual(result.claims.fields, { level: '一级' });
  assert.equal(result.claims._sd, undefined);

  const revoked = await verifier().verifySdJwt(fx.sd_jwt, { ...options, documents: { ...options.documents, [listUrl()]: fx.token_status_revoked } });
  assert.deepEqual(byName(revoked).status, ['INVALID', 'revoked']);
  const [jwt, first, ...rest] = fx.sd_jwt.split('~');
  const [salt, name] = JSON.parse(Buffer.from(first, 'base64url'));
  const forged = Buffer.from(JSON.stringify([salt, name, '伪造'])).toString('base64url');
  assert.deepEqual(byName(await verifier().verifySdJwt([jwt, forged, ...rest].join('~'), options)).disclosures, ['INVALID', 'disclosure_not_signed']);
  const [head, body, sig] = jwt.split('.');
  const payload = { ...JSON.parse(Buffer.from(body, 'base64url')), vct: 'urn:other' };
  const changed = [`${head}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig}`, first, ...rest].join('~');
  assert.deepEqual(byName(await verifier().verifySdJwt(changed, options)).signature, ['INVALID', 'signature_invalid']);
  const bound = await verifier().verifySdJwt(fx.sd_jwt + jwt, options);
  assert.deepEqual(byName(bound).key_binding, ['INVALID', 'key_binding_malformed']);
});

test('detectFormat tells the four inputs apart', () => {
  assert.equal(detectFormat(JSON.stringify(fx.vc)), 'vc');
  assert.equal(detectFormat(fx.sd_jwt + '\n'), 'sd-jwt');
  assert.equal(detectFormat('{"format": "certledger/bundle/1"}'), 'bundle');
  assert.equal(detectFormat('{"format": "certledger/public-proof/1"}'), 'public-proof');
  assert.equal(detectFormat('hello'), null);
});

test('the browser\'s lazily imported credential.js (jsonld inside) and sd_jwt.js verify the credentials', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'verifier-build-'));
  execFileSync(process.execPath, [new URL('../build.js', import.meta.url).pathname, out]);
  const { verifyCredential } = await import(path.join(out, 'credential.js'));
  const result = await verifyCredential(verifier(), fx.vc, { platformUrl: fx.platform, documents: vcDocuments() });
  assert.equal(result.verdict, 'VALID');
  const { verifySdJwt } = await import(path.join(out, 'sd_jwt.js'));
  const sd = await verifySdJwt(verifier(), fx.sd_jwt, { platformUrl: fx.platform, anchor: false,
    documents: { [did]: fx.did_document, [listUrl()]: fx.token_status } });
  assert.equal(sd.verdict, 'VALID');
  const core = readFileSync(path.join(out, 'verifier.js'), 'utf8');
  for (const name of ['credential.js', 'sd_jwt.js']) assert.ok(core.includes(`import("./${name}")`), name);
});
