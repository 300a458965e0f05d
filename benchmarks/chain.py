"""Gas and throughput of the ledger contract on a local Hardhat node; Merkle tree build time.

    python -m benchmarks.chain [--leaves 1000000] [--anchors 300]

The gas of each write the platform sends: anchors of 1,000,000-leaf batches (the worst of ``--anchors`` random
roots), one status change, one setStatusMany of 1,000 leaves over 10 roots and over one (the difference is the
cost of a root, ``ledger.issue.status_changes.STATUS_GAS_PER_ROOT``), registration, seal rotation and revocation.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from eth_account import Account

from benchmarks.report import report
from ledger.chain.client import ChainClient
from ledger.chain.contract import BatchKind, LedgerContract, OrgKind
from ledger.core.merkle import MerkleTree, digest_leaf_hash
from ledger.core.statuses import LeafStatus
from ledger.devstack.launchers import free_port, start_chain_node, stop


def bench_merkle(n: int) -> tuple[float, float, int]:
    """(wall s, CPU s) to hash n record digests into leaves, build the tree and produce every proof as stored
    (concatenated bytes)."""
    digests = [os.urandom(32) for _ in range(n)]
    wall, cpu = time.perf_counter(), time.process_time()
    tree = MerkleTree([digest_leaf_hash(d) for d in digests])
    total = 0
    for _, proof in tree.iter_proofs():
        total += len(proof)
    return time.perf_counter() - wall, time.process_time() - cpu, total


def _many(contract: LedgerContract, issuer: Account, roots: list[bytes], n: int) -> tuple[int, float]:
    """Gas and seconds of one setStatusMany of ``n`` fresh leaves spread over ``roots`` (grouped by root)."""
    pairs = [(roots[i % len(roots)], os.urandom(32)) for i in range(n)]
    start = time.perf_counter()
    results = contract.set_status_many(issuer, pairs, LeafStatus.REVOKED, chunk_size=n)
    assert len(results) == 1
    return results[0].gas_used, time.perf_counter() - start


def bench_chain(anchors: int) -> dict[str, float | int]:
    """Gas of every CertLedger write the platform sends, on a fresh node (v2: anchors keyed by issuer and root)."""
    with tempfile.TemporaryDirectory() as state:
        port = free_port()
        proc = start_chain_node("hardhat", port, Path(state))  # Anvil slows as contract storage grows
        try:
            client = ChainClient(f"http://127.0.0.1:{port}")
            admin, issuer = Account.create(), Account.create()
            contract, _ = LedgerContract.deploy(client, admin)
            register = contract.register_organization(admin, issuer.address, OrgKind.DEPARTMENT,
                                                      "11430100851952982H", os.urandom(32)).gas_used

            roots = [os.urandom(32) for _ in range(anchors)]
            start = time.perf_counter()
            gas = [contract.anchor(issuer, r, 1_000_000, BatchKind.CERTIFICATES).gas_used for r in roots]
            anchor_rate = anchors / (time.perf_counter() - start)

            one = contract.set_status(issuer, roots[0], os.urandom(32), LeafStatus.REVOKED).gas_used
            many_n = 1000
            spread, many_seconds = _many(contract, issuer, roots[:10], many_n)
            single, _ = _many(contract, issuer, roots[20:21], many_n)
            rotate = contract.rotate_seal(admin, issuer.address, os.urandom(32)).gas_used
            revoke = contract.revoke_seal(admin, issuer.address, contract.organization(issuer.address).seal_fingerprint,
                                          int(time.time())).gas_used
            return {
                "anchor_gas": max(gas),
                "status_change_gas": one,
                "status_many_gas_per_leaf": round(spread / many_n),
                "status_many_leaves": many_n,
                "status_many_roots": 10,
                "status_many_one_root_gas_per_leaf": round(single / many_n),
                "status_many_gas_per_extra_root": round((spread - single) / 9),
                "status_many_seconds": round(many_seconds, 3),
                "register_organization_gas": register,
                "rotate_seal_gas": rotate,
                "revoke_seal_gas": revoke,
                "anchors_per_second": round(anchor_rate, 1),
                "anchors_measured": anchors,
            }
        finally:
            stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--anchors", type=int, default=300)
    args = parser.parse_args()
    figures = bench_chain(args.anchors)
    wall, cpu, proof_bytes = bench_merkle(args.leaves)
    figures.update({"merkle_leaves": args.leaves, "merkle_build_with_proofs_seconds": round(wall, 2),
                    "merkle_build_with_proofs_cpu_seconds": round(cpu, 2), "merkle_proof_bytes_total": proof_bytes})
    report("chain", figures, {
        "anchor_gas": "<= 50,336 (any batch size; DocumentStore: 47,858)",
        "status_change_gas": "<= 52,399",
        "status_many_gas_per_leaf": "<= 26,230 (1,000 leaves over 10 roots)",
        "status_many_gas_per_extra_root": "<= 3,600 (STATUS_GAS_PER_ROOT)",
        "merkle_build_with_proofs_seconds": "<= 10 (1M leaves, 1 core)",
    })


if __name__ == "__main__":
    main()
