#!/usr/bin/env node
// Checks trees and proofs made elsewhere (certledger's Python ledger/core/merkle.py) with the
// reference library, @openzeppelin/merkle-tree. Reads one JSON request on stdin, prints one JSON
// answer with a key per operation asked for:
//   of:           {values, encoding}  -> {root, proofs}   StandardMerkleTree.of; proofs[i] = getProof(i)
//   simpleOf:     {leaves}            -> {root, proofs}   SimpleMerkleTree.of
//   verify:       {root, encoding, items: [{value, proof}]} -> [true | false | {error}]
//   verifySimple: {root, items: [{leaf, proof}]}   -> [true | false | {error}]
'use strict';

const { StandardMerkleTree, SimpleMerkleTree } = require('@openzeppelin/merkle-tree');

function attempt(fn) {
  try {
    return fn();
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) };
  }
}

function run(req) {
  const out = {};
  const withProofs = (t, n) => ({ root: t.root, proofs: Array.from({ length: n }, (_, i) => t.getProof(i)) });
  if (req.of) {
    out.of = withProofs(StandardMerkleTree.of(req.of.values, req.of.encoding), req.of.values.length);
  }
  if (req.simpleOf) {
    out.simpleOf = withProofs(SimpleMerkleTree.of(req.simpleOf.leaves), req.simpleOf.leaves.length);
  }
  if (req.verify) {
    const { root, encoding, items } = req.verify;
    out.verify = items.map(({ value, proof }) => attempt(() => StandardMerkleTree.verify(root, encoding, value, proof)));
  }
  if (req.verifySimple) {
    const { root, items } = req.verifySimple;
    out.verifySimple = items.map(({ leaf, proof }) => attempt(() => SimpleMerkleTree.verify(root, leaf, proof)));
  }
  return out;
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', chunk => (input += chunk));
process.stdin.on('end', () => {
  process.stdout.write(JSON.stringify(run(JSON.parse(input))) + '\n');
});
