"""The local development stack: launchers of the chain (Anvil, Hardhat) and IPFS nodes, their supervisor, the
API as a child process, the demo data and ``LocalStack`` behind ``certledger up``. Used by the CLI, the tests
and the benchmarks; production code never imports it.
"""
