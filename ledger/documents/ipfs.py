"""Document storage in IPFS through the Kubo RPC API (Kubo + IPFS Cluster in production, js-ipfs locally).

The service never trusts the node's word for a CID: it computes each CID itself (ledger.documents.cid),
refuses a node that stores a document under another CID, and re-hashes every document it reads.

This is a thin httpx client, not ipfshttpclient 0.7.0, although that one works when constructed
directly: it is unmaintained (its ``connect()`` refuses every Kubo >= 0.8), warns on every request
under urllib3 2, cannot ask ``add_bytes`` for CIDv1/raw leaves, and either opens a connection per
request or shares one ``requests.Session``, which is not thread-safe; API workers share one store
across threads and httpx's pool is. Speed is the same within noise (the node is the bottleneck;
benchmarks/ipfs_store.py). Only RPC calls Kubo and js-ipfs share are used: add, cat, pin/ls, version.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Callable, Iterator, Sequence

import httpx
from multiformats import CID

from ledger.core.checks import Check, Status
from ledger.core.errors import BadInput, NotFound, ServiceUnavailable
from ledger.documents.cid import CHUNK_SIZE, compute_cid, parse_cid

log = logging.getLogger(__name__)


_ADD_PARAMS = {
    "cid-version": "1",
    "raw-leaves": "true",
    "hash": "sha2-256",
    "chunker": f"size-{CHUNK_SIZE}",
    "pin": "true",
}
_FIX = "start it with ./dev up, or set CERTLEDGER_IPFS_API to the node's RPC API address"


def api_base_url(api: str) -> str:
    """The RPC base URL for ``http://host:port`` or a multiaddr ``/ip4/host/tcp/port[/http]``."""
    if api.startswith("/"):
        parts = api.strip("/").split("/")
        if len(parts) < 4 or parts[0] not in ("ip4", "ip6", "dns", "dns4", "dns6") or parts[2] != "tcp":
            raise BadInput("bad_ipfs_api", f"{api!r} is not an API multiaddr like /ip4/127.0.0.1/tcp/5001")
        host = f"[{parts[1]}]" if parts[0] == "ip6" else parts[1]
        scheme = "https" if parts[4:5] == ["https"] else "http"
        api = f"{scheme}://{host}:{parts[3]}"
    if not api.startswith(("http://", "https://")):
        raise BadInput("bad_ipfs_api", f"{api!r} is not an IPFS API address like http://127.0.0.1:5001")
    return api.rstrip("/").removesuffix("/api/v0") + "/api/v0"


