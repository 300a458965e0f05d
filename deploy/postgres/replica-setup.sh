#!/usr/bin/env bash
# Make this host (db-2) a synchronous streaming replica of db-1 with pg_basebackup.
#   usage (as root on db-2, PostgreSQL 15 installed, conf.d/certledger.conf from replica.conf):
#     replica-setup.sh [PRIMARY_HOST] [STANDBY_NAME]
# The replicator's password is read from ~postgres/.pgpass (0600): db-1:5432:replication:replicator:…
# On db-1 beforehand (locally committed, as no synchronous standby streams yet):
#   SET synchronous_commit = local; CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '…';
set -euo pipefail

primary="${1:-10.20.3.11}"
name="${2:-db_2}"                       # must match synchronous_standby_names on the primary
version=15
data="/var/lib/postgresql/$version/main"

systemctl stop "postgresql@$version-main"
if [[ -d "$data" ]]; then
  mv "$data" "$data.before-replica.$(date +%Y%m%d%H%M%S)"   # keep it; delete by hand once the replica runs
fi

runuser -u postgres -- pg_basebackup \
  --pgdata="$data" \
  --dbname="host=$primary user=replicator application_name=$name sslmode=verify-full sslrootcert=/etc/postgresql/ssl/root.crt" \
  --wal-method=stream \
  --write-recovery-conf \
  --slot="$name" --create-slot \
  --checkpoint=fast \
  --progress

systemctl start "postgresql@$version-main"
runuser -u postgres -- psql -Atc "SELECT status, sender_host FROM pg_stat_wal_receiver"
echo "on $primary: SELECT application_name, state, sync_state FROM pg_stat_replication; -- expect $name streaming sync"
