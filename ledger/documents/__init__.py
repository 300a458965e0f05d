"""Documents: the IPFS store (Kubo RPC API), CIDs computed locally, the AES-256-GCM envelope that keeps
every document encrypted in IPFS, and the worker processes that render and seal PDFs. May import
``ledger.storage``, ``signer`` and ``ledger.core``.
"""
