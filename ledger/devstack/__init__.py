"""The local development stack: launchers of the Hardhat and IPFS nodes, the chain journal's replay, the
API as a child process, the demo data and ``LocalStack`` behind ``certledger up``. Used by the CLI, the
tests and the benchmarks; production code never imports it.
"""
