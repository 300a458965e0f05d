"""The e-certificate library: everything between a department's request and a counter's verdict.

Sub-packages follow a certificate's flow, and each may import only the layers below it (the
contracts are in pyproject.toml, checked by ``lint-imports`` and tests/test_layout.py):

    devstack                      the local development stack (never imported by production code)
    holders | issue               holders, use codes, intake, access log  |  issuance, lifecycle, anchoring, reports
    verify                        fragments, chain facts, proof bundles, the service and standalone verifiers
    app                           the Library context, configuration, logs, onboarding
    chain | documents             JSON-RPC, the contract, keys  |  IPFS, CIDs, envelopes, PDF rendering
    storage                       tables, outbox, bulk inserts, serials, seal registry, migrations
    (signer)                      seals: the top-level ``signer`` package sits here
    core                          pure rules: errors, checks, identifiers, credit codes, records, Merkle trees
"""
