#!/usr/bin/env bash
# Apply deploy/ipfs/kubo-config.json to this host's Kubo repository, key by key.
#   usage: IPFS_PATH=/var/lib/ipfs apply-kubo-config.sh HOST_IP [CONFIG_JSON]
# HOST_IP is this host's address on the storage network (e.g. 10.20.2.11): the swarm listens and
# announces there only. Run it as the user that owns IPFS_PATH, with the daemon stopped.
# The private swarm key (swarm.key) is not made here: see docs/deployment.md, "Document storage".
set -euo pipefail

host_ip="${1:?usage: apply-kubo-config.sh HOST_IP [CONFIG_JSON]}"
config="${2:-$(dirname "$0")/kubo-config.json}"
: "${IPFS_PATH:?set IPFS_PATH to the Kubo repository}"

if [[ ! -f "$IPFS_PATH/swarm.key" ]]; then
  echo "no $IPFS_PATH/swarm.key: install the network's swarm key first (private network only)" >&2
  exit 1
fi

jq -r --arg ip "$host_ip" \
  'to_entries[] | [.key, (.value | tojson | gsub("@HOST_IP@"; $ip))] | @tsv' "$config" |
while IFS=$'\t' read -r key value; do
  ipfs config --json "$key" "$value"
done

echo "applied $config for $host_ip; start the daemon with LIBP2P_FORCE_PNET=1 IPFS_TELEMETRY=off, without --enable-gc"
