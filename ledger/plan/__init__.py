"""The city plan's targets, measured live for the platform administrator: the figures (``targets``), the counters'
verifications counted in process and flushed in batches (``verifications``), the CSV export (``export``) and the
monthly report anchored by the audit writer (``monthly``).

It reads the count tables of ``ledger.storage.tallies`` (never the certificates themselves) and may import
``ledger.holders`` and ``ledger.issue`` (the audit writer, the anchoring worker) and everything below them; the API,
the development stack and the command line use it.
"""
