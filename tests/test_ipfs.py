"""CIDs computed by the service against a real js-ipfs node, and the IpfsStore against that node."""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from multiformats import multibase

import ledger.documents.ipfs
from ledger.core.checks import Status
from ledger.core.errors import BadInput, NotFound, ServiceUnavailable
from ledger.devstack.launchers import free_port, start_local_ipfs, stop
from ledger.documents.cid import CHUNK_SIZE, MAX_LINKS, compute_cid, parse_cid
from ledger.documents.ipfs import IpfsStore, api_base_url


def _bytes(n: int, seed: int = 0) -> bytes:
    return random.Random(seed * 1_000_003 + n).randbytes(n)


def _daemon_cid(api: str, data: bytes, chunk_size: int = CHUNK_SIZE):
    """What the node's own importer says, without storing (only-hash)."""
    params = {"cid-version": "1", "raw-leaves": "true", "chunker": f"size-{chunk_size}", "only-hash": "true"}
    r = httpx.post(f"{api}/api/v0/add", params=params, files={"file": ("f", data)}, timeout=120)
    r.raise_for_status()
    return parse_cid(json.loads(r.text.splitlines()[-1])["Hash"])


def test_empty_document_cid_is_the_well_known_raw_cid() -> None:
    assert str(compute_cid(b"")) == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


@pytest.mark.parametrize(
    "size",
    [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3_000_000, (MAX_LINKS + 1) * CHUNK_SIZE + 5],
    ids=["empty", "1B", "one-chunk", "one-chunk+1", "3MB", "175-chunks-two-levels"],
)
def test_cid_matches_the_node(ipfs_api: str, size: int) -> None:
    data = _bytes(size)
    cid = compute_cid(data)
    assert cid == _daemon_cid(ipfs_api, data)
    assert cid.codec.name == ("raw" if size <= CHUNK_SIZE else "dag-pb")


@pytest.mark.parametrize("chunks", [2, MAX_LINKS, MAX_LINKS + 1, 2 * MAX_LINKS + 3])
def test_tree_shape_matches_the_node_with_small_chunks(ipfs_api: str, chunks: int) -> None:
    """Small chunks exercise full nodes and a second tree level without 45 MB documents."""
    data = _bytes(chunks * 64 - 7)
    assert compute_cid(data, chunk_size=64) == _daemon_cid(ipfs_api, data, chunk_size=64)


def test_one_changed_byte_changes_the_cid() -> None:
    data = bytearray(_bytes(CHUNK_SIZE * 3))
    before = compute_cid(bytes(data))
    data[CHUNK_SIZE * 2 + 5] ^= 1
    assert compute_cid(bytes(data)) != before


def test_cids_compare_by_value_across_bases() -> None:
    cid = compute_cid(b"abc")
    assert parse_cid(cid.encode("base58btc")) == parse_cid(str(cid))
    with pytest.raises(BadInput) as e:
        parse_cid("not-a-cid")
    assert e.value.code == "bad_cid"


@pytest.mark.parametrize(
    ("api", "url"),
    [
        ("/ip4/127.0.0.1/tcp/5001/http", "http://127.0.0.1:5001/api/v0"),
        ("/ip4/127.0.0.1/tcp/5001", "http://127.0.0.1:5001/api/v0"),
        ("/dns4/ipfs.internal/tcp/9095/https", "https://ipfs.internal:9095/api/v0"),
        ("http://127.0.0.1:5001/", "http://127.0.0.1:5001/api/v0"),
        ("http://127.0.0.1:5001/api/v0", "http://127.0.0.1:5001/api/v0"),
    ],
)
def test_api_address_forms(api: str, url: str) -> None:
    assert api_base_url(api) == url


@pytest.mark.parametrize("api", ["/ip4/127.0.0.1/udp/5001", "127.0.0.1:5001"])
def test_bad_api_address(api: str) -> None:
    with pytest.raises(BadInput) as e:
        api_base_url(api)
    assert e.value.code == "bad_ipfs_api"


def test_put_get_and_pin(ipfs_store: IpfsStore) -> None:
    data = _bytes(CHUNK_SIZE * 2 + 100, seed=1)
    cid = ipfs_store.put(data)
    assert cid == compute_cid(data)
    assert ipfs_store.get(cid) == data
    assert ipfs_store.get(cid.encode("base58btc")) == data
    assert ipfs_store.pin_check(cid)


