"""Encrypted document storage in a local js-ipfs node, and the client choice (httpx vs ipfshttpclient).

    python -m benchmarks.ipfs_store [--docs 1000] [--size 200000]

Each document is sealed (AES-256-GCM, wrapped key) and stored with its CID computed locally and
checked against the node's; reads re-hash and open the envelope.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import ipfshttpclient

from benchmarks.report import report
from ledger.devstack.launchers import free_port, start_local_ipfs, stop
from ledger.documents.envelope import Kek, KeyRing, seal, unseal
from ledger.documents.ipfs import IpfsStore

_ADD = {"cid_version": 1, "raw_leaves": True, "pin": True, "chunker": "size-262144"}


def bench_store(store: IpfsStore, docs: list[bytes]) -> dict[str, float | int]:
    kek = Kek(os.urandom(32))
    ids = [f"cert-{i}" for i in range(len(docs))]

    start = time.perf_counter()
    sealed = [seal(d, kek, i) for d, i in zip(docs, ids)]
    cids = store.put_many([s.envelope for s in sealed])
    batch_rate = len(docs) / (time.perf_counter() - start)

    single = docs[:100]
    start = time.perf_counter()
    for d, i in zip(single, ids):
        store.put(seal(d, kek, i + "-single").envelope)
    single_rate = len(single) / (time.perf_counter() - start)

    ring = KeyRing(kek)
    latencies = []
    for cid, s, i in zip(cids[:300], sealed, ids):
        t = time.perf_counter()
        unseal(store.get(cid), s.key_info, ring, i)
        latencies.append(time.perf_counter() - t)
    return {
        "put_many_encrypted_files_per_s": round(batch_rate, 1),
        "put_one_by_one_encrypted_files_per_s": round(single_rate, 1),
        "get_and_open_files_per_s": round(len(latencies) / sum(latencies), 1),
        "get_and_open_p50_ms": round(statistics.median(latencies) * 1000, 2),
    }


def _rate(n: int, work) -> float:
    start = time.perf_counter()
    work()
    return n / (time.perf_counter() - start)


def bench_clients(store: IpfsStore, api_port: int, size: int, rounds: int = 3) -> dict[str, float | int]:
    """httpx (IpfsStore, with CID checks) vs ipfshttpclient 0.7.0 constructed directly, unencrypted.

    The two run interleaved on fresh documents each round (the machine is shared; medians).
    """
    warnings.filterwarnings("ignore", message="The 'strict' parameter is no longer needed", category=FutureWarning)
    client = ipfshttpclient.Client(f"/ip4/127.0.0.1/tcp/{api_port}/http")
    rates: dict[str, list[float]] = {}

    def record(name: str, value: float) -> None:
        rates.setdefault(name, []).append(value)

    for _ in range(rounds):
        one, batch = [os.urandom(size) for _ in range(30)], [os.urandom(size) for _ in range(100)]
        record("httpx_add_one_by_one", _rate(len(one), lambda: [store.put(d) for d in one]))
        record("ipfshttpclient_add_one_by_one", _rate(len(one), lambda: [client.add(io.BytesIO(d[::-1]), **_ADD) for d in one]))
        cids: list = []
        record("httpx_add_batch", _rate(len(batch), lambda: cids.extend(store.put_many(batch))))
        added: list = []
        record("ipfshttpclient_add_batch", _rate(len(batch), lambda: added.extend(client.add(*[io.BytesIO(d[::-1]) for d in batch], **_ADD))))
        record("httpx_cat", _rate(len(cids), lambda: [store.get(c) for c in cids]))
        record("ipfshttpclient_cat", _rate(len(added), lambda: [client.cat(r["Hash"]) for r in added]))
    client.close()
    return {f"{name}_files_per_s": round(statistics.median(v), 1) for name, v in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--size", type=int, default=200_000)
    args = parser.parse_args()
    docs = [os.urandom(args.size) for _ in range(args.docs)]
    with tempfile.TemporaryDirectory() as tmp:
        api_port = free_port()
        proc = start_local_ipfs(Path(tmp) / "repo", api_port, free_port(), free_port())
        try:
            with IpfsStore(f"http://127.0.0.1:{api_port}") as store:
                figures: dict[str, float | int] = {"documents": args.docs, "document_bytes": args.size}
                figures.update(bench_store(store, docs))
                figures.update(bench_clients(store, api_port, args.size))
        finally:
            stop(proc)
    report("ipfs_store", figures, {"put_many_encrypted_files_per_s": ">= 100 (js-ipfs, 2 cores)"})


if __name__ == "__main__":
    main()
