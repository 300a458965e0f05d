#!/usr/bin/env bash
# Start the local IPFS node (js-ipfs) offline, listening on loopback only.
#   hardhat-local/ipfs.sh REPO_DIR API_PORT GATEWAY_PORT [RPC_PORT]
# The repo is created on first start; on later starts its addresses are rewritten to the given
# ports, so one repo serves both the dev stack (fixed ports) and tests (free ports).
# Production speaks the same Kubo RPC API to Kubo nodes; this script is for local use only.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if (($# < 3)); then
  sed -n '3p' "$0" >&2
  exit 2
fi
repo="$(mkdir -p "$1" && cd "$1" && pwd)"
api_port="$2" gateway_port="$3" rpc_port="${4:-$(($2 + 2))}"
jsipfs="$here/node_modules/.bin/jsipfs"
if [[ ! -x $jsipfs ]]; then
  echo "ipfs.sh: $jsipfs is missing; run ./dev setup (npm installs js-ipfs into hardhat-local)" >&2
  exit 1
fi

# Offline, loopback-only addresses; applied to a new repo (init config) and an existing one.
config="$repo.init-config.json"
API_PORT="$api_port" GATEWAY_PORT="$gateway_port" RPC_PORT="$rpc_port" REPO="$repo" CONFIG="$config" node -e '
const fs = require("fs");
const e = process.env;
const addresses = {
  Swarm: [], Announce: [], NoAnnounce: [], Delegates: [],
  API: `/ip4/127.0.0.1/tcp/${e.API_PORT}`,
  Gateway: `/ip4/127.0.0.1/tcp/${e.GATEWAY_PORT}`,
  RPC: `/ip4/127.0.0.1/tcp/${e.RPC_PORT}`,
};
const settings = { Addresses: addresses, Bootstrap: [],
  Discovery: { MDNS: { Enabled: false }, webRTCStar: { Enabled: false } } };
fs.writeFileSync(e.CONFIG, JSON.stringify(settings));
const existing = `${e.REPO}/config`;
if (fs.existsSync(existing)) {
  const cfg = JSON.parse(fs.readFileSync(existing, "utf8"));
  Object.assign(cfg, settings, { Discovery: { ...cfg.Discovery, ...settings.Discovery } });
  fs.writeFileSync(existing, JSON.stringify(cfg, null, 2));
}
'

export NO_UPDATE_NOTIFIER=1 IPFS_PATH="$repo"
exec "$jsipfs" daemon --offline --init-profile test --init-config "$config"
