// The ledger contract's views over plain JSON-RPC (`fetch`, eth_chainId and eth_call): the few calls a verifier
// makes, ABI-encoded by hand as docs/proof-bundle.md ("Contract views") lays them out word by word.
import { bytesToHex, hexToBytes } from './bytes.js';
import { keccak } from './hashes.js';

/** The node could not be asked (ERROR chain_unreachable / chain_error). */
export class ChainError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** No CertLedger contract answers the call (INVALID contract_not_found). */
export class NoContract extends Error {}

const SELECTORS = { accountsOf: 'bf1c3f45', organization: 'b586f967', verify: '652ff78b', statusOf: 'c41966ad' };
const word = (hex) => hex.replace(/^0x/, '').toLowerCase().padStart(64, '0');
const num = (w) => BigInt('0x' + w);

/** EIP-55 mixed-case address, as the Python verifier writes them. */
export function checksumAddress(address) {
  const lower = address.replace(/^0x/i, '').toLowerCase();
  const hash = bytesToHex(keccak(new TextEncoder().encode(lower)));
  return '0x' + [...lower].map((c, i) => (parseInt(hash[i], 16) >= 8 ? c.toUpperCase() : c)).join('');
}

export class LedgerContract {
  /** `fetchImpl` defaults to the global fetch (Node >= 18, every browser). */
  constructor(rpcUrl, address, { fetchImpl = (...args) => globalThis.fetch(...args), timeoutMs = 15000 } = {}) {
    Object.assign(this, { rpcUrl, address, fetchImpl, timeoutMs, nextId: 1 });
  }

  async rpc(method, params) {
    let response, body;
    try {
      response = await this.fetchImpl(this.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method, params }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      body = await response.json();
    } catch (e) {
      throw new ChainError('chain_unreachable', `区块链节点无法连接 / the chain node at ${this.rpcUrl} cannot be reached: ${e.message}`);
    }
    if (body.error) {
      if (method === 'eth_call') throw new NoContract(body.error.message ?? 'execution reverted');
      throw new ChainError('chain_error', `the chain node failed to answer ${method}: ${body.error.message}`);
    }
    return body.result;
  }

  async chainId() {
    return Number(BigInt(await this.rpc('eth_chainId', [])));
  }

  /** The answer's 32-byte words (hex, no 0x); NoContract when nothing answers (no code at the address). */
  async call(name, ...args) {
    const result = await this.rpc('eth_call', [{ to: this.address, data: '0x' + SELECTORS[name] + args.join('') }, 'latest']);
    const hex = (result ?? '0x').replace(/^0x/, '');
    if (!hex.length || hex.length % 64) throw new NoContract(`no CertLedger contract answers at ${this.address}`);
    return hex.match(/.{64}/g);
  }

  /** Every account ever registered for a credit-code hash (`accountsOf`), oldest first. */
  async accountsOf(usccHash) {
    const w = await this.call('accountsOf', bytesToHex(usccHash));
    const n = Number(num(w[1]));
    if (w.length < 2 + n) throw new NoContract('accountsOf answered a short array');
    return w.slice(2, 2 + n).map((x) => checksumAddress(x.slice(24)));
  }

  /** An account's registration, or null when it has none (kind 0). */
  async organization(account) {
    const w = await this.call('organization', word(account));
    const kind = Number(num(w[0]));
    if (kind === 0) return null;
    return { address: checksumAddress(account), kind, active: num(w[1]) === 1n, usccHash: hexToBytes(w[2]),
      sealEpoch: Number(num(w[3])), sealFingerprint: hexToBytes(w[4]), sealRevoked: num(w[5]) === 1n };
  }

  /** `verify(issuer, root, leaf, proof)`: inclusion, the anchor, its seal, the seal's compromise and the status. */
  async verify(issuer, root, leaf, proof) {
    const args = [word(issuer), bytesToHex(root), bytesToHex(leaf), word('80'), word(proof.length.toString(16)),
      ...proof.map(bytesToHex)];
    const w = await this.call('verify', ...args);
    return { included: num(w[0]) === 1n, anchored: num(w[1]) !== 0n, blockNumber: Number(num(w[2])),
      timestamp: Number(num(w[3])), sealFingerprint: hexToBytes(w[4]), sealCompromiseTime: Number(num(w[5])),
      status: Number(num(w[6])) };
  }

  async statusOf(issuer, root, leaf) {
    const w = await this.call('statusOf', word(issuer), bytesToHex(root), bytesToHex(leaf));
    return Number(num(w[0]));
  }
}
