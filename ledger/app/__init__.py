"""The service context: ``Library`` wires database, chain, IPFS, document keys and seal keys from the
environment (``config``); structured logs; onboarding of organisations (chain accounts, seals, API keys).
May import every layer below: chain, documents, storage, signer, core.
"""