def test_pin_check_false_for_unknown_document(ipfs_store: IpfsStore) -> None:
    assert not ipfs_store.pin_check(compute_cid(b"never stored: pin check"))


def test_put_many_in_batches_keeps_order(ipfs_api: str) -> None:
    docs = [_bytes(1000 + i, seed=2) for i in range(23)] + [b"", _bytes(1005, seed=2)]  # a duplicate
    with IpfsStore(ipfs_api, batch_files=10, batch_bytes=8_000) as store:
        assert list(store._batches(docs)) == [(0, 7), (7, 14), (14, 21), (21, 25)]
        cids = store.put_many(docs)
        assert cids == [compute_cid(d) for d in docs]
        assert all(store.get(c) == d for c, d in zip(cids, docs))
        assert all(store.pin_check(c) for c in cids)


def test_one_store_shared_by_threads(ipfs_store: IpfsStore) -> None:
    docs = [_bytes(20_000 + i, seed=5) for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        cids = list(pool.map(ipfs_store.put, docs))
        assert list(pool.map(ipfs_store.get, cids)) == docs
    assert cids == [compute_cid(d) for d in docs]


def test_node_with_other_importer_settings_is_refused(ipfs_store: IpfsStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A node that chunks differently stores the document under another CID: put must refuse."""
    monkeypatch.setitem(ledger.documents.ipfs._ADD_PARAMS, "chunker", "size-1024")
    with pytest.raises(ServiceUnavailable) as e:
        ipfs_store.put(_bytes(5000, seed=3))
    assert e.value.code == "ipfs_cid_mismatch"


def test_corrupt_block_on_the_node_is_detected(ipfs_node, ipfs_store: IpfsStore) -> None:
    data = _bytes(4321, seed=4)
    cid = ipfs_store.put(data)
    # js-ipfs stores a block as blocks/<shard>/<base32 multihash without the prefix>.data
    name = multibase.encode(cid.digest, "base32upper")[1:]
    (block,) = ipfs_node.repo.glob(f"blocks/*/{name}.data")
    raw = bytearray(block.read_bytes())
    raw[100] ^= 0xFF
    block.write_bytes(bytes(raw))
    with pytest.raises(ServiceUnavailable) as e:
        ipfs_store.get(cid)
    assert e.value.code == "ipfs_content_mismatch"


def test_missing_document_is_not_found(ipfs_api: str) -> None:
    with IpfsStore(ipfs_api, timeout=1) as store, pytest.raises(NotFound) as e:
        store.get(compute_cid(b"never stored: get"))
    assert e.value.code == "document_not_in_ipfs"


def test_foreign_cid_is_refused(ipfs_store: IpfsStore) -> None:
    with pytest.raises(BadInput) as e:
        ipfs_store.get("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG")  # CIDv0
    assert e.value.code == "unsupported_cid"


def test_health(ipfs_store: IpfsStore) -> None:
    check = ipfs_store.health()
    assert check.status is Status.VALID
    assert check.data["version"]


def test_node_down_names_the_fix() -> None:
    with IpfsStore(f"http://127.0.0.1:{free_port()}", timeout=2) as store:
        assert store.health().status is Status.ERROR
        with pytest.raises(ServiceUnavailable) as e:
            store.put(b"x")
    assert e.value.code == "ipfs_unavailable"
    assert "./dev up" in e.value.message and "CERTLEDGER_IPFS_API" in e.value.message


@pytest.mark.slow
def test_restarted_node_keeps_documents_on_new_ports(tmp_path) -> None:
    """The dev stack restarts its node on a kept repo; the start script rewrites the ports."""
    repo = tmp_path / "repo"
    api_port = free_port()
    proc = start_local_ipfs(repo, api_port, free_port(), free_port())
    try:
        with IpfsStore(f"http://127.0.0.1:{api_port}") as store:
            cid = store.put(b"kept across restarts")
    finally:
        stop(proc)
    assert proc.returncode is not None
    api_port = free_port()
    proc = start_local_ipfs(repo, api_port, free_port(), free_port())
    try:
        with IpfsStore(f"http://127.0.0.1:{api_port}") as store:
            assert store.get(cid) == b"kept across restarts"
            assert store.pin_check(cid)
    finally:
        stop(proc)
