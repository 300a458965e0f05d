// Behaviour checks of CertLedger v2, one per finding of the security review (issue 10, items 1-8)
// plus the rules v2 keeps. Each check deploys its own contract on Hardhat's in-process network and
// prints PASS or FAIL; the exit code is 1 when any fails.
//   npx hardhat run --no-compile scripts/contract-checks.js
// Against v1 every check of items 1-8 fails (the kept rules pass), which shows each one tests a fix:
//   git show 4924a30:ledger/artifacts/CertLedger.json > /tmp/v1.json
//   ARTIFACT=/tmp/v1.json npx hardhat run --no-compile scripts/contract-checks.js
'use strict';

const assert = require('assert/strict');
const hre = require('hardhat');
const { getAddress } = require('@ethersproject/address');
const { keccak256 } = require('@ethersproject/keccak256');
const { Ledger, OrgKind, BatchKind, Status, hashOf, dense } = require('./lib/ledger');

const provider = hre.network.provider;
const ISSUER_ROLE = hashOf('ISSUER_ROLE');
const DEFAULT_ADMIN_ROLE = '0x' + '00'.repeat(32);
const CODE_A = hashOf('11430100MA4L0000A1');
const CODE_B = hashOf('11430100MA4L0000B2');
const CODE_ASSOC = hashOf('51430100MJ0000000C');

/** The calls whose shape changed in v2, written once for both versions (v1 has no issuer key). */
function api(ledger) {
  const v2 = ledger.has('revokeSeal');
  return {
    v2,
    statusOf: async (issuer, root, leaf) =>
      Number((await ledger.call('statusOf', v2 ? [issuer, root, leaf] : [root, leaf]))[0]),
    setStatusMany: (from, roots, leaves, status) =>
      ledger.send(from, 'setStatusMany', v2 ? [roots, leaves, status, 0]
        : [roots.flatMap((root, i) => leaves[i].map(() => root)), leaves.flat(), status, 0]),
    /** {issuer, leafCount, sealFingerprint?} of `issuer`'s anchor of `root`; v1 knows one anchor per root. */
    anchorOf: async (issuer, root) => {
      if (v2) {
        const a = await ledger.call('anchorOf', [issuer, root]);
        return { issuer: a.leafCount ? issuer : null, leafCount: a.leafCount, sealFingerprint: a.sealFingerprint };
      }
      const a = await ledger.call('anchorOf', [root]);
      return { issuer: a.issuer === '0x' + '00'.repeat(20) ? null : a.issuer, leafCount: a.leafCount };
    },
    verify: async (issuer, root, leaf, proof) =>
      ledger.call('verify', v2 ? [issuer, root, leaf, proof] : [root, leaf, proof]),
  };
}

async function setup() {
  const accounts = (await provider.request({ method: 'eth_accounts' })).map(getAddress);
  const [admin, deptA, deptB, assoc, outsider, deptA2] = accounts;
  const ledger = await Ledger.deploy(provider, admin);
  await ledger.send(admin, 'registerOrganization', [deptA, OrgKind.Department, CODE_A, dense('seal-A1')]);
  await ledger.send(admin, 'registerOrganization', [deptB, OrgKind.Department, CODE_B, dense('seal-B1')]);
  await ledger.send(admin, 'registerOrganization', [assoc, OrgKind.Association, CODE_ASSOC, dense('seal-C1')]);
  return { ledger, api: api(ledger), admin, deptA, deptB, assoc, outsider, deptA2 };
}

async function expectRevert(promise, errorName) {
  const name = await promise.then(() => null, (e) => {
    if (e.errorName === undefined) throw e;
    return e.errorName;
  });
  assert.notEqual(name, null, `expected a revert with ${errorName}, the transaction went through`);
  assert.equal(name, errorName, `expected ${errorName}, got ${name || 'a revert without a known error'}`);
}

/** A root of two leaves as OpenZeppelin's MerkleProof hashes a pair: keccak of the sorted pair. */
function pairRoot(a, b) {
  const [x, y] = [a, b].sort();
  return keccak256('0x' + x.slice(2) + y.slice(2));
}

