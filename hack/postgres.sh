#!/usr/bin/env bash
# Starts a throw-away PostgreSQL on 127.0.0.1 for the findings-store tests (internal/store) and prints, on its last
# line, `export VNFGUARD_TEST_POSTGRES=postgres://...` — so `eval "$(hack/postgres.sh | tail -1)"` wires it up.
#
#   hack/postgres.sh          install (Debian package, if missing), initdb, start, create the database; idempotent:
#                             a server of ours that is already running is reused as it is
#   hack/postgres.sh stop     stop it (the data directory stays; the next start reuses it)
#   hack/postgres.sh purge    stop it and remove its directory
#
# The server lives in $VNFGUARD_POSTGRES_DIR (default /tmp/vnfguard-postgres: the postgres user, which the server
# runs as when we are root, cannot enter /root). It listens on loopback only, on a port picked at run time (fixed
# ports collide with leftovers), with password authentication; the password is generated once and kept in the dir.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 # the project's Go release (README: every shell exports it)

dir=${VNFGUARD_POSTGRES_DIR:-/tmp/vnfguard-postgres}
db=vnfguard_test
say() { printf '[postgres %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# pg_bin finds the newest installed server's bin directory (Debian keeps them under /usr/lib/postgresql/<major>).
pg_bin() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
	if [ -z "$d" ] && command -v pg_ctl >/dev/null; then d=$(dirname "$(command -v pg_ctl)"); fi
	printf '%s' "$d"
}

bin=$(pg_bin)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
	[ "$(id -u)" = 0 ] || die "PostgreSQL is not installed and we are not root: apt-get install postgresql"
	say "installing the Debian postgresql package"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
	bin=$(pg_bin)
	[ -n "$bin" ] && [ -x "$bin/initdb" ] || die "apt-get installed postgresql but no initdb is under /usr/lib/postgresql/*/bin"
fi

# as_owner runs a command as the server's owner: postgres when we are root (initdb refuses root), else ourselves.
owner=$(id -un)
if [ "$(id -u)" = 0 ]; then owner=postgres; fi
as_owner() {
	if [ "$(id -un)" = "$owner" ]; then "$@"; else runuser -u "$owner" -- "$@"; fi
}

data=$dir/data
pgctl() { as_owner "$bin/pg_ctl" -D "$data" "$@"; }

case "${1:-start}" in
stop)
	if [ -f "$data/postmaster.pid" ]; then pgctl -m fast -w stop >&2 || true; fi
	exit 0
	;;
purge)
	if [ -f "$data/postmaster.pid" ]; then pgctl -m fast -w stop >&2 || true; fi
	rm -rf "$dir"
	exit 0
	;;
start) ;;
*) die "usage: $0 [start|stop|purge]" ;;
esac

mkdir -p "$dir"
chmod 0755 "$dir"
if [ "$(id -u)" = 0 ]; then chown "$owner" "$dir"; fi

if [ ! -s "$dir/password" ]; then
	(umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=\n' >"$dir/password")
	chown "$owner" "$dir/password"
fi
password=$(cat "$dir/password")

if [ ! -f "$data/PG_VERSION" ]; then
	say "initdb into $data ($bin)"
	as_owner "$bin/initdb" -D "$data" -U postgres --pwfile="$dir/password" --auth-host=scram-sha-256 \
		--auth-local=peer -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
fi

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running=no
if [ -f "$dir/port" ] && pgctl status >/dev/null 2>&1; then
	port=$(cat "$dir/port")
	if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
		running=yes
		say "reusing the server on 127.0.0.1:$port"
	else
		say "a server is running on $data but not answering on $port: restarting it"
		pgctl -m fast -w stop >&2 || true
	fi
fi

if [ "$running" = no ]; then
	port=
	for _ in $(seq 1 50); do
		candidate=$((20000 + RANDOM % 20000))
		if port_free "$candidate"; then port=$candidate; break; fi
	done
	[ -n "$port" ] || die "found no free port on 127.0.0.1"
	printf '%s\n' "$port" >"$dir/port"
	say "starting on 127.0.0.1:$port (log: $dir/server.log)"
	# The unix socket goes into our own directory: /var/run/postgresql may not exist outside a packaged cluster.
	as_owner touch "$dir/server.log"
	pgctl -w -t 60 -l "$dir/server.log" \
		-o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c fsync=off -c max_connections=200" \
		start >&2 || { tail -20 "$dir/server.log" >&2; die "pg_ctl start failed"; }
fi

export PGPASSWORD=$password
psql=("$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres)
if [ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
	"${psql[@]}" -c "CREATE DATABASE $db" >&2
fi
printf 'export VNFGUARD_TEST_POSTGRES=postgres://postgres:%s@127.0.0.1:%s/%s?sslmode=disable\n' "$password" "$port" "$db"
