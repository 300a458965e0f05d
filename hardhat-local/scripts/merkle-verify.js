#!/usr/bin/env node
// Checks trees and proofs made elsewhere (certledger's Python ledger/merkle.py) with the
// reference library, @openzeppelin/merkle-tree. Reads one JSON request on stdin, prints one JSON
// answer with a key per operation asked for:
//   of:           {values, encoding, sortLeaves?}  -> {root, dump}      StandardMerkleTree.of
//   simpleOf:     {leaves, sortLeaves?}            -> {root, dump}      SimpleMerkleTree.of
//   load:         {dump, proofs: [valueIndex]}     -> {root, proofs} | {error}   load() validates
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
  if (req.of) {
    const t = StandardMerkleTree.of(req.of.values, req.of.encoding, { sortLeaves: req.of.sortLeaves ?? true });
    out.of = { root: t.root, dump: t.dump() };
  }
  if (req.simpleOf) {
    const t = SimpleMerkleTree.of(req.simpleOf.leaves, { sortLeaves: req.simpleOf.sortLeaves ?? true });
    out.simpleOf = { root: t.root, dump: t.dump() };
  }
  if (req.load) {
    out.load = attempt(() => {
      const d = req.load.dump;
      const t = d.format === 'simple-v1' ? SimpleMerkleTree.load(d) : StandardMerkleTree.load(d);
      return { root: t.root, proofs: (req.load.proofs || []).map(i => t.getProof(i)) };
    });
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