const checks = {
  async '1 revoking or renouncing the role stops anchor, setStatus and setStatusMany'() {
    const { ledger, api, admin, deptA, assoc, outsider } = await setup();
    const root = dense('1-root');
    await ledger.send(deptA, 'anchor', [root, 2, BatchKind.Certificates]);
    await ledger.send(admin, 'revokeRole', [ISSUER_ROLE, deptA]);
    await expectRevert(ledger.send(deptA, 'anchor', [dense('1-next'), 1, BatchKind.Certificates]), 'OrganizationInactive');
    await expectRevert(ledger.send(deptA, 'setStatus', [root, dense('1-leaf'), Status.Revoked, 0]), 'OrganizationInactive');
    await expectRevert(api.setStatusMany(deptA, [root], [[dense('1-leaf')]], Status.Revoked), 'OrganizationInactive');
    await ledger.send(admin, 'grantRole', [ISSUER_ROLE, deptA]); // granting the role back reactivates
    await ledger.send(deptA, 'anchor', [dense('1-next'), 1, BatchKind.Certificates]);
    await ledger.send(deptA, 'renounceRole', [ISSUER_ROLE, deptA]);
    await expectRevert(ledger.send(deptA, 'anchor', [dense('1-third'), 1, BatchKind.Certificates]), 'OrganizationInactive');
    assert.equal((await ledger.call('organization', [deptA])).active, false);
    // the role goes to a registered organization of its kind only, so the two never disagree
    await expectRevert(ledger.send(admin, 'grantRole', [ISSUER_ROLE, outsider]), 'RoleNotOfOrganizationKind');
    await expectRevert(ledger.send(admin, 'grantRole', [ISSUER_ROLE, assoc]), 'RoleNotOfOrganizationKind');
  },

  async '2 a root never anchored has status 0 (statusOf and verify)'() {
    const { api, deptA } = await setup();
    const root = dense('2-never-anchored');
    const leaf = dense('2-leaf');
    assert.equal(await api.statusOf(deptA, root, leaf), Status.None, 'statusOf of an unknown root');
    const v = await api.verify(deptA, root, leaf, []);
    assert.equal(v.included, false);
    assert.equal(Number(v.status), Status.None, 'verify().status of an unknown root');
  },

  async '3 setStatusMany with the zero root is refused (writer and root checked)'() {
    const { ledger, api, deptA, outsider } = await setup();
    const zero = '0x' + '00'.repeat(32);
    await expectRevert(api.setStatusMany(outsider, [zero], [[dense('3-leaf')]], Status.Revoked), 'UnknownOrganization');
    await expectRevert(api.setStatusMany(deptA, [zero], [[dense('3-leaf')]], Status.Revoked), 'UnknownRoot');
    await expectRevert(ledger.send(deptA, 'setStatus', [zero, dense('3-leaf'), Status.Revoked, 0]), 'UnknownRoot');
  },

  async '4 a root anchored first by another organization blocks nothing and touches nothing'() {
    const { ledger, api, deptA, deptB } = await setup();
    const leafA = dense('4-leaf-a');
    const leafB = dense('4-leaf-b');
    const root = pairRoot(leafA, leafB); // deptA's pending batch, seen by deptB in the mempool
    await ledger.send(deptB, 'anchor', [root, 2, BatchKind.Certificates]); // front-run
    await ledger.send(deptA, 'anchor', [root, 2, BatchKind.Certificates]);
    assert.equal((await api.anchorOf(deptA, root)).issuer, deptA, "deptA's anchor is found under deptA");
    await ledger.send(deptB, 'setStatus', [root, leafA, Status.Revoked, 0]); // on deptB's own copy only
    assert.equal(await api.statusOf(deptA, root, leafA), Status.Valid, "deptB changed a status of deptA's batch");
    const v = await api.verify(deptA, root, leafA, [leafB]);
    assert.equal(v.included, true);
    assert.equal(Number(v.status), Status.Valid);
    await ledger.send(deptA, 'setStatus', [root, leafA, Status.Suspended, 0]);
    assert.equal(await api.statusOf(deptA, root, leafA), Status.Suspended);
    assert.equal(await api.statusOf(deptB, root, leafA), Status.Revoked);
    assert.equal((await ledger.call('accountOf', [CODE_A]))[0], deptA, 'accountOf(credit code) finds the issuer');
  },

  async '5 admin transfer takes two steps and waits out the delay'() {
    const { ledger, admin, outsider } = await setup();
    await expectRevert(ledger.send(admin, 'grantRole', [DEFAULT_ADMIN_ROLE, outsider]), 'AccessControlEnforcedDefaultAdminRules');
    await ledger.send(admin, 'changeDefaultAdminDelay', [3600]); // 0 at deployment here; takes effect after a wait
    await provider.request({ method: 'evm_increaseTime', params: [3601] });
    await provider.request({ method: 'evm_mine', params: [] });
    assert.equal(Number((await ledger.call('defaultAdminDelay'))[0]), 3600);
    await ledger.send(admin, 'beginDefaultAdminTransfer', [outsider]);
    await expectRevert(ledger.send(outsider, 'acceptDefaultAdminTransfer'), 'AccessControlEnforcedDefaultAdminDelay');
    assert.equal((await ledger.call('defaultAdmin'))[0], admin, 'the admin stays until the new one accepts');
    await provider.request({ method: 'evm_increaseTime', params: [3601] });
    await provider.request({ method: 'evm_mine', params: [] });
    await ledger.send(outsider, 'acceptDefaultAdminTransfer');
    assert.equal((await ledger.call('defaultAdmin'))[0], outsider);
    assert.equal((await ledger.call('hasRole', [DEFAULT_ADMIN_ROLE, admin]))[0], false);
  },

  async '6 one active account per credit code; replacing deactivates the old one first'() {
    const { ledger, admin, deptA, deptA2 } = await setup();
    await expectRevert(ledger.send(admin, 'registerOrganization', [deptA2, OrgKind.Department, CODE_A, dense('seal-A2')]),
      'CreditCodeHasActiveAccount');
    await ledger.send(admin, 'deactivateOrganization', [deptA]);
    await ledger.send(admin, 'registerOrganization', [deptA2, OrgKind.Department, CODE_A, dense('seal-A2')]);
    assert.equal((await ledger.call('accountOf', [CODE_A]))[0], deptA2);
    assert.deepEqual([...(await ledger.call('accountsOf', [CODE_A]))[0]], [deptA, deptA2]);
    await expectRevert(ledger.send(admin, 'reactivateOrganization', [deptA]), 'CreditCodeHasActiveAccount');
    await expectRevert(ledger.send(admin, 'grantRole', [ISSUER_ROLE, deptA]), 'CreditCodeHasActiveAccount');
  },

  async '7 an anchor carries the seal current at its block; a rotated-out seal never returns'() {
    const { ledger, api, admin, deptA, deptB } = await setup();
    const [r1, r2] = [dense('7-root-1'), dense('7-root-2')];
    await ledger.send(deptA, 'anchor', [r1, 1, BatchKind.Certificates]);
    await ledger.send(admin, 'rotateSeal', [deptA, dense('seal-A2')]);
    await ledger.send(deptA, 'anchor', [r2, 1, BatchKind.Certificates]);
    assert.equal((await api.anchorOf(deptA, r1)).sealFingerprint, dense('seal-A1'), 'seal at the first anchor');
    assert.equal((await api.anchorOf(deptA, r2)).sealFingerprint, dense('seal-A2'), 'seal at the second anchor');
    await expectRevert(ledger.send(admin, 'rotateSeal', [deptA, dense('seal-A1')]), 'SealAlreadyRegistered');
    await expectRevert(ledger.send(admin, 'rotateSeal', [deptB, dense('seal-A2')]), 'SealAlreadyRegistered');
  },

  async '8 revoking a seal is on chain, visible to a verifier, and stops anchoring until rotation'() {
    const { ledger, api, admin, deptA, deptB } = await setup();
    const root = dense('8-root');
    await ledger.send(deptA, 'anchor', [root, 1, BatchKind.Certificates]);
    const when = 1_900_000_000;
    const tx = await ledger.send(admin, 'revokeSeal', [deptA, dense('seal-A1'), when]);
    const event = tx.events.find((e) => e.name === 'SealRevoked');
    assert.ok(event && event.args.account === deptA && event.args.fingerprint === dense('seal-A1'), 'SealRevoked event');
    assert.equal(Number((await ledger.call('seal', [dense('seal-A1')])).compromiseTime), when);
    const v = await api.verify(deptA, root, root, []); // a one-leaf batch: the leaf is the root
    assert.equal(Number(v.sealCompromiseTime), when, 'verify() tells the seal was revoked');
    await expectRevert(ledger.send(deptA, 'anchor', [dense('8-next'), 1, BatchKind.Certificates]), 'CurrentSealRevoked');
    await ledger.send(deptA, 'setStatus', [root, root, Status.Revoked, 0]); // still revokes what it sealed
    await expectRevert(ledger.send(admin, 'revokeSeal', [deptA, dense('seal-A1'), when + 1]), 'SealAlreadyRevoked');
    await ledger.send(admin, 'revokeSeal', [deptA, dense('seal-A1'), when - 60]); // an earlier time is accepted
    await expectRevert(ledger.send(admin, 'revokeSeal', [deptB, dense('seal-A1'), when]), 'SealNotOfOrganization');
    await ledger.send(admin, 'rotateSeal', [deptA, dense('seal-A2')]);
    await ledger.send(deptA, 'anchor', [dense('8-next'), 1, BatchKind.Certificates]);
  },

  async 'kept: batch kind per organization kind'() {
    const { ledger, deptA, assoc, outsider } = await setup();
    await expectRevert(ledger.send(deptA, 'anchor', [dense('k-1'), 1, BatchKind.ReportSummaries]), 'BatchKindNotAllowed');
    await expectRevert(ledger.send(assoc, 'anchor', [dense('k-2'), 1, BatchKind.Certificates]), 'BatchKindNotAllowed');
    await ledger.send(assoc, 'anchor', [dense('k-3'), 1, BatchKind.ReportSummaries]);
    await expectRevert(ledger.send(outsider, 'anchor', [dense('k-4'), 1, BatchKind.Certificates]), 'UnknownOrganization');
    await expectRevert(ledger.send(deptA, 'anchor', ['0x' + '00'.repeat(32), 1, BatchKind.Certificates]), 'ZeroRoot');
    await expectRevert(ledger.send(deptA, 'anchor', [dense('k-5'), 0, BatchKind.Certificates]), 'EmptyBatch');
    await ledger.send(deptA, 'anchor', [dense('k-5'), 1, BatchKind.Certificates]);
    await expectRevert(ledger.send(deptA, 'anchor', [dense('k-5'), 1, BatchKind.Certificates]), 'RootAlreadyAnchored');
  },

  async 'kept: status transitions (01 only from 02; 03, 04, 07, 08 final) and deactivation'() {
    const { ledger, api, admin, deptA } = await setup();
    const root = dense('t-root');
    const [l1, l2, l3] = [dense('t-1'), dense('t-2'), dense('t-3')];
    await ledger.send(deptA, 'anchor', [root, 3, BatchKind.Certificates]);
    await expectRevert(ledger.send(deptA, 'setStatus', [root, l1, Status.Valid, 0]), 'StatusTransitionNotAllowed');
    await expectRevert(ledger.send(deptA, 'setStatus', [root, l1, 5, 0]), 'InvalidStatus');
    await ledger.send(deptA, 'setStatus', [root, l1, Status.Suspended, 0]);
    await expectRevert(ledger.send(deptA, 'setStatus', [root, l1, Status.Suspended, 0]), 'StatusTransitionNotAllowed');
    await ledger.send(deptA, 'setStatus', [root, l1, Status.Valid, 7]);
    assert.equal(await api.statusOf(deptA, root, l1), Status.Valid);
    for (const final of [Status.Revoked, Status.Cancelled, Status.Withdrawn, Status.Superseded]) {
      const leaf = dense(`t-final-${final}`);
      await ledger.send(deptA, 'setStatus', [root, leaf, final, 0]);
      await expectRevert(ledger.send(deptA, 'setStatus', [root, leaf, Status.Valid, 0]), 'StatusTransitionNotAllowed');
      await expectRevert(ledger.send(deptA, 'setStatus', [root, leaf, Status.Suspended, 0]), 'StatusTransitionNotAllowed');
    }
    await api.setStatusMany(deptA, [root], [[l2, l3]], Status.Withdrawn);
    assert.equal(await api.statusOf(deptA, root, l3), Status.Withdrawn);
    await expectRevert(api.setStatusMany(deptA, [root], [[l1, l2]], Status.Revoked), 'StatusTransitionNotAllowed');
    assert.equal(await api.statusOf(deptA, root, l1), Status.Valid, 'all or none: l1 unchanged');
    await ledger.send(admin, 'deactivateOrganization', [deptA]);
    await expectRevert(ledger.send(admin, 'deactivateOrganization', [deptA]), 'OrganizationInactive');
    await expectRevert(ledger.send(deptA, 'anchor', [dense('t-next'), 1, BatchKind.Certificates]), 'OrganizationInactive');
    assert.equal(await api.statusOf(deptA, root, l3), Status.Withdrawn, 'anchors and statuses stay');
    await ledger.send(admin, 'reactivateOrganization', [deptA]);
    await expectRevert(ledger.send(admin, 'reactivateOrganization', [deptA]), 'OrganizationAlreadyActive');
    await ledger.send(deptA, 'anchor', [dense('t-next'), 1, BatchKind.Certificates]);
  },
};

async function main() {
  let failed = 0;
  for (const [name, check] of Object.entries(checks)) {
    try {
      await check();
      console.log(`PASS  ${name}`);
    } catch (e) {
      failed += 1;
      console.log(`FAIL  ${name}\n      ${String(e.message).split('\n')[0]}`);
    }
  }
  console.log(`${Object.keys(checks).length - failed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main();
