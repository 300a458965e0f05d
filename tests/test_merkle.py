"""ledger.core.merkle against the reference: @openzeppelin/merkle-tree 1.0.8 run with node."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import eth_abi
import pytest

from ledger.core.errors import BadInput, TooLarge
from ledger.core.merkle import (
    MAX_LEAVES,
    MerkleTree,
    as_node,
    digest_leaf_hash,
    hash_pair,
    keccak,
    process_proof,
    split_proof,
)

HARDHAT = Path(__file__).resolve().parent.parent / "hardhat-local"
SCRIPT = HARDHAT / "scripts" / "merkle-verify.js"


def js(request: dict[str, Any]) -> dict[str, Any]:
    """Run the reference library on one request (see the script's header)."""
    node = shutil.which("node")
    assert node, "node is not on PATH; it runs @openzeppelin/merkle-tree"
    assert (HARDHAT / "node_modules" / "@openzeppelin" / "merkle-tree").is_dir(), (
        "@openzeppelin/merkle-tree is not installed: run `npm install` in hardhat-local"
    )
    done = subprocess.run(
        [node, str(SCRIPT)], input=json.dumps(request), capture_output=True, text=True, cwd=HARDHAT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def hx(b: bytes) -> str:
    return "0x" + b.hex()


def digests(n: int, seed: int = 0) -> list[bytes]:
    return [hash_pair(seed.to_bytes(32, "big"), i.to_bytes(32, "big")) for i in range(n)]


def flip(b: bytes, at: int = 0) -> bytes:
    return b[:at] + bytes([b[at] ^ 1]) + b[at + 1 :]


def tree_of(ds: list[bytes]) -> tuple[MerkleTree, dict[int, list[bytes]]]:
    """A certificate batch's tree over record digests, and every proof by leaf index."""
    tree = MerkleTree([digest_leaf_hash(d) for d in ds])
    return tree, {i: split_proof(p) for i, p in tree.iter_proofs()}


# -- the same trees as the JS library -------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 33, 100])
def test_digest_tree_root_and_every_proof_are_the_js_ones(n: int) -> None:
    d = digests(n)
    d[n // 2] = d[0]  # a repeated value keeps its own leaf, in a stable order
    tree, proofs = tree_of(d)
    theirs = js({"of": {"values": [[hx(x)] for x in d], "encoding": ["bytes32"]}})["of"]
    assert hx(tree.root) == theirs["root"]
    assert [[hx(p) for p in proofs[i]] for i in range(n)] == theirs["proofs"]


def test_leaf_hash_tree_is_the_js_simple_tree() -> None:
    leaves = [digest_leaf_hash(x) for x in digests(21)]
    tree = MerkleTree(leaves)
    theirs = js({"simpleOf": {"leaves": [hx(x) for x in leaves]}})["simpleOf"]
    assert hx(tree.root) == theirs["root"]
    assert [[hx(p) for p in split_proof(blob)] for _, blob in sorted(tree.iter_proofs())] == theirs["proofs"]


def test_digest_leaf_is_the_abi_encoded_standard_leaf() -> None:
    for x in digests(3):
        assert digest_leaf_hash(x) == keccak(keccak(eth_abi.encode(["bytes32"], [x]))) == digest_leaf_hash(hx(x))


# -- proofs checked by the JS library ---------------------------------------------------------


def test_js_verifies_our_proofs_and_rejects_tampering() -> None:
    n = 3000
    d = digests(n, seed=7)
    tree, proofs = tree_of(d)
    root = hx(tree.root)
    picks = list(range(0, n, 97)) + [n - 1]
    good = [{"value": [hx(d[i])], "proof": [hx(p) for p in proofs[i]]} for i in picks]
    bad = []
    for i in picks[:10]:
        proof = proofs[i]
        other = (i + 1) % n
        bad += [
            {"value": [hx(flip(d[i], 31))], "proof": [hx(p) for p in proof]},  # changed leaf
            {"value": [hx(d[i])], "proof": [hx(p) for p in [*proof[:-1], flip(proof[-1], 5)]]},  # changed sibling
            {"value": [hx(d[other])], "proof": [hx(p) for p in proof]},  # another leaf's proof
            {"value": [hx(d[i])], "proof": [hx(p) for p in proof[:-1]]},  # a level missing
        ]
    out = js({"verify": {"root": root, "encoding": ["bytes32"], "items": good + bad}})["verify"]
    assert out[: len(good)] == [True] * len(good)
    assert out[len(good) :] == [False] * len(bad)


# -- our own proofs ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 6, 3 * 4096 + 5])
def test_iter_proofs_gives_every_proof_once_and_each_reaches_the_root(n: int) -> None:
    d = digests(n)
    tree = MerkleTree([digest_leaf_hash(x) for x in d])
    seen = dict(tree.iter_proofs())
    assert sorted(seen) == list(range(n))
    assert all(process_proof(digest_leaf_hash(d[i]), seen[i]) == tree.root for i in range(0, n, max(1, n // 50)))


def test_proofs_reject_tampering() -> None:
    d = digests(1000)
    tree, proofs = tree_of(d)
    for i in (0, 1, 500, 999):
        leaf, blob = digest_leaf_hash(d[i]), b"".join(proofs[i])
        assert split_proof(blob) == proofs[i] == split_proof(hx(blob)) == split_proof([hx(p) for p in proofs[i]])
        assert process_proof(leaf, blob) == tree.root == process_proof(hx(leaf), proofs[i])
        assert process_proof(flip(leaf), blob) != tree.root
        assert process_proof(leaf, flip(blob, len(blob) - 1)) != tree.root
        assert process_proof(digest_leaf_hash(d[(i + 1) % 1000]), blob) != tree.root
    assert len(proofs[0]) in (9, 10)


def test_single_leaf_tree_has_empty_proof() -> None:
    d = digests(1)
    tree, proofs = tree_of(d)
    assert tree.root == digest_leaf_hash(d[0]) and proofs == {0: []}


# -- bad input ------------------------------------------------------------------------------


def test_empty_batch() -> None:
    with pytest.raises(BadInput) as e:
        MerkleTree([])
    assert e.value.code == "empty_batch" and "at least one leaf" in e.value.message


def test_too_many_leaves() -> None:
    with pytest.raises(TooLarge) as e:
        MerkleTree([b"\0" * 32] * (MAX_LEAVES + 1))
    assert e.value.code == "batch_too_large"


@pytest.mark.parametrize("node", [b"\1" * 31, b"\1" * 33, "0x" + "ab" * 31, "0xzz" + "00" * 31, 5])
def test_malformed_leaf_or_digest(node: Any) -> None:
    for call in (lambda: process_proof(node, []), lambda: as_node(node), lambda: digest_leaf_hash(node)):
        with pytest.raises(BadInput) as e:
            call()
        assert e.value.code == "malformed_hash"
    with pytest.raises(BadInput) as e:
        MerkleTree([b"\2" * 32, node])
    assert e.value.code == "malformed_hash" and "leaf 1" in e.value.message


@pytest.mark.parametrize(
    "proof", [b"\1" * 33, "0x" + "ab" * 40, [b"\1" * 32, b"\1" * 31], ["0x12"], 7, "not hex", "0xgg"]
)
def test_proof_of_the_wrong_shape(proof: Any) -> None:
    with pytest.raises(BadInput) as e:
        process_proof(b"\2" * 32, proof)
    assert e.value.code == "malformed_proof"


# -- scale ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_million_leaves_with_all_proofs() -> None:
    """The largest batch builds and every proof has the right depth; its speed is benchmarks.chain's job."""
    d = [os.urandom(32) for _ in range(MAX_LEAVES)]
    tree = MerkleTree([digest_leaf_hash(x) for x in d])
    total, chosen = 0, b""
    for i, p in tree.iter_proofs():
        total += len(p)
        if i == 123_456:
            chosen = p
    assert total in range(19 * 32 * MAX_LEAVES, 20 * 32 * MAX_LEAVES + 1)
    assert process_proof(digest_leaf_hash(d[123_456]), chosen) == tree.root
