"""CIDv1 of a document, computed without a node, exactly as an IPFS node's ``add`` would.

The service must know a document's CID before it trusts a node's answer, so it rebuilds the
UnixFS DAG that Kubo (and js-ipfs) build with ``cid-version=1`` (raw leaves, sha2-256,
256 KiB fixed-size chunks, balanced layout with 174 links per node) and hashes it. Only the root
is returned; no block is kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from multiformats import CID

from ledger.core.errors import BadInput

CHUNK_SIZE = 262_144
MAX_LINKS = 174

_UNIXFS_FILE = 2


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A protobuf length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _uint_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


@dataclass(frozen=True)
class _Node:
    cid: CID
    file_size: int  # bytes of the document under this node
    tree_size: int  # bytes of every block under this node (dag-pb "Tsize")


def _raw_leaf(chunk: bytes) -> _Node:
    cid = CID("base32", 1, "raw", ("sha2-256", hashlib.sha256(chunk).digest()))
    return _Node(cid, len(chunk), len(chunk))


def _file_node(children: list[_Node]) -> _Node:
    """A dag-pb node holding UnixFS File metadata and links to ``children``, in canonical order."""
    unixfs = _uint_field(1, _UNIXFS_FILE) + _uint_field(3, sum(c.file_size for c in children))
    unixfs += b"".join(_uint_field(4, c.file_size) for c in children)
    links = b"".join(
        _field(2, _field(1, bytes(c.cid)) + _field(2, b"") + _uint_field(3, c.tree_size)) for c in children
    )
    block = links + _field(1, unixfs)
    cid = CID("base32", 1, "dag-pb", ("sha2-256", hashlib.sha256(block).digest()))
    return _Node(cid, sum(c.file_size for c in children), len(block) + sum(c.tree_size for c in children))


def compute_cid(data: bytes, chunk_size: int = CHUNK_SIZE, max_links: int = MAX_LINKS) -> CID:
    """The CID ``ipfs add --cid-version=1 --chunker=size-<chunk_size>`` gives for ``data``.

    A document of at most one chunk is a single raw block; larger ones get a balanced tree,
    filled level by level in groups of ``max_links``.
    """
    if chunk_size < 1 or max_links < 2:
        raise BadInput("bad_dag_parameters", "chunk_size must be >= 1 and max_links >= 2")
    level = [_raw_leaf(data[i : i + chunk_size]) for i in range(0, len(data), chunk_size)] or [_raw_leaf(b"")]
    if len(level) == 1:
        return level[0].cid
    while len(level) > 1:
        level = [_file_node(level[i : i + max_links]) for i in range(0, len(level), max_links)]
    return level[0].cid


def parse_cid(value: str | bytes | CID) -> CID:
    """Decode a CID in any base (nodes answer in base32 or base58btc) so CIDs compare by value."""
    if isinstance(value, CID):
        return value
    try:
        return CID.decode(value)
    except (ValueError, KeyError) as exc:
        raise BadInput("bad_cid", f"{value!r} is not a CID: {exc}; pass a CID such as bafkrei...") from exc
