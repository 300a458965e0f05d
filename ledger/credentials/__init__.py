"""Certificates in the standard formats: W3C Verifiable Credentials 2.0 with a Data Integrity proof
(``ecdsa-rdfc-2019``), Bitstring status lists, did:web documents of the departments, SD-JWT VC.

A layer beside ``ledger.issue`` and ``ledger.holders``: it reads what they stored (through
``ledger.verify``, ``ledger.app`` and ``ledger.storage``) and signs with the departments' seal keys
(``signer``); it never changes a certificate. See docs/credentials.md.
"""
