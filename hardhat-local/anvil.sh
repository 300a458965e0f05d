#!/usr/bin/env bash
# Start the local Anvil chain on loopback, keeping its own state: ./anvil.sh STATE_DIR [PORT] (default 8545).
#
# Anvil loads STATE_DIR/state.json (the last complete state) and rewrites STATE_DIR/state.next.json
# every ANVIL_STATE_INTERVAL seconds (default 1) and when it exits on SIGTERM/SIGINT. It writes that
# file in place (truncate, then write; no rename, no fsync), so a kill -9 during a write leaves it cut
# short and Anvil would refuse to start from it. So at each start a state.next.json that parses
# replaces state.json (a rename); one that does not is set aside as state.next.json.corrupt-TIME and
# the chain starts from state.json, the state of the previous start.
# A kill -9 loses the blocks mined since the last write (at most ANVIL_STATE_INTERVAL seconds plus
# one write); SIGTERM loses nothing. Stop the node with SIGTERM and wait for it to exit.
#
# ANVIL_BLOCK_TIME=S mines a block every S seconds (fractions allowed) instead of one per transaction.
# CERTLEDGER_CHAIN_ID sets the chain id (default 31337). Settings match hardhat.config.js.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if (($# < 1)); then
  sed -n '2p' "$0" >&2
  exit 2
fi
dir="$(mkdir -p "$1" && cd "$1" && pwd)"
port="${2:-8545}"
anvil="$here/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
case "$(uname -s)-$(uname -m)" in
  Linux-aarch64) anvil="$here/node_modules/@foundry-rs/anvil-linux-arm64/bin/anvil" ;;
  Darwin-arm64) anvil="$here/node_modules/@foundry-rs/anvil-darwin-arm64/bin/anvil" ;;
  Darwin-x86_64) anvil="$here/node_modules/@foundry-rs/anvil-darwin-amd64/bin/anvil" ;;
esac
if [[ ! -x $anvil ]]; then
  echo "anvil.sh: $anvil is missing; run ./dev setup (npm installs @foundry-rs/anvil into hardhat-local)" >&2
  exit 1
fi

state="$dir/state.json" next="$dir/state.next.json"
if [[ -e $next ]]; then
  if node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$next" 2>/dev/null; then
    mv -f "$next" "$state"
  else
    aside="$next.corrupt-$(date -u +%Y%m%dT%H%M%SZ)"
    mv "$next" "$aside"
    echo "anvil.sh: $next was cut short (the node was killed while writing it); set aside as $aside." >&2
    echo "anvil.sh: starting from $state, the state of the previous start: blocks mined since then are lost." >&2
  fi
fi

args=(
  --host 127.0.0.1 --port "$port"
  --chain-id "${CERTLEDGER_CHAIN_ID:-31337}" --hardfork cancun
  # A permissioned network charges no gas: transactions are paid by membership, not ether.
  --base-fee 0 --gas-price 0 --disable-min-priority-fee --gas-limit 60000000
  --mnemonic "test test test test test test test test test test test junk" --accounts 10 --balance 10000
  --disable-default-create2-deployer
  # Keep 16 past states in memory (eth_call at recent blocks) and none on disk: by default Anvil
  # writes every older block's full state under ~/.foundry/anvil/tmp and never removes it.
  --prune-history 16 --cache-path "$dir/cache"
  --dump-state "$next" --state-interval "${ANVIL_STATE_INTERVAL:-1}"
  --color never
)
[[ -e $state ]] && args+=(--load-state "$state")
[[ -n ${ANVIL_BLOCK_TIME:-} ]] && args+=(--block-time "$ANVIL_BLOCK_TIME")
exec "$anvil" "${args[@]}"
