// The built browser script (api/static/verifier/verifier.js, `node build.js`) defines the global
// CertledgerVerifier with the library's entry points and nothing Node-only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

test('verifier.js runs in a bare context and exposes CertledgerVerifier', () => {
  const source = readFileSync(new URL('../../api/static/verifier/verifier.js', import.meta.url), 'utf8');
  const context = vm.createContext({ TextEncoder, TextDecoder, fetch: () => { throw new Error('no network here'); },
    AbortSignal, crypto: globalThis.crypto });
  vm.runInContext(source, context);
  const lib = context.CertledgerVerifier;
  for (const name of ['Verifier', 'loadTrustList', 'loadBundle', 'verdict', 'canonicalize', 'recordLeaf']) {
    assert.equal(typeof lib[name], 'function', name);
  }
  assert.equal(lib.canonicalize({ b: 1, a: [true, null] }), '{"a":[true,null],"b":1}');
  assert.throws(() => lib.loadTrustList('{}'), (e) => e.code === 'trust_list_malformed');
});
