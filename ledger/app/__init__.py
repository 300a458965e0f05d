"""The service context: ``Library`` wires database, chain, IPFS, document keys and seal keys from the
environment (``config``); structured logs and metrics; onboarding of organisations (chain accounts, seals, API
keys); the production processes' pieces: the workers' loop and chain guard, the indexer, platform setup, backup
and restore.
May import every layer below: chain, documents, storage, signer, core.
"""
