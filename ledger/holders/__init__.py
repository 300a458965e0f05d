"""Holders and their consent: holder tokens and certificate lists, use codes, counter intake for a
service item, service items and their materials, and the anchored access log of every use. May import
``ledger.verify`` and below; not ``ledger.issue``.
"""
