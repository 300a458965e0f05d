"""Merkle trees over certificate batches, node for node the trees of OpenZeppelin's merkle-tree.

A batch root is anchored on chain and every certificate keeps its proof, so the tree, its dump and
its proofs must match `@openzeppelin/merkle-tree` 1.0.8 (`StandardMerkleTree` / `SimpleMerkleTree`)
exactly: the contract checks proofs with OpenZeppelin's `MerkleProof` and third parties verify with
the JS library.  Layout (from the library's core.ts): leaves sorted by hash (stable), the tree an
array of 2n-1 nodes with leaf k of the sorted order at index 2n-2-k, node i = hash of its children
2i+1 and 2i+2, pairs hashed sorted.  A standard leaf is keccak256(keccak256(abi.encode(values))).

Everything runs on a flat list of 32-byte nodes: a proof is index arithmetic, and `iter_proofs`
produces every proof of a million-leaf batch without holding them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import eth_abi
from eth_abi.exceptions import EncodingError
from eth_abi.grammar import ABIType, BasicType, TupleType, parse
from sha3 import keccak_256

from ledger.core.errors import BadInput, NotFound, TooLarge

HASH_LEN = 32
MAX_LEAVES = 1_000_000
STANDARD_FORMAT = "standard-v1"
SIMPLE_FORMAT = "simple-v1"
DIGEST_ENCODING: tuple[str, ...] = ("bytes32",)
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


def verify(root: bytes | str, leaf: bytes | str, proof: bytes | str | Sequence[bytes | str]) -> bool:
    """Whether `proof` proves the leaf hash `leaf` under `root` (`MerkleProof.verify`)."""
    return process_proof(leaf, proof) == as_node(root, "root")


def leaf_hash(values: Sequence[Any], encoding: Sequence[str]) -> bytes:
    """`StandardMerkleTree`'s leaf: keccak256(keccak256(abi.encode(values))); values may be JSON-ish."""
    return _leaf_codec(_check_encoding(encoding))(values)[1]


def digest_leaf_hash(digest: bytes | str) -> bytes:
    """The leaf of a certificate record digest (encoding ["bytes32"]), as the contract computes it."""
    return keccak(keccak(as_node(digest, "record digest")))


def _check_encoding(encoding: Sequence[str]) -> tuple[str, ...]:
    if isinstance(encoding, str) or not isinstance(encoding, Sequence) or not encoding:
        raise BadInput(
            "bad_encoding", f"the leaf encoding is a non-empty list of ABI types such as ['bytes32'], not {encoding!r}"
        )
    for t in encoding:
        if not isinstance(t, str) or not eth_abi.is_encodable_type(t):
            raise BadInput(
                "bad_encoding",
                f"{t!r} in the leaf encoding is not a Solidity ABI type (e.g. 'bytes32', 'address', 'uint256')",
            )
    return tuple(encoding)


def _leaf_codec(types: tuple[str, ...]) -> Callable[[Any], tuple[list[Any], bytes]]:
    """A function from a (JSON-ish) value to (the value as eth_abi takes it, its leaf hash)."""
    parsed = [parse(t) for t in types]

    def codec(value: Any) -> tuple[list[Any], bytes]:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != len(types):
            raise BadInput(
                "bad_value", f"a leaf value is a list of {len(types)} item(s) matching the encoding {list(types)}, "
                f"not {value!r}"
            )
        args = [_from_json(v, t) for v, t in zip(value, parsed)]
        try:
            encoded = eth_abi.encode(types, args)
        except EncodingError as e:
            raise BadInput("bad_value", f"the value {value!r} does not fit the encoding {list(types)}: {e}") from None
        return args, keccak(keccak(encoded))

    return codec


def _from_json(value: Any, t: ABIType) -> Any:
    """What eth_abi takes, from what JSON (and the JS library's dumps) carries: hex bytes, decimal ints."""
    if t.is_array:
        if not isinstance(value, (list, tuple)):
            return value
        return [_from_json(v, t.item_type) for v in value]
    if isinstance(t, TupleType):
        if not isinstance(value, (list, tuple)) or len(value) != len(t.components):
            return value
        return tuple(_from_json(v, c) for v, c in zip(value, t.components))
    if isinstance(t, BasicType) and isinstance(value, str):
        try:
            if t.base == "bytes" and value[:2] in ("0x", "0X"):
                return bytes.fromhex(value[2:])
            if t.base in ("uint", "int"):
                return int(value, 16 if value[:2] in ("0x", "0X") else 10)
        except ValueError:
            raise BadInput(
                "bad_value",
                f"{value!r} is not a valid {t.to_type_str()} (bytes as 0x-hex, integers as decimal or 0x-hex)",
            ) from None
    return value