class IpfsStore:
    """Put and get documents by CID; one instance is safe to share between threads."""

    def __init__(
        self,
        api: str,
        timeout: float = 60.0,
        batch_files: int = 100,
        batch_bytes: int = 64 << 20,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        """``on_error(operation)`` hears of every failed call (the library counts them in its metrics)."""
        self.base_url = api_base_url(api)
        self._on_error = on_error or (lambda _operation: None)
        self.timeout = timeout
        self.batch_files = batch_files
        self.batch_bytes = batch_bytes
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> IpfsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, path: str, **kwargs: object) -> httpx.Response:
        """One RPC call; a node that does not answer, or answers with an error, is told to ``on_error``."""
        try:
            response = self._http.post(path, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError as exc:
            self._on_error(path.strip("/"))
            raise ServiceUnavailable(
                "ipfs_unavailable", f"the IPFS node at {self.base_url} does not answer ({exc}); {_FIX}"
            ) from exc
        if response.status_code != 200:
            try:
                message = response.json().get("Message", response.text)
            except ValueError:
                message = response.text
            self._on_error(path.strip("/"))
            raise _NodeError(path, response.status_code, message)
        return response

    def put(self, data: bytes) -> CID:
        """Store and pin ``data``; returns its CID, which the node must have agreed on."""
        return self.put_many([data])[0]

    def put_many(self, docs: Sequence[bytes]) -> list[CID]:
        """Store and pin many documents, several per request; CIDs in the order of ``docs``."""
        cids = [compute_cid(d) for d in docs]
        for start, end in self._batches(docs):
            try:
                response = self._call(
                    "/add",
                    params=_ADD_PARAMS,
                    files=[("file", (f"doc{i}", docs[i], "application/octet-stream")) for i in range(start, end)],
                )
            except _NodeError as exc:
                raise ServiceUnavailable("ipfs_error", f"the IPFS node refused to add documents: {exc}") from exc
            answered = [parse_cid(r["Hash"]) for r in _json_lines(response.text) if "Hash" in r]
            expected = cids[start:end]
            if Counter(answered) != Counter(expected):
                self._on_error("add_cid_mismatch")
                raise ServiceUnavailable(
                    "ipfs_cid_mismatch",
                    f"the IPFS node stored documents under {sorted(map(str, answered))} but the service computed "
                    f"{sorted(map(str, expected))}; configure the node's importer for CIDv1 with raw leaves, "
                    "sha2-256, 256 KiB chunks and 174 links per node (Kubo's legacy Import defaults)",
                )
        log.info("ipfs_put", extra={"documents": len(docs), "bytes": sum(map(len, docs))})
        return cids

    def _batches(self, docs: Sequence[bytes]) -> Iterator[tuple[int, int]]:
        start, size = 0, 0
        for i, doc in enumerate(docs):
            if i > start and (i - start >= self.batch_files or size + len(doc) > self.batch_bytes):
                yield start, i
                start, size = i, 0
            size += len(doc)
        if start < len(docs):
            yield start, len(docs)

    def get(self, cid: str | CID) -> bytes:
        """The document stored under ``cid``, after checking that it hashes to ``cid``."""
        cid = _own_cid(cid)
        try:
            # The node gives up first, so a missing document is told apart from a node that hangs.
            params = {"arg": str(cid), "timeout": f"{max(1, int(self.timeout))}s"}
            data = self._call("/cat", params=params, timeout=self.timeout + 5).content
        except _NodeError as exc:
            if "timed out" in exc.message or "not found" in exc.message:
                raise NotFound(
                    "document_not_in_ipfs",
                    f"the IPFS node cannot find {cid} ({exc.message}); re-pin it from a backup or another cluster peer",
                    cid=str(cid),
                ) from exc
            raise ServiceUnavailable("ipfs_error", f"the IPFS node could not read {cid}: {exc}") from exc
        if compute_cid(data) != cid:
            self._on_error("cat_content_mismatch")
            raise ServiceUnavailable(
                "ipfs_content_mismatch",
                f"the IPFS node returned {len(data)} bytes for {cid} that do not hash to it; "
                "the node's store is corrupt: repair or replace it",
                cid=str(cid),
            )
        return data

    def pin_check(self, cid: str | CID) -> bool:
        """Whether the node keeps ``cid`` pinned (so garbage collection cannot drop it)."""
        cid = parse_cid(cid)
        try:
            keys = self._call("/pin/ls", params={"arg": str(cid), "type": "recursive"}).json().get("Keys", {})
        except _NodeError as exc:
            if "not pinned" in exc.message:
                return False
            raise ServiceUnavailable("ipfs_error", f"the IPFS node could not list pins: {exc}") from exc
        return any(parse_cid(k) == cid for k in keys)

    def health(self) -> Check:
        """A check the health endpoint can show: VALID with the node's version, or ERROR."""
        try:
            version = self._call("/version").json()
        except (ServiceUnavailable, _NodeError) as exc:
            return Check("ipfs", Status.ERROR, "ipfs_unavailable", str(exc), {"api": self.base_url})
        return Check(
            "ipfs", Status.VALID, "ipfs_ok", "the IPFS node answers", {"api": self.base_url, "version": version.get("Version")}
        )


class _NodeError(Exception):
    """The node answered with an RPC error; callers turn it into a CertledgerError."""

    def __init__(self, path: str, status: int, message: str) -> None:
        super().__init__(f"{path} answered {status}: {message}")
        self.message = message


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _own_cid(value: str | CID) -> CID:
    cid = parse_cid(value)
    if cid.version != 1 or cid.codec.name not in ("raw", "dag-pb") or cid.hashfun.name != "sha2-256":
        raise BadInput(
            "unsupported_cid",
            f"{cid} was not made by this service (it stores CIDv1 raw/dag-pb sha2-256 documents only)",
        )
    return cid


