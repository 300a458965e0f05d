"""Department electronic seals: the city seal authority, record seals (CMS / GB/T 38540), PDF seals.

See signer/README.md for the formats and the choices behind them. May import ``ledger.core`` only.
"""
