"""Pure rules, no I/O: errors, verification checks, identifiers (GB/T 36904), credit codes (GB 32100),
the record format, canonical JSON, Merkle trees, metadata (GB/T 36903), the catalogue's rules and status
codes. Imports nothing of certledger outside ``ledger.core``; it is the only part of ``ledger`` that
``signer`` may import.
"""
