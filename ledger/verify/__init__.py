"""Verification. ``fragments`` holds the named checks and the verdict; ``chain_facts`` what the chain
says, cached; ``bundle`` the proof-bundle format; ``stored`` stored items and their bundles;
``remembered`` per-worker VALID results; ``service`` the API's verifier; ``pdf`` a PDF handed in;
``standalone`` verification with nothing but a JSON-RPC endpoint. May import ``ledger.app`` and below.
"""
