"""The ``certledger`` command line: the local stack, issuing, verifying, lifecycle changes and the
operator's commands. The top layer: it may import everything and nothing imports it.
"""
