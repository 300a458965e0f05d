// Hardhat: the second local EVM (the chain-facing tests run on it and on Anvil, the default local chain).
// Offline: Hardhat's compiler download is replaced by the pinned npm `solc` package, the same compiler
// version and settings as ledger/compiler.py.
const path = require("path");
const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");

const SOLC_VERSION = "0.8.30";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args, hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper();
  const solc = require("solc");
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: solc.version(),
  };
});

const interval = parseInt(process.env.HARDHAT_MINING_INTERVAL_MS || "0", 10);

/** @type import('hardhat/config').HardhatUserConfig */
module.exports = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      optimizer: { enabled: true, runs: 10000 },
      evmVersion: "cancun",
      metadata: { appendCBOR: false },
    },
  },
  paths: {
    sources: path.join(__dirname, "contracts"), // a link to ../contracts
    cache: path.join(__dirname, "cache"),
    artifacts: path.join(__dirname, "artifacts"),
  },
  networks: {
    hardhat: {
      chainId: parseInt(process.env.CERTLEDGER_CHAIN_ID || "31337", 10),
      hardfork: "cancun",
      // A permissioned network charges no gas: transactions are paid by membership, not ether.
      initialBaseFeePerGas: 0,
      gasPrice: 0,
      blockGasLimit: 60_000_000,
      accounts: {
        mnemonic: "test test test test test test test test test test test junk",
        count: 10,
        accountsBalance: "10000000000000000000000",
      },
      // Blocks carry the wall-clock second they are mined in, never a later one: without this, Hardhat
      // stamps each block at least one second after the previous, so a burst of blocks runs ahead of
      // the clock and anchors look later than they were (a seal compromise reported just after them
      // would void them).
      allowBlocksWithSameTimestamp: true,
      mining: interval > 0 ? { auto: false, interval } : { auto: true },
    },
  },
};
