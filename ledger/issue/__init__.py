"""What departments and associations write: issuance (validate, identify, seal, store, queue), the
anchoring worker, status changes, new versions, history, and association report summaries. May import
``ledger.verify`` and below; not ``ledger.holders``.
"""
