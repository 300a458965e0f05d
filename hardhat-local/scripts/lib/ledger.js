// A CertLedger deployment on Hardhat's in-process network, for the scripts in this folder
// (run them with `npx hardhat run --no-compile scripts/NAME.js`). The contract is the one Python
// deploys: the artifact ledger/artifacts/CertLedger.json, or the file named by ARTIFACT (e.g. an
// older version, `git show REV:ledger/artifacts/CertLedger.json > /tmp/old.json`).
'use strict';

const fs = require('fs');
const path = require('path');
const { Interface } = require('@ethersproject/abi');
const { keccak256 } = require('@ethersproject/keccak256');
const { toUtf8Bytes } = require('@ethersproject/strings');

const ARTIFACT = process.env.ARTIFACT || path.join(__dirname, '..', '..', '..', 'ledger', 'artifacts', 'CertLedger.json');

const OrgKind = { Department: 1, Association: 2, AuditWriter: 3 };
const BatchKind = { Certificates: 1, ReportSummaries: 2, AccessLog: 3 };
const Status = { None: 0, Valid: 1, Suspended: 2, Revoked: 3, Cancelled: 4, Withdrawn: 7, Superseded: 8 };

/** keccak256 of a text: the on-chain form of a credit code, a deterministic root, leaf or fingerprint. */
function hashOf(text) {
  return keccak256(toUtf8Bytes(text));
}

/** A deterministic 32-byte value with no zero byte: calldata at its most expensive (worst-case gas). */
function dense(text) {
  const bytes = Buffer.from(hashOf(text).slice(2), 'hex').map((b) => b || 1);
  return '0x' + bytes.toString('hex');
}

class Ledger {
  constructor(provider, artifact, address) {
    this.provider = provider;
    this.artifact = artifact;
    this.iface = new Interface(artifact.abi);
    this.address = address;
  }

  /** Deploy the artifact with `admin` as administrator (and a zero admin-transfer delay where it takes one). */
  static async deploy(provider, admin, artifact = JSON.parse(fs.readFileSync(ARTIFACT, 'utf8'))) {
    const ledger = new Ledger(provider, artifact, null);
    const args = ledger.iface.deploy.inputs.length === 2 ? [0, admin] : [admin];
    const receipt = await ledger._transact(admin, null, artifact.bytecode + ledger.iface.encodeDeploy(args).slice(2));
    ledger.address = receipt.contractAddress;
    return ledger;
  }

  /** Whether the deployed contract has a function of this name and input count. */
  has(name, inputs) {
    return Object.values(this.iface.functions).some((f) => f.name === name && (inputs === undefined || f.inputs.length === inputs));
  }

  /** Send a transaction; resolves to {gasUsed, blockNumber, events}, rejects with {errorName, args} on a revert. */
  async send(from, fn, args = []) {
    const receipt = await this._transact(from, this.address, this.iface.encodeFunctionData(fn, args));
    const events = receipt.logs.map((log) => {
      const parsed = this.iface.parseLog(log);
      return { name: parsed.name, args: parsed.args };
    });
    return { gasUsed: parseInt(receipt.gasUsed, 16), blockNumber: parseInt(receipt.blockNumber, 16), events };
  }

  /** The revert of a transaction: its custom error's name ('' for none), or null when it went through. */
  async revertOf(from, fn, args = []) {
    try {
      await this.send(from, fn, args);
      return null;
    } catch (e) {
      if (e.errorName === undefined) throw e;
      return e.errorName;
    }
  }

  async call(fn, args = []) {
    const data = this.iface.encodeFunctionData(fn, args);
    const out = await this.provider.request({ method: 'eth_call', params: [{ to: this.address, data }, 'latest'] });
    return this.iface.decodeFunctionResult(fn, out);
  }

  async _transact(from, to, data) {
    const tx = { from, data, gas: '0x' + (30_000_000).toString(16) };
    if (to) tx.to = to;
    let hash;
    try {
      hash = await this.provider.request({ method: 'eth_sendTransaction', params: [tx] });
    } catch (e) {
      if (typeof e.data !== 'string') throw e;
      const err = new Error(`reverted: ${e.message}`);
      err.errorName = '';
      if (e.data.length >= 10) {
        try {
          const parsed = this.iface.parseError(e.data);
          err.errorName = parsed.name;
          err.args = parsed.args;
          err.message = `reverted with ${parsed.signature}`;
        } catch (_) { /* not one of this contract's errors */ }
      }
      throw err;
    }
    return this.provider.request({ method: 'eth_getTransactionReceipt', params: [hash] });
  }
}

module.exports = { Ledger, ARTIFACT, OrgKind, BatchKind, Status, hashOf, dense };
