"""ledger.core.merkle against the reference: @openzeppelin/merkle-tree 1.0.8 run with node."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ledger.core.errors import BadInput, NotFound, TooLarge
from ledger.core.merkle import (
    MAX_LEAVES,
    MerkleTree,
    as_node,
    digest_leaf_hash,
    hash_pair,
    leaf_hash,
    process_proof,
    split_proof,
    verify,
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


# -- the same trees as the JS library -------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 33, 100])
def test_digest_tree_dump_is_the_js_dump(n: int) -> None:
    d = digests(n)
    d[n // 2] = d[0]  # a repeated value keeps its own leaf, in a stable order
    ours = MerkleTree.of_digests(d)
    theirs = js({"of": {"values": [[hx(x)] for x in d], "encoding": ["bytes32"]}})["of"]
    assert ours.dump() == theirs["dump"]
    assert hx(ours.root) == theirs["root"]
    assert MerkleTree.of([[x] for x in d], ["bytes32"]).dump() == theirs["dump"]


@pytest.mark.parametrize(
    "encoding, values",
    [
        (["address", "uint256"], [["0x" + f"{i:040x}", str(10**20 + i)] for i in range(11)]),
        (
            ["string", "bool", "bytes", "uint8[]"],
            [[f"证照-{i}", i % 2 == 0, "0x" + "ab" * i, [str(i), "2"]] for i in range(6)],
        ),
        (["(uint256,bytes32)"], [[[str(i), "0x" + f"{i:064x}"]] for i in range(5)]),
    ],
)
def test_general_encodings_match_js(encoding: list[str], values: list[list[Any]]) -> None:
    ours = MerkleTree.of(values, encoding)
    theirs = js({"of": {"values": values, "encoding": encoding}})["of"]
    assert ours.dump() == theirs["dump"]
    for i, v in enumerate(values):
        assert ours.leaf(i) == leaf_hash(v, encoding)
        assert ours.leaf_index(v) == i


def test_unsorted_leaves_match_js() -> None:
    d = digests(13)
    theirs = js({"of": {"values": [[hx(x)] for x in d], "encoding": ["bytes32"], "sortLeaves": False}})["of"]
    assert MerkleTree.of_digests(d, sort_leaves=False).dump() == theirs["dump"]
    assert MerkleTree.of_digests(d).root != MerkleTree.of_digests(d, sort_leaves=False).root


def test_leaf_hash_tree_is_the_js_simple_tree() -> None:
    leaves = [digest_leaf_hash(x) for x in digests(21)]
    ours = MerkleTree.from_leaf_hashes(leaves)
    out = js({"simpleOf": {"leaves": [hx(x) for x in leaves]}, "load": {"dump": ours.dump(), "proofs": [0, 20]}})
    assert ours.dump() == out["simpleOf"]["dump"]
    assert out["load"]["proofs"] == [[hx(p) for p in ours.proof(i)] for i in (0, 20)]
    # a certificate tree and the simple tree of its leaf hashes are the same tree
    assert ours.root == MerkleTree.of_digests(digests(21)).root


def test_digest_fast_path_is_the_abi_encoding() -> None:
    d = digests(3)
    for x in d:
        assert digest_leaf_hash(x) == leaf_hash([x], ["bytes32"]) == leaf_hash([hx(x)], ["bytes32"])


# -- proofs checked by the JS library ---------------------------------------------------------


def test_js_verifies_our_proofs_and_rejects_tampering() -> None:
    n = 3000
    d = digests(n, seed=7)
    tree = MerkleTree.of_digests(d)
    root = hx(tree.root)
    picks = list(range(0, n, 97)) + [n - 1]
    good = [{"value": [hx(d[i])], "proof": [hx(p) for p in tree.proof(i)]} for i in picks]
    bad = []
    for i in picks[:10]:
        proof = tree.proof(i)
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


def test_js_loads_our_dump_and_makes_our_proofs() -> None:
    tree = MerkleTree.of([["0x" + f"{i:040x}", str(i)] for i in range(50)], ["address", "uint256"])
    out = js({"load": {"dump": tree.dump(), "proofs": list(range(50))}})["load"]
    assert out["root"] == hx(tree.root)
    assert out["proofs"] == [[hx(p) for p in tree.proof(i)] for i in range(50)]


def test_js_refuses_an_altered_dump_of_ours() -> None:
    dump = MerkleTree.of_digests(digests(10)).dump()
    dump["values"][3]["value"] = ["0x" + "00" * 32]
    assert "error" in js({"load": {"dump": dump}})["load"]


def test_we_load_a_js_dump() -> None:
    values = [["0x" + f"{i:040x}", str(3 * i)] for i in range(17)]
    dump = js({"of": {"values": values, "encoding": ["address", "uint256"]}})["of"]["dump"]
    tree = MerkleTree.load(dump)
    assert tree.dump() == dump
    assert verify(tree.root, leaf_hash(values[4], ["address", "uint256"]), tree.proof(4))


# -- our own proofs ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 6, 3 * 4096 + 5])
def test_iter_proofs_gives_every_proof_once(n: int) -> None:
    tree = MerkleTree.of_digests(digests(n))
    seen = dict(tree.iter_proofs())
    assert len(seen) == n
    assert all(seen[i] == tree.proof_bytes(i) for i in range(n))


def test_proofs_verify_in_python_and_reject_tampering() -> None:
    d = digests(1000)
    tree = MerkleTree.of_digests(d)
    for i in (0, 1, 500, 999):
        leaf, blob = tree.leaf(i), tree.proof_bytes(i)
        assert leaf == digest_leaf_hash(d[i])
        assert split_proof(blob) == tree.proof(i) == split_proof(hx(blob))
        assert split_proof([hx(p) for p in tree.proof(i)]) == tree.proof(i)
        assert verify(tree.root, leaf, blob) and verify(hx(tree.root), hx(leaf), tree.proof(i))
        assert process_proof(leaf, blob) == tree.root
        assert not verify(tree.root, flip(leaf), blob)
        assert not verify(tree.root, leaf, flip(blob, len(blob) - 1))
        assert not verify(tree.root, tree.leaf((i + 1) % 1000), blob)
    assert len(tree.proof_bytes(0)) in (32 * 9, 32 * 10)


def test_single_leaf_tree_has_empty_proof() -> None:
    d = digests(1)
    tree = MerkleTree.of_digests(d)
    assert tree.root == digest_leaf_hash(d[0]) and tree.proof_bytes(0) == b""
    assert verify(tree.root, tree.leaf(0), b"")


# -- bad input ------------------------------------------------------------------------------


def code_of(excinfo: pytest.ExceptionInfo[Any]) -> str:
    return excinfo.value.code


@pytest.mark.parametrize(
    "build",
    [
        lambda: MerkleTree.of_digests([]),
        lambda: MerkleTree.of([], ["bytes32"]),
        lambda: MerkleTree.from_leaf_hashes([]),
    ],
)
def test_empty_batch(build: Any) -> None:
    with pytest.raises(BadInput) as e:
        build()
    assert code_of(e) == "empty_batch" and "at least one leaf" in e.value.message


def test_too_many_leaves() -> None:
    with pytest.raises(TooLarge) as e:
        MerkleTree.of_digests([b"\0" * 32] * (MAX_LEAVES + 1))
    assert code_of(e) == "batch_too_large"


@pytest.mark.parametrize("node", [b"\1" * 31, b"\1" * 33, "0x" + "ab" * 31, "0xzz" + "00" * 31, 5])
def test_malformed_leaf_or_root(node: Any) -> None:
    good = b"\2" * 32
    for call in (lambda: verify(node, good, []), lambda: verify(good, node, []), lambda: as_node(node)):
        with pytest.raises(BadInput) as e:
            call()
        assert code_of(e) == "malformed_hash"
    with pytest.raises(BadInput) as e:
        MerkleTree.from_leaf_hashes([good, node])
    assert code_of(e) == "malformed_hash" and "leaf 1" in e.value.message


@pytest.mark.parametrize(
    "proof", [b"\1" * 33, "0x" + "ab" * 40, [b"\1" * 32, b"\1" * 31], ["0x12"], 7, "not hex", "0xgg"]
)
def test_proof_of_the_wrong_shape(proof: Any) -> None:
    with pytest.raises(BadInput) as e:
        verify(b"\1" * 32, b"\2" * 32, proof)
    assert code_of(e) == "malformed_proof"


def test_bad_values_and_encodings() -> None:
    with pytest.raises(BadInput) as e:
        MerkleTree.of_digests([b"\1" * 32, b"\1" * 20])
    assert code_of(e) == "bad_value" and "record digest 1" in e.value.message
    with pytest.raises(BadInput) as e:
        MerkleTree.of([["0x01"]], ["uint257"])
    assert code_of(e) == "bad_encoding"
    with pytest.raises(BadInput) as e:
        MerkleTree.of([["0x" + "00" * 20, "-1"]], ["address", "uint256"])
    assert code_of(e) == "bad_value"
    with pytest.raises(BadInput) as e:
        MerkleTree.of([["0x" + "00" * 20]], ["address", "uint256"])
    assert code_of(e) == "bad_value"
    with pytest.raises(BadInput) as e:
        leaf_hash(["seven"], ["uint256"])
    assert code_of(e) == "bad_value"


def test_lookups_out_of_tree() -> None:
    tree = MerkleTree.of_digests(digests(4))
    with pytest.raises(BadInput) as e:
        tree.proof(4)
    assert code_of(e) == "index_out_of_range"
    with pytest.raises(NotFound) as e2:
        tree.leaf_index([b"\x09" * 32])
    assert e2.value.code == "leaf_not_in_tree"
    assert tree.leaf_index([digests(4)[2]]) == 2


def test_altered_dump_is_refused() -> None:
    tree = MerkleTree.of_digests(digests(9))
    for alter in (
        lambda d: d["tree"].__setitem__(0, "0x" + "00" * 32),
        lambda d: d["tree"].__setitem__(3, "0x" + "11" * 32),
        lambda d: d["values"][0].__setitem__("value", ["0x" + "22" * 32]),
        lambda d: d["values"][0].__setitem__("treeIndex", d["values"][1]["treeIndex"]),
        lambda d: d.__setitem__("format", "standard-v2"),
        lambda d: d["tree"].pop(),
    ):
        dump = json.loads(json.dumps(tree.dump()))
        alter(dump)
        with pytest.raises(BadInput) as e:
            MerkleTree.load(dump)
        assert code_of(e) == "bad_dump", e.value.message


# -- scale ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_million_leaves_with_all_proofs() -> None:
    """The largest batch builds and every proof has the right depth; its speed is benchmarks.chain's job."""
    d = [os.urandom(32) for _ in range(MAX_LEAVES)]
    tree = MerkleTree.of_digests(d)
    total = sum(len(p) for _, p in tree.iter_proofs())
    assert total in range(19 * 32 * MAX_LEAVES, 20 * 32 * MAX_LEAVES + 1)
    assert verify(tree.root, digest_leaf_hash(d[123_456]), tree.proof_bytes(123_456))
