#!/usr/bin/env bash
# Re-records the Axon contract fixtures (test/fixtures/contracts/axon/4.13/<case>/):
# builds tools/axon-recorder with Maven, starts a scratch PostgreSQL from
# Debian's binaries on a free loopback port with its data in a temporary
# directory, runs the recorder (a real Axon Framework 4.13 application) once
# per case, and writes for each case what Axon reported (axon.json) and the
# database as pg_dump gives it (dump.sql: the tables' DDL and rows, large
# objects included). Usage: scripts/record-axon-contracts.sh [case...]
# AXON_RECORDER_M2=<dir> builds with that Maven local repository (an empty
# one measures a cold build).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/test/fixtures/contracts/axon/4.13"
started=$(date +%s)

bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
[ -x "$bin/initdb" ] || { echo "PostgreSQL's server binaries not found under /usr/lib/postgresql (apt-get install postgresql)" >&2; exit 1; }
command -v mvn >/dev/null && command -v java >/dev/null || { echo "needs Java 17 and Maven (apt-get install openjdk-17-jdk-headless maven)" >&2; exit 1; }

echo "building tools/axon-recorder"
(cd "$root/tools/axon-recorder" && mvn -q -B ${AXON_RECORDER_M2:+-Dmaven.repo.local="$AXON_RECORDER_M2"} package)
built=$(date +%s)

tmp="$(mktemp -d)"
chmod 755 "$tmp"
# PostgreSQL refuses to run as root: then it runs as Debian's postgres user
as=()
if [ "$(id -u)" = 0 ]; then chown postgres "$tmp"; as=(runuser -u postgres --); fi
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
stop() { "${as[@]}" "$bin/pg_ctl" -D "$tmp/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap stop EXIT
"${as[@]}" "$bin/initdb" -D "$tmp/data" -U recorder --auth=trust -E UTF8 --no-instructions >/dev/null
"${as[@]}" "$bin/pg_ctl" -D "$tmp/data" -l "$tmp/postgres.log" -o "-c listen_addresses=127.0.0.1 -p $port -k $tmp -c fsync=off" -w start >/dev/null
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"

mkdir -p "$out"
cp_file="$root/tools/axon-recorder/target/classpath.txt"
java -cp "$root/tools/axon-recorder/target/classes:$(cat "$cp_file")" cutover.axonrecorder.Recorder 127.0.0.1 "$port" recorder recorder "$out" "$@"

for dir in "$out"/*/; do
  case="$(basename "$dir")"
  if [ "$#" -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$case"; then continue; fi
  db="axon_${case//-/_}"
  # plain INSERTs (no COPY) and large objects as lo_create/lowrite: what a test can load through any client
  # Hibernate writes every token update to a new large object and never unlinks the old one: count and remove
  # those orphans (vacuumlo), or each JPA dump would carry a thousand of them
  orphans="$("$bin/vacuumlo" -h 127.0.0.1 -p "$port" -U recorder -n -v "$db" | grep -o 'Would remove [0-9]* large objects' || true)"
  "$bin/vacuumlo" -h 127.0.0.1 -p "$port" -U recorder "$db"
  [ -n "$orphans" ] && echo "$case: ${orphans#Would remove } orphaned by token updates, removed before the dump"
  # pg_dump's \restrict and \unrestrict lines (psql meta-commands, a random key each run) are left out
  "$bin/pg_dump" -h 127.0.0.1 -p "$port" -U recorder --inserts --no-owner --no-privileges --no-comments "$db" | grep -v '^\\' > "$dir/dump.sql"
done
echo "recorded in $(( $(date +%s) - started )) s (build $(( built - started )) s)"
