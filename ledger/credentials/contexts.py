"""The JSON-LD contexts our credentials use, packaged with the code and resolved offline.

A verifier must never fetch a context from the network while it checks a signature (a changed context
changes what was signed), so every context is a file in ``contexts/``: the W3C VC 2.0 context, the DID
and Multikey contexts of the DID documents, and ours for the GB/T 36903 fields (served by the platform at
``{public_url}/credentials/contexts/gbt36903/v1``; any URL with that path means this file).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ledger.core.errors import BadInput

VC_V2 = "https://www.w3.org/ns/credentials/v2"
DID_V1 = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
OUR_CONTEXT_PATH = "/credentials/contexts/gbt36903/v1"
_DIR = Path(__file__).with_name("contexts")
_FILES = {VC_V2: "credentials-v2.jsonld", DID_V1: "did-v1.jsonld", MULTIKEY_V1: "multikey-v1.jsonld"}
OUR_CONTEXT_FILE = "gbt36903-v1.jsonld"


def our_context_url(public_url: str) -> str:
    """Where this platform serves its GB/T 36903 context (and what its credentials name)."""
    return public_url.rstrip("/") + OUR_CONTEXT_PATH


@lru_cache(maxsize=8)
def context_document(name: str) -> dict[str, Any]:
    """A packaged context by file name."""
    return json.loads((_DIR / name).read_text("utf-8"))


def _file_for(url: str) -> str | None:
    if url in _FILES:
        return _FILES[url]
    if urlsplit(url).path == OUR_CONTEXT_PATH:
        return OUR_CONTEXT_FILE
    return None


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """pyld's document loader: packaged contexts only, never the network."""
    name = _file_for(url)
    if name is None:
        raise BadInput("jsonld_context_unknown", f"未知的 JSON-LD 上下文 / unknown JSON-LD context {url!r}: only the "
                       "packaged contexts are resolved (offline)", url=url)
    return {"contextUrl": None, "documentUrl": url, "document": context_document(name)}
