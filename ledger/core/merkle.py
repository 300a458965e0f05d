"""Merkle trees over anchored batches, node for node the trees of OpenZeppelin's merkle-tree.

A batch root is anchored on chain and every item keeps its proof, so the root and the proofs must
match `@openzeppelin/merkle-tree` 1.0.8 (`StandardMerkleTree.of(values, ["bytes32"])`, equally
`SimpleMerkleTree.of(leaves)`) exactly: the contract checks proofs with OpenZeppelin's `MerkleProof`
and third parties verify with the JS library.  Layout (from the library's core.ts): leaves sorted by hash (stable), the tree an
array of 2n-1 nodes with leaf k of the sorted order at index 2n-2-k, node i = hash of its children
2i+1 and 2i+2, pairs hashed sorted.  A standard leaf is keccak256(keccak256(abi.encode(values))).

Everything runs on a flat list of 32-byte nodes: a proof is index arithmetic, and `iter_proofs`
produces every proof of a million-leaf batch without holding them all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sha3 import keccak_256

from ledger.core.errors import BadInput, TooLarge

HASH_LEN = 32
MAX_LEAVES = 1_000_000
# Proofs are expanded one subtree of about 2**_SUBTREE_DEPTH leaves at a time: a few MB live at once.
_SUBTREE_DEPTH = 12


def keccak(data: bytes) -> bytes:
    return keccak_256(data).digest()


def hash_pair(a: bytes, b: bytes) -> bytes:
    """OpenZeppelin's `Hashes.commutativeKeccak256`: the smaller node goes first."""
    return keccak_256(a + b if a < b else b + a).digest()


def as_node(node: bytes | str, what: str = "hash") -> bytes:
    """A 32-byte node (leaf hash, root or proof element) from bytes or 0x-hex."""
    if isinstance(node, str):
        text = node[2:] if node[:2] in ("0x", "0X") else node
        try:
            node = bytes.fromhex(text)
        except ValueError:
            raise BadInput(
                "malformed_hash", f"the {what} {node!r} is not hex; give 32 bytes as 0x followed by 64 hex digits"
            ) from None
    if not isinstance(node, (bytes, bytearray, memoryview)):
        raise BadInput("malformed_hash", f"the {what} must be 32 bytes or a 0x-hex string, not {type(node).__name__}")
    node = bytes(node)
    if len(node) != HASH_LEN:
        raise BadInput(
            "malformed_hash", f"the {what} is {len(node)} bytes long; a Merkle node is exactly 32 bytes (keccak256)"
        )
    return node


def split_proof(proof: bytes | str | Sequence[bytes | str]) -> list[bytes]:
    """A proof as a list of 32-byte siblings, from the concatenated form or a list (bytes or hex)."""
    if isinstance(proof, str) and proof[:2] in ("0x", "0X"):
        try:
            proof = bytes.fromhex(proof[2:])
        except ValueError:
            raise BadInput(
                "malformed_proof", "the proof is not hex; give the concatenated 32-byte siblings as 0x-hex"
            ) from None
    if isinstance(proof, (bytes, bytearray, memoryview)):
        proof = bytes(proof)
        if len(proof) % HASH_LEN:
            raise BadInput(
                "malformed_proof",
                f"a concatenated proof is a multiple of 32 bytes long, this one is {len(proof)}: "
                "it is truncated or not a proof",
            )
        return [proof[o : o + HASH_LEN] for o in range(0, len(proof), HASH_LEN)]
    if isinstance(proof, str) or not isinstance(proof, Sequence):
        raise BadInput(
            "malformed_proof", f"a proof is a list of 32-byte hashes or their concatenation, not {type(proof).__name__}"
        )
    return [_proof_element(p, i) for i, p in enumerate(proof)]


def _proof_element(p: bytes | str, i: int) -> bytes:
    try:
        return as_node(p, f"proof element {i}")
    except BadInput as e:
        raise BadInput("malformed_proof", e.message) from None


def process_proof(leaf: bytes | str, proof: bytes | str | Sequence[bytes | str]) -> bytes:
    """The root a proof leads to from a leaf hash (`MerkleProof.processProof`)."""
    node = as_node(leaf, "leaf hash")
    for sibling in split_proof(proof):
        node = hash_pair(node, sibling)
    return node


