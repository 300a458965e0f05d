"""The permissioned chain, spoken to only over JSON-RPC: the client that signs and sends transactions
(``client``), the CertLedger contract (``contract``, ABI and bytecode in ``artifacts/``), encrypted chain
keys, the compiler and the event indexer. May import ``ledger.storage``,
``signer`` and ``ledger.core``.
"""
