// Gas of CertLedger's writes, measured the way benchmarks/chain.py measures them: anchors of
// 1,000,000-leaf batches (the worst of ANCHORS roots with no zero byte), one status change, and one
// setStatusMany of 1,000 leaves spread over 10 roots (sorted by root, as ledger/contract.py sends).
//   npx hardhat run --no-compile scripts/gas.js          (ARTIFACT=... for another build)
'use strict';

const hre = require('hardhat');
const { Ledger, ARTIFACT, OrgKind, BatchKind, Status, hashOf, dense } = require('./lib/ledger');

const ANCHORS = parseInt(process.env.ANCHORS || '300', 10);
const MANY = 1000;

/** setStatusMany's arguments for sorted (root, leaf) pairs, in the deployed contract's shape. */
function manyArgs(ledger, pairs, status) {
  pairs = [...pairs].sort((a, b) => (a[0] + a[1] < b[0] + b[1] ? -1 : 1));
  const grouped = ledger.iface.getFunction('setStatusMany').inputs[1].type === 'bytes32[][]';
  if (!grouped) return [pairs.map((p) => p[0]), pairs.map((p) => p[1]), status, 0];
  const roots = [];
  const leaves = [];
  for (const [root, leaf] of pairs) {
    if (roots[roots.length - 1] !== root) {
      roots.push(root);
      leaves.push([]);
    }
    leaves[leaves.length - 1].push(leaf);
  }
  return [roots, leaves, status, 0];
}

async function main() {
  const provider = hre.network.provider;
  const [admin, issuer] = await provider.request({ method: 'eth_accounts' });
  const ledger = await Ledger.deploy(provider, admin);
  const figures = { artifact: ARTIFACT };
  figures.registerOrganization = (await ledger.send(admin, 'registerOrganization',
    [issuer, OrgKind.Department, hashOf('11430100851952982H'), dense('seal-1')])).gasUsed;

  const roots = Array.from({ length: ANCHORS }, (_, i) => dense(`root-${i}`));
  const anchorGas = [];
  for (const root of roots) anchorGas.push((await ledger.send(issuer, 'anchor', [root, 1_000_000, BatchKind.Certificates])).gasUsed);
  figures.anchor = { max: Math.max(...anchorGas), min: Math.min(...anchorGas), anchors: ANCHORS };

  figures.setStatus = (await ledger.send(issuer, 'setStatus', [roots[0], dense('one-leaf'), Status.Revoked, 0])).gasUsed;

  const spread = Array.from({ length: MANY }, (_, i) => [roots[i % 10], dense(`leaf-${i}`)]);
  const spreadGas = (await ledger.send(issuer, 'setStatusMany', manyArgs(ledger, spread, Status.Revoked))).gasUsed;
  figures.setStatusMany = { leaves: MANY, roots: 10, total: spreadGas, perLeaf: Math.round(spreadGas / MANY) };
  const single = Array.from({ length: MANY }, (_, i) => [roots[20], dense(`single-${i}`)]);
  const singleGas = (await ledger.send(issuer, 'setStatusMany', manyArgs(ledger, single, Status.Revoked))).gasUsed;
  figures.setStatusManyOneRoot = { leaves: MANY, roots: 1, total: singleGas, perLeaf: Math.round(singleGas / MANY) };
  figures.setStatusManyPerExtraRoot = Math.round((spreadGas - singleGas) / 9);

  if (ledger.has('revokeSeal')) {
    figures.rotateSeal = (await ledger.send(admin, 'rotateSeal', [issuer, dense('seal-2')])).gasUsed;
    figures.revokeSeal = (await ledger.send(admin, 'revokeSeal', [issuer, dense('seal-1'), 1_700_000_000])).gasUsed;
  }
  figures.deactivateOrganization = (await ledger.send(admin, 'deactivateOrganization', [issuer])).gasUsed;
  console.log(JSON.stringify(figures, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
