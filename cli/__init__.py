"""The ``certledger`` command line: the production processes and operations, the local stack, issuing,
verifying, lifecycle changes and the operator's commands (one module per group, ``cli.main`` gathers them). The top layer: it may import everything and nothing imports it.
"""
