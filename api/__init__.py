"""The FastAPI service: one router per audience (admin, departments, counters, holders, associations,
public), API-key and holder-token dependencies, Pydantic schemas, JSON errors. May import ``ledger`` (not
``ledger.devstack``) and ``signer``; nothing in ``ledger`` imports it.
"""
