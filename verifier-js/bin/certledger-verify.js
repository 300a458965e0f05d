#!/usr/bin/env node
// certledger-verify FILE... --rpc URL --trust FILE [--root PEM] [--document PDF] [--platform URL]
//                   [--documents JSON] [--aud AUD] [--nonce NONCE] [--json]
// Verifies each file, whatever it is: a proof bundle or public proof (JSON), a W3C VC 2.0 (JSON-LD) or an SD-JWT
// VC (compact text). For credentials, --platform names the platform whose departments' DID documents and status
// lists may be fetched, --documents a JSON object {DID or URL: document} supplied instead of fetching. With --json
// prints one result per line. Exit 0 when every verdict is VALID, 1 when one is not, 2 when the input is refused
// (no trust list, a malformed file or trust list).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BadInput, detectFormat, loadTrustList, Verifier } from '../src/index.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rpc: { type: 'string' }, trust: { type: 'string' }, root: { type: 'string' },
    document: { type: 'string' }, json: { type: 'boolean' }, platform: { type: 'string' },
    documents: { type: 'string' }, aud: { type: 'string' }, nonce: { type: 'string' } },
});
const trustFile = values.trust ?? process.env.CERTLEDGER_TRUST_FILE;

async function main() {
  if (!trustFile) {
    throw Object.assign(new Error('没有信任列表，无法验证 / no trust list: get the platform\'s with GET /public/trust and pass --trust FILE'), { code: 'trust_list_missing' });
  }
  const trust = loadTrustList(readFileSync(trustFile, 'utf8'),
    { rootPem: values.root ? readFileSync(values.root, 'utf8') : null });
  const verifier = new Verifier(values.rpc ?? 'http://127.0.0.1:8545', trust);
  const document = values.document ? new Uint8Array(readFileSync(values.document)) : null;
  const options = { platformUrl: values.platform ?? null, documents: values.documents ? JSON.parse(readFileSync(values.documents, 'utf8')) : {} };
  for (const claim of ['aud', 'nonce']) if (values[claim] !== undefined) options[claim] = values[claim];
  let allValid = true;
  for (const path of positionals) {
    const result = await verifyFile(verifier, readFileSync(path, 'utf8'), document, options);
    allValid &&= result.verdict === 'VALID';
    if (values.json) {
      process.stdout.write(JSON.stringify(result) + '\n');
    } else {
      process.stdout.write(`${path}: ${result.verdict}\n`);
      for (const c of result.checks) process.stdout.write(`  ${c.status.padEnd(8)} ${c.name} (${c.reason})\n`);
    }
  }
  return allValid ? 0 : 1;
}

/** The file's result by its format, which is named in the result. */
async function verifyFile(verifier, text, document, options) {
  const format = detectFormat(text);
  if (format === 'vc') return { format, ...await verifier.verifyCredential(text, options) };
  if (format === 'sd-jwt') return { format, ...await verifier.verifySdJwt(text, options) };
  if (format === null && !text.trim().startsWith('{')) {
    throw new BadInput('format_unknown', '无法识别的文件 / not a proof bundle, public proof, W3C VC (JSON) or SD-JWT VC (compact text)');
  }
  return { format: format ?? 'bundle', ...await verifier.verifyBundle(text, document) };
}

main().then((code) => { process.exitCode = code; }, (e) => {
  process.stderr.write(`error ${e.code ?? 'failed'}: ${e.message}\n`);
  process.exitCode = 2;
});