def _to_json(value: Any) -> Any:
    """Dump form of a value: the JS library refuses numbers, so integers become decimal strings."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "0x" + bytes(value).hex()
    if isinstance(value, bool) or isinstance(value, str) or value is None:
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def _check_count(n: int) -> None:
    if n == 0:
        raise BadInput("empty_batch", "a Merkle tree needs at least one leaf; do not anchor an empty batch")
    if n > MAX_LEAVES:
        raise TooLarge(
            "batch_too_large", f"a batch holds at most {MAX_LEAVES:,} leaves, this one has {n:,}; split it into batches"
        )


def _build_nodes(leaves: list[bytes], sort_leaves: bool) -> tuple[list[bytes], list[int]]:
    """The node array and `order` (order[k] = value index of the k-th leaf, stored at 2n-2-k)."""
    n = len(leaves)
    order = sorted(range(n), key=leaves.__getitem__) if sort_leaves else list(range(n))
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
    """A built tree: `StandardMerkleTree` when it has an encoding, else `SimpleMerkleTree` (leaf hashes)."""

    __slots__ = ("_nodes", "_order", "_values", "_encoding", "_wrapped", "_tree_index", "_lookup")

    def __init__(
        self,
        nodes: list[bytes],
        order: list[int],
        values: Sequence[Any],
        encoding: tuple[str, ...] | None,
        wrapped: bool,
    ) -> None:
        """Use `of`, `of_digests`, `from_leaf_hashes` or `load`."""
        self._nodes = nodes
        self._order = order
        self._values = values
        self._encoding = encoding
        self._wrapped = wrapped  # values are bare digests standing for [digest]
        self._tree_index: list[int] | None = None
        self._lookup: dict[bytes, int] | None = None

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def of(cls, values: Sequence[Sequence[Any]], encoding: Sequence[str], *, sort_leaves: bool = True) -> MerkleTree:
        """`StandardMerkleTree.of(values, encoding)`; each value is a list matching `encoding`."""
        types = _check_encoding(encoding)
        _check_count(len(values))
        if types == DIGEST_ENCODING:
            digests = []
            for i, v in enumerate(values):
                if isinstance(v, (str, bytes)) or not isinstance(v, Sequence) or len(v) != 1:
                    raise BadInput(
                        "bad_value", f"value {i} must be a one-item list [digest] for the encoding ['bytes32']: {v!r}"
                    )
                digests.append(v[0])
            return cls.of_digests(digests, sort_leaves=sort_leaves)
        codec = _leaf_codec(types)
        encoded = [codec(v) for v in values]
        nodes, order = _build_nodes([h for _, h in encoded], sort_leaves)
        return cls(nodes, order, [v for v, _ in encoded], types, wrapped=False)

    @classmethod
    def of_digests(cls, digests: Sequence[bytes | str], *, sort_leaves: bool = True) -> MerkleTree:
        """Fast path for certificate batches: `StandardMerkleTree.of([[d] for d in digests], ['bytes32'])`."""
        _check_count(len(digests))
        if not all(type(d) is bytes and len(d) == HASH_LEN for d in digests):
            digests = [_digest_value(d, i) for i, d in enumerate(digests)]
        k = keccak_256
        leaves = [k(k(d).digest()).digest() for d in digests]
        nodes, order = _build_nodes(leaves, sort_leaves)
        return cls(nodes, order, list(digests), DIGEST_ENCODING, wrapped=True)

    @classmethod
    def from_leaf_hashes(cls, leaves: Sequence[bytes | str], *, sort_leaves: bool = True) -> MerkleTree:
        """`SimpleMerkleTree.of(leaves)`: the leaves are already hashes and are used as they are."""
        _check_count(len(leaves))
        hashes = [as_node(x, f"leaf {i}") for i, x in enumerate(leaves)]
        nodes, order = _build_nodes(hashes, sort_leaves)
        return cls(nodes, order, hashes, None, wrapped=False)

    @classmethod
    def load(cls, dump: dict[str, Any]) -> MerkleTree:
        """A tree from `dump()` or from the JS library's `dump()`, checked node by node."""
        if not isinstance(dump, dict):
            raise BadInput("bad_dump", "a tree dump is a JSON object with format, tree and values")
        fmt = dump.get("format")
        if fmt not in (STANDARD_FORMAT, SIMPLE_FORMAT):
            raise BadInput(
                "bad_dump", f"unknown tree dump format {fmt!r}; expected {STANDARD_FORMAT!r} or {SIMPLE_FORMAT!r}"
            )
        if fmt == SIMPLE_FORMAT and dump.get("hash") == "custom":
            raise BadInput(
                "bad_dump", "this dump uses a custom node hash; only the standard sorted keccak256 pair hash is known"
            )
        tree, entries = dump.get("tree"), dump.get("values")
        if not isinstance(tree, list) or not isinstance(entries, list):
            raise BadInput("bad_dump", "a tree dump needs a 'tree' list of hex nodes and a 'values' list")
        _check_count(len(entries))
        if len(tree) != 2 * len(entries) - 1:
            raise BadInput(
                "bad_dump", f"a tree of {len(entries)} values has {2 * len(entries) - 1} nodes, not {len(tree)}"
            )
        nodes = [as_node(x, f"tree node {i}") for i, x in enumerate(tree)]
        n = len(entries)
        order = [-1] * n
        values: list[Any] = []
        for i, e in enumerate(entries):
            t = e.get("treeIndex") if isinstance(e, dict) else None
            if type(t) is not int or not n - 1 <= t <= 2 * n - 2 or order[2 * n - 2 - t] != -1:
                raise BadInput(
                    "bad_dump", f"value {i} has no valid treeIndex (a distinct leaf position, {n - 1} to {2 * n - 2})"
                )
            order[2 * n - 2 - t] = i
            values.append(e.get("value"))
        if fmt == STANDARD_FORMAT:
            types = _check_encoding(dump.get("leafEncoding") or [])
            codec = _leaf_codec(types)
            encoded = [codec(v) for v in values]
            leaves = [h for _, h in encoded]
            tree_obj = cls(nodes, order, [v for v, _ in encoded], types, wrapped=False)
        else:
            leaves = [as_node(v, f"value {i}") for i, v in enumerate(values)]
            tree_obj = cls(nodes, order, leaves, None, wrapped=False)
        for i, leaf in enumerate(leaves):
            if nodes[entries[i]["treeIndex"]] != leaf:
                raise BadInput("bad_dump", f"value {i} does not hash to the leaf at its treeIndex: the dump is altered")
        for i in range(n - 1):
            if nodes[i] != hash_pair(nodes[2 * i + 1], nodes[2 * i + 2]):
                raise BadInput("bad_dump", f"tree node {i} is not the hash of its children; the dump was altered")
        return tree_obj

    # -- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._order)

    @property
    def root(self) -> bytes:
        return self._nodes[0]

    @property
    def encoding(self) -> tuple[str, ...] | None:
        """The leaf encoding, or None for a tree of bare leaf hashes."""
        return self._encoding

    def value(self, i: int) -> Any:
        self._check_index(i)
        return [self._values[i]] if self._wrapped else self._values[i]

    def leaf(self, i: int) -> bytes:
        """The leaf hash of value `i` (what `MerkleProof.verify` takes as `leaf`)."""
        return self._nodes[self.tree_index(i)]

    def tree_index(self, i: int) -> int:
        """Where value `i` sits in the node array (the dump's `treeIndex`)."""
        self._check_index(i)
        if self._tree_index is None:
            last = 2 * len(self._order) - 2
            index = [0] * len(self._order)
            for k, v in enumerate(self._order):
                index[v] = last - k
            self._tree_index = index
        return self._tree_index[i]

    def leaf_index(self, value: Any) -> int:
        """The index of a value (for a simple tree: of a leaf hash); NotFound if it is not in the tree."""
        if self._encoding is None:
            h = as_node(value, "leaf hash")
        else:
            h = leaf_hash(value, self._encoding)
        if self._lookup is None:
            # Like the JS library's hashLookup: for a repeated value the last index wins.
            self._lookup = {self._nodes[self.tree_index(v)]: v for v in range(len(self._order))}
        try:
            return self._lookup[h]
        except KeyError:
            raise NotFound(
                "leaf_not_in_tree", f"{_to_json(value)!r} is not a leaf of the tree with root 0x{self.root.hex()}"
            ) from None

    def proof(self, i: int) -> list[bytes]:
        """The siblings from value `i`'s leaf up to the root, as `getProof(i)` and `MerkleProof` expect."""
        return self._siblings(self.tree_index(i))

    def proof_bytes(self, i: int) -> bytes:
        """`proof(i)` concatenated: the compact form kept per certificate (`split_proof` undoes it)."""
        return b"".join(self.proof(i))

    def iter_proofs(self) -> Iterator[tuple[int, bytes]]:
        """(value index, proof_bytes) for every leaf, subtree by subtree (not in value order), in bounded memory."""
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
        out = []
        while t:
            out.append(nodes[t + 1 if t & 1 else t - 1])
            t = (t - 1) >> 1
        return out

    def dump(self) -> dict[str, Any]:
        """The JS library's `dump()` of this tree: `StandardMerkleTree.load` / `SimpleMerkleTree.load` read it."""
        tree = ["0x" + x.hex() for x in self._nodes]
        entries = [{"value": _to_json(self.value(i)), "treeIndex": self.tree_index(i)} for i in range(len(self))]
        if self._encoding is None:
            return {"format": SIMPLE_FORMAT, "tree": tree, "values": entries}
        return {"format": STANDARD_FORMAT, "leafEncoding": list(self._encoding), "tree": tree, "values": entries}

    def _check_index(self, i: int) -> None:
        if type(i) is not int or not 0 <= i < len(self._order):
            n = len(self._order)
            raise BadInput("index_out_of_range", f"value index {i!r} is outside this tree of {n} values (0..{n - 1})")


def _digest_value(d: bytes | str, i: int) -> bytes:
    try:
        return as_node(d, f"record digest {i}")
    except BadInput as e:
        raise BadInput("bad_value", e.message) from None