def digest_leaf_hash(digest: bytes | str) -> bytes:
    """The leaf of a record digest (`StandardMerkleTree` leaf of encoding ["bytes32"]), as the contract computes it."""
    return keccak(keccak(as_node(digest, "record digest")))


def _check_count(n: int) -> None:
    if n == 0:
        raise BadInput("empty_batch", "a Merkle tree needs at least one leaf; do not anchor an empty batch")
    if n > MAX_LEAVES:
        raise TooLarge(
            "batch_too_large", f"a batch holds at most {MAX_LEAVES:,} leaves, this one has {n:,}; split it into batches"
        )


def _build_nodes(leaves: list[bytes]) -> tuple[list[bytes], list[int]]:
    """The node array and `order` (order[k] = index of the k-th leaf by hash, stored at 2n-2-k)."""
    n = len(leaves)
    order = sorted(range(n), key=leaves.__getitem__)
    nodes: list[bytes] = [b""] * (n - 1)
    nodes.extend([leaves[i] for i in reversed(order)])
    k = keccak_256
    hi = n - 2
    while hi >= 0:
        # One heap level at a time: its children form one contiguous, already computed slice.
        lo = (1 << ((hi + 1).bit_length() - 1)) - 1
        children = nodes[2 * lo + 1 : 2 * hi + 3]
        pairs = zip(children[0::2], children[1::2])
        nodes[lo : hi + 1] = [k(a + b if a < b else b + a).digest() for a, b in pairs]
        hi = lo - 1
    return nodes, order


class MerkleTree:
    """A tree of leaf hashes (`SimpleMerkleTree.of(leaves)`; a certificate's leaf is ``digest_leaf_hash``)."""

    __slots__ = ("_nodes", "_order")

    def __init__(self, leaves: Sequence[bytes | str]) -> None:
        _check_count(len(leaves))
        self._nodes, self._order = _build_nodes([as_node(x, f"leaf {i}") for i, x in enumerate(leaves)])

    @property
    def root(self) -> bytes:
        return self._nodes[0]

    @property
    def nodes(self) -> list[bytes]:
        """The node array (root first, the leaves last in the library's order): what a proof is read from."""
        return self._nodes

    def leaf_nodes(self) -> list[int]:
        """Where each leaf (in the order given) sits in :attr:`nodes`."""
        last = len(self._nodes) - 1
        where = [0] * len(self._order)
        for k, i in enumerate(self._order):
            where[i] = last - k
        return where

    def iter_proofs(self) -> Iterator[tuple[int, bytes]]:
        """(leaf index, concatenated proof) for every leaf, subtree by subtree (not in leaf order), in bounded memory."""
        nodes = self._nodes
        n = len(self._order)
        total = 2 * n - 1
        first_leaf = n - 1
        last = 2 * n - 2
        order = self._order
        depth = total.bit_length() - 1  # depth of the deepest leaves
        top = max(0, depth - _SUBTREE_DEPTH)
        for r in range((1 << top) - 1, min((1 << (top + 1)) - 1, total)):
            a, level = r, [b"".join(self._siblings(r))]
            while level:
                if a >= first_leaf:
                    for j, p in enumerate(level):
                        yield order[last - a - j], p
                    break
                # Children of nodes a .. a+m-1 are 2a+1 .. 2a+2m: the lower part internal, the upper leaves.
                m = len(level)
                children = nodes[2 * a + 1 : 2 * a + 2 * m + 1]
                pairs = zip(children[0::2], children[1::2], level)
                level = [x for left, right, up in pairs for x in (right + up, left + up)]
                a = 2 * a + 1
                if a + m * 2 > first_leaf > a:
                    cut = first_leaf - a
                    for j, p in enumerate(level[cut:]):
                        yield order[last - first_leaf - j], p
                    level = level[:cut]

    def _siblings(self, t: int) -> list[bytes]:
        nodes = self._nodes
        return [nodes[i] for i in sibling_nodes(t)]


def sibling_nodes(t: int) -> list[int]:
    """The indices in a tree's node array of the proof of the node at ``t``, from its sibling up to the root's
    children."""
    out = []
    while t:
        out.append(t + 1 if t & 1 else t - 1)
        t = (t - 1) >> 1
    return out
