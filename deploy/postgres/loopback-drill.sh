#!/usr/bin/env bash
# Run this directory's PostgreSQL files on one machine, on loopback, to see what they do:
# primary.conf + pg_hba.conf on a primary, replica-setup.sh's pg_basebackup call for a synchronous
# standby with replica.conf, certledger's migrations through a two-host DATABASE_URL, a commit while
# the standby is down, and a failover. Addresses and paths are swapped for loopback ones with sed, and
# shared_buffers cut to 128 MB (two servers on one machine); every other setting is the file's own.
# Nothing listens beyond 127.0.0.1; all is removed at the end.
#   usage (as root; uses the postgres account):  deploy/postgres/loopback-drill.sh
#   PG_BIN   PostgreSQL server binaries (default /usr/lib/postgresql/15/bin, Debian 12)
#   PYTHON   a Python with certledger installed (default: .venv/bin/python of this repository)
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"
python="${PYTHON:-$repo/.venv/bin/python}"
p1=55432 p2=55433
d="$(mktemp -d /tmp/certledger-pg-drill.XXXXXX)"
as_pg() { runuser -u postgres -- "$@"; }
ms() { date +%s%3N; }
cleanup() {
  for db in db1 db2; do
    [[ -f "$d/$db/postmaster.pid" ]] && as_pg "$bin/pg_ctl" -D "$d/$db" -m immediate -w stop >/dev/null 2>&1 || true
  done
  rm -rf "$d"
}
trap cleanup EXIT

# a throwaway CA and a server certificate for 127.0.0.1, so sslmode=verify-full is exercised
mkdir -p "$d/ssl" "$d/archive1" "$d/archive2"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=drill-root \
  -keyout "$d/ssl/root.key" -out "$d/ssl/root.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
  -keyout "$d/ssl/server.key" -out "$d/ssl/server.csr" 2>/dev/null
openssl x509 -req -in "$d/ssl/server.csr" -CA "$d/ssl/root.crt" -CAkey "$d/ssl/root.key" -CAcreateserial \
  -days 1 -extfile <(printf 'subjectAltName=IP:127.0.0.1\n') -out "$d/ssl/server.crt" 2>/dev/null
chmod 600 "$d/ssl/server.key"
head -c 24 /dev/urandom | base64 > "$d/superuser-password"
printf '127.0.0.1:%s:replication:replicator:rep-pw\n' "$p1" > "$d/pgpass"
chmod 600 "$d/pgpass"
chown -R postgres "$d"

as_pg "$bin/initdb" -D "$d/db1" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
  --pwfile="$d/superuser-password" >/dev/null
sed -e "s#'10.20.3.11'#'127.0.0.1'#" -e "s#^port = 5432#port = $p1#" \
    -e "s#/etc/postgresql/ssl/db-1#$d/ssl/server#" -e "s#/srv/pg-wal-archive#$d/archive1#g" \
    -e "s#^shared_buffers = .*#shared_buffers = '128MB'#" \
    "$repo/deploy/postgres/primary.conf" > "$d/db1/certledger.conf"
printf "include 'certledger.conf'\nunix_socket_directories = '%s'\n" "$d" >> "$d/db1/postgresql.conf"
sed -e "s#10.20.[13].1[12]/32#127.0.0.1/32#" "$repo/deploy/postgres/pg_hba.conf" > "$d/db1/pg_hba.conf"
chown -R postgres "$d/db1"
as_pg "$bin/pg_ctl" -D "$d/db1" -l "$d/db1.log" -w start >/dev/null

# Until a synchronous standby streams, every commit on the primary waits for it: set up locally.
as_pg env PGOPTIONS="-c synchronous_commit=local" psql -h "$d" -p "$p1" -U postgres -q \
  -c "CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD 'rep-pw'" \
  -c "CREATE ROLE certledger LOGIN PASSWORD 'app-pw'" \
  -c "CREATE DATABASE certledger OWNER certledger"

t=$(ms)
as_pg env PGPASSFILE="$d/pgpass" "$bin/pg_basebackup" --pgdata="$d/db2" \
  --dbname="host=127.0.0.1 port=$p1 user=replicator application_name=db_2 sslmode=verify-full sslrootcert=$d/ssl/root.crt" \
  --wal-method=stream --write-recovery-conf --slot=db_2 --create-slot --checkpoint=fast
echo "pg_basebackup: $(( $(ms) - t )) ms"
sed -e "s#'10.20.3.12'#'127.0.0.1'#" -e "s#^port = 5432#port = $p2#" \
    -e "s#/etc/postgresql/ssl/db-2#$d/ssl/server#" -e "s#/srv/pg-wal-archive#$d/archive2#g" \
    -e "s#^shared_buffers = .*#shared_buffers = '128MB'#" \
    "$repo/deploy/postgres/replica.conf" > "$d/db2/certledger.conf"
# on a real standby libpq reads ~postgres/.pgpass; here the drill's own file
sed -i "s#^primary_conninfo = '#primary_conninfo = 'passfile=$d/pgpass #" "$d/db2/postgresql.auto.conf"
chown -R postgres "$d/db2"
as_pg "$bin/pg_ctl" -D "$d/db2" -l "$d/db2.log" -w start >/dev/null
sleep 1
echo "replication (application, state, sync): $(as_pg psql -h "$d" -p "$p1" -U postgres -Atc \
  "SELECT application_name, state, sync_state FROM pg_stat_replication")"

# certledger's migrations, through a DATABASE_URL that names the standby first
url="postgresql+psycopg://certledger:app-pw@/certledger?host=127.0.0.1:$p2&host=127.0.0.1:$p1&target_session_attrs=read-write&sslmode=verify-full&sslrootcert=$d/ssl/root.crt"
probe='
import sys
from sqlalchemy import text
from ledger.storage.engine import make_engine, migrate
engine = make_engine(sys.argv[1])
if sys.argv[2] == "migrate":
    migrate(engine)
with engine.connect() as c:
    port = c.execute(text("SELECT inet_server_port()")).scalar()
    tables = c.execute(text("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()")).scalar()
print(f"{sys.argv[2]}: connected to port {port}, {tables} tables")
'
t=$(ms)
(cd "$repo" && "$python" -c "$probe" "$url" migrate)
echo "migrate: $(( $(ms) - t )) ms"
sleep 1
echo "standby tables: $(as_pg psql -h "$d" -p "$p2" -U postgres -d certledger -Atc \
  "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")"

# synchronous_commit = on: with the standby down a commit does not return
as_pg "$bin/pg_ctl" -D "$d/db2" -m fast -w stop >/dev/null
if timeout 3 runuser -u postgres -- psql -h "$d" -p "$p1" -U postgres -d certledger -qc "CREATE TABLE drill_commit (x int)"; then
  echo "standby down: the commit returned (NOT synchronous)"
else
  echo "standby down: the commit waited (client gave up after 3 s; the row is committed locally)"
fi
as_pg "$bin/pg_ctl" -D "$d/db2" -l "$d/db2.log" -w start >/dev/null
sleep 1

# failover: the primary dies, the standby is promoted, the same DATABASE_URL finds it
as_pg "$bin/pg_ctl" -D "$d/db1" -m immediate -w stop >/dev/null
as_pg "$bin/pg_ctl" -D "$d/db2" -w promote >/dev/null
(cd "$repo" && "$python" -c "$probe" "$url" after-failover)
echo "after failover, the commit made while the standby was down: $(as_pg psql -h "$d" -p "$p2" -U postgres -d certledger -Atc \
  "SELECT CASE WHEN to_regclass('drill_commit') IS NULL THEN 'lost' ELSE 'present' END")"
