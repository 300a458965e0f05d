#!/usr/bin/env node
// certledger-verify BUNDLE... --rpc URL --trust FILE [--root PEM] [--document PDF] [--json]
// Verifies each bundle; with --json prints one result per line. Exit 0 when every verdict is VALID, 1 when one
// is not, 2 when the input is refused (no trust list, a malformed bundle or trust list).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadTrustList, Verifier } from '../src/index.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rpc: { type: 'string' }, trust: { type: 'string' }, root: { type: 'string' },
    document: { type: 'string' }, json: { type: 'boolean' } },
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
  let allValid = true;
  for (const path of positionals) {
    const result = await verifier.verifyBundle(readFileSync(path, 'utf8'), document);
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

main().then((code) => { process.exitCode = code; }, (e) => {
  process.stderr.write(`error ${e.code ?? 'failed'}: ${e.message}\n`);
  process.exitCode = 2;
});
