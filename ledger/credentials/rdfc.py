"""RDFC-1.0 canonical N-Quads of a JSON-LD document in safe mode: what canonicalisation would drop is refused.

JSON-LD silently drops what it cannot map to RDF: a property no context defines, a type or ``id`` that is not an
absolute IRI, a ``null`` ``@value``, a value with only ``@language``, a free-floating node. A signature over the
canonical form then does not cover it, so a claim added to a signed credential this way would still verify. The
Digital Bazaar libraries (and verifier-js, ``verifier-js/src/data_integrity.js``) canonicalise in "safe mode",
which refuses such documents; this is the same rule for pyld (3.0 and later: ``on_property_dropped``), raising
BadInput ``jsonld_invalid`` for every condition jsonld.js's safe mode refuses in a document:

- a key that expands to no absolute IRI (dropped property) and a blank-node predicate (``_:``);
- an ``@id`` or ``@type`` that is not an absolute IRI or a blank node (a relative reference);
- a value expansion drops: a scalar outside any property, a ``null`` ``@value``, an object with only
  ``@language``, an empty or ``@id``-only top-level object.
"""

from __future__ import annotations

import re
from typing import Any

from pyld import jsonld

from ledger.core.errors import BadInput

from .contexts import document_loader

# jsonld.js's isAbsolute (lib/url.js): a scheme or the blank-node prefix, then no white space
_ABSOLUTE = re.compile(r"^([A-Za-z][A-Za-z0-9+\-.]*|_):\S*$")


def _unsafe(what: str) -> BadInput:
    return BadInput("jsonld_invalid", f"JSON-LD 规范化会丢弃内容 / canonicalisation would drop or change {what}, "
                    "which the signature would then not cover: refused (safe mode)")


def _refuse_dropped(term: str | None) -> None:
    raise _unsafe(f"the property {term!r}, which no context defines")


class _SafeProcessor(jsonld.JsonLdProcessor):
    """pyld's processor that refuses, rather than drops, what expansion would leave out."""

    def __init__(self) -> None:
        super().__init__(on_property_dropped=_refuse_dropped)

    def _expand(self, active_ctx: Any, active_property: Any, element: Any, *args: Any, **kwargs: Any) -> Any:
        expanded = super()._expand(active_ctx, active_property, element, *args, **kwargs)
        if expanded is None and element is not None:
            raise _unsafe(f"the value {element!r}")
        return expanded


def _check_expanded(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _check_expanded(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "@value":
            continue  # a literal (JSON literals included): nothing in it is an IRI
        if key.startswith("_:"):
            raise _unsafe(f"the blank-node property {key!r}")
        if key in ("@id", "@type"):
            for iri in value if isinstance(value, list) else [value]:
                if iri != "@json" and not (isinstance(iri, str) and _ABSOLUTE.match(iri)):
                    raise _unsafe(f"the {key} {iri!r}, which is not an absolute IRI")
        else:
            _check_expanded(value)


def canonical_nquads(document: dict[str, Any]) -> str:
    """RDFC-1.0 (URDNA2015) canonical N-Quads, contexts resolved offline (BadInput ``jsonld_context_unknown``),
    in safe mode (BadInput ``jsonld_invalid`` for anything canonicalisation would drop)."""
    expanded = _SafeProcessor().expand(document, {"documentLoader": document_loader, "base": None})
    _check_expanded(expanded)
    return jsonld.normalize(expanded, {"algorithm": "URDNA2015", "format": "application/n-quads",
                                       "documentLoader": document_loader})
