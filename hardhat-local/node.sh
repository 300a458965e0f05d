#!/usr/bin/env bash
# Start the local Hardhat node on loopback: ./node.sh [PORT] (default 8545).
# HARDHAT_MINING_INTERVAL_MS=N mines a block every N ms instead of one per transaction.
# The node keeps its chain in memory only: a restart is an empty chain (anvil.sh keeps its state).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port="${1:-8545}"
state="${HARDHAT_STATE_DIR:-$here/../var/hardhat-home}"
mkdir -p "$state"
export HOME="$state" XDG_CONFIG_HOME="$state/config" XDG_CACHE_HOME="$state/cache" XDG_DATA_HOME="$state/data"
export HARDHAT_DISABLE_TELEMETRY_PROMPT=true NO_UPDATE_NOTIFIER=1
cd "$here"
exec node_modules/.bin/hardhat node --hostname 127.0.0.1 --port "$port"
