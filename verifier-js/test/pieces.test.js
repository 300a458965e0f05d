// Unit tests of the pieces that need no chain: RFC 8785, SM3, Merkle proofs, strict DER, base64, PEM, bundles'
// shape, the verdict rule. The agreement with the Python verifier on a real chain is tests/test_verifier_js.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalize } from '../src/jcs.js';
import { sm3 } from '../src/sm2.js';
import { base64ToBytes, bytesToBase64, bytesToHex, hexToBytes, pemToDer, utf8 } from '../src/bytes.js';
import { hashPair, keccak, processProof, usccHash } from '../src/hashes.js';
import { DerError, parseDer, integer, time } from '../src/der.js';
import { loadBundle, BadInput } from '../src/bundle.js';
import { verdict, check } from '../src/checks.js';
import { checksumAddress } from '../src/chain.js';
import { readSeal, SealRejected } from '../src/seal_reader.js';
import { todayChina } from '../src/verifier.js';
import { validityCheck } from '../src/credential.js';

test('RFC 8785: sorted keys by UTF-16 units, ECMAScript numbers and strings', () => {
  // RFC 8785 appendix B / 3.2.3 examples
  assert.equal(canonicalize({ b: [1e30, 4.5, 0.002, 1e-27], a: 'x' }), '{"a":"x","b":[1e+30,4.5,0.002,1e-27]}');
  assert.equal(canonicalize({ '\u20ac': 1, '\r': 2, '\ud83d\ude00': 3, '1': 4, '\u00f6': 5 }),
    '{"\\r":2,"1":4,"ö":5,"€":1,"😀":3}');
  assert.equal(canonicalize({ s: '\u0007\u001f"\\/é' }), '{"s":"\\u0007\\u001f\\"\\\\/é"}');
  assert.equal(canonicalize([null, true, false, -0, 333333333.33333329]), '[null,true,false,0,333333333.3333333]');
  assert.throws(() => canonicalize({ s: '\ud800' }));
  assert.throws(() => canonicalize({ n: Infinity }));
});

test('SM3: the standard vectors (GB/T 32905 appendix A)', () => {
  assert.equal(bytesToHex(sm3(utf8('abc'))), '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
  assert.equal(bytesToHex(sm3(utf8('abcd'.repeat(16)))), 'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732');
});

test('keccak, the commutative pair hash and a proof', () => {
  assert.equal(bytesToHex(keccak(new Uint8Array())), 'c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470');
  const a = keccak(utf8('a')), b = keccak(utf8('b'));
  assert.deepEqual(hashPair(a, b), hashPair(b, a));
  assert.deepEqual(processProof(a, [b]), hashPair(a, b));
  assert.deepEqual(processProof(a, []), a);
  assert.deepEqual(usccHash(' 11100000000013338w '), keccak(utf8('11100000000013338W')));
});

test('DER: definite minimal lengths only, nothing after the element', () => {
  assert.equal(integer(parseDer(hexToBytes('020101'))), 1n);
  assert.equal(integer(parseDer(hexToBytes('0202ff7f'))), -129n);
  assert.throws(() => parseDer(hexToBytes('02810101')), DerError);  // non-minimal length
  assert.throws(() => parseDer(hexToBytes('3080020101 0000'.replace(' ', ''))), DerError);  // indefinite
  assert.throws(() => parseDer(hexToBytes('02010100')), DerError);  // trailing byte
  assert.throws(() => integer(parseDer(hexToBytes('02020001'))), DerError);  // non-minimal integer
  assert.throws(() => parseDer(hexToBytes('3003020201')), DerError);  // child runs past its parent
  assert.equal(time(parseDer(utf8('\x17\x0d491231235959Z'))), Date.UTC(2049, 11, 31, 23, 59, 59) / 1000);
  assert.equal(time(parseDer(utf8('\x18\x0f20500101000000Z'))), Date.UTC(2050, 0, 1) / 1000);
  assert.throws(() => time(parseDer(utf8('\x17\x0d490231235959Z'))), DerError);
});

test('base64 is strict; PEM must be a certificate', () => {
  const bytes = new Uint8Array([0, 1, 2, 250, 251, 252, 253]);
  assert.deepEqual(base64ToBytes(bytesToBase64(bytes)), bytes);
  assert.throws(() => base64ToBytes('AAE'));
  assert.throws(() => base64ToBytes('AA E='));
  assert.throws(() => pemToDer('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----'), /not a CERTIFICATE/);
});

test('a seal that is not one is refused with a reason, never an exception of another kind', () => {
  for (const hex of ['00', '3003020101' + '00'.repeat(12), '30' + '81' + '10' + '00'.repeat(16)]) {
    assert.throws(() => readSeal(hexToBytes(hex)), SealRejected);
  }
});

test('a bundle of the wrong shape names the problem', () => {
  assert.throws(() => loadBundle('[]'), (e) => e instanceof BadInput && e.code === 'bundle_malformed');
  assert.throws(() => loadBundle({ format: 'certledger/bundle/1', extra: 1 }), /unknown keys extra/);
  assert.throws(() => loadBundle({ format: 'certledger/bundle/1' }), (e) => e.path === 'identifier');
});

test('the verdict: INVALID before ERROR, VALID only when every required check is', () => {
  const v = (s) => check('a', s, 'r');
  assert.equal(verdict([v('VALID')], ['a']), 'VALID');
  assert.equal(verdict([v('SKIPPED')], ['a']), 'INVALID');
  assert.equal(verdict([v('ERROR'), check('b', 'INVALID', 'r')], ['a']), 'INVALID');
  assert.equal(verdict([v('ERROR')], ['a']), 'ERROR');
  assert.equal(verdict([v('VALID')], ['a', 'missing']), 'INVALID');
});

test('EIP-55 addresses and the date in China', () => {
  assert.equal(checksumAddress('0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed'), '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed');
  assert.equal(todayChina(new Date('2026-01-01T16:00:00Z')), '2026-01-02');
  assert.equal(todayChina(new Date('2026-01-01T15:59:59Z')), '2026-01-01');
});

test('validFrom has a minute of clock tolerance; validUntil none', () => {
  const now = new Date('2026-12-06T12:00:00Z');
  const reason = (document) => validityCheck(document, now).reason;
  assert.equal(reason({ validFrom: '2026-12-06T12:00:30Z' }), 'within_period');
  assert.equal(reason({ validFrom: '2026-12-06T12:05:00Z' }), 'not_yet_valid');
  assert.equal(reason({ validUntil: '2026-12-06T11:59:59Z' }), 'expired');
});
