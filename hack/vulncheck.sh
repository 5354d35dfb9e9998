#!/usr/bin/env bash
# Runs govulncheck over the module against an offline vulnerability database, so the check needs nothing but the
# Go module proxy (vuln.go.dev is not reachable from the build machines).
#
# The database is built from the golang.org/x/vulndb module, which carries every Go vulnerability report as OSV
# JSON (data/osv/GO-*.json), with that module's own cmd/indexdb, which writes the layout govulncheck reads
# (index/db.json, index/modules.json, index/vulns.json, ID/GO-*.json). The result is cached outside git, keyed by
# the vulndb version, so a warm run only scans:
#   ${VNFGUARD_VULNDB_DIR:-$HOME/.cache/vnfguard/vulndb}/<version>/
#
#   hack/vulncheck.sh                        scan ./... with the pinned database
#   VULNDB_VERSION=latest hack/vulncheck.sh  scan with the newest database the proxy serves (cached by its version)
#   hack/vulncheck.sh -show verbose ./...    arguments are passed to govulncheck (default: ./...)
#
# Exit status is govulncheck's: 0 when no reachable vulnerability was found, 3 when one was, other codes on error.
set -euo pipefail
# The module's stdlib is that of the toolchain govulncheck runs: pin it like every other entry point.
export GOTOOLCHAIN=go1.27.3
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."

GOVULNCHECK_VERSION=${GOVULNCHECK_VERSION:-v1.9.0}
VULNDB_VERSION=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}
say() { printf '[vulncheck %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# json_field NAME: the string value of NAME in the `go mod download -json` output on stdin.
json_field() { sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}$/\1/p"; }

meta=$(go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION")
version=$(json_field Version <<<"$meta")
src=$(json_field Dir <<<"$meta")
if [ -z "$version" ] || [ ! -d "$src/data/osv" ]; then
	say "error: golang.org/x/vulndb@$VULNDB_VERSION has no data/osv directory (download output: $meta)"
	exit 2
fi

db=${VNFGUARD_VULNDB_DIR:-$HOME/.cache/vnfguard/vulndb}/$version
if [ ! -s "$db/index/db.json" ]; then
	say "building the offline database from golang.org/x/vulndb@$version ($(ls "$src/data/osv" | wc -l) OSV reports)"
	started=$SECONDS
	rm -rf "$db.tmp"
	mkdir -p "$(dirname "$db")"
	go run "golang.org/x/vulndb/cmd/indexdb@$version" -vulns "$src/data/osv" -out "$db.tmp"
	rm -rf "$db"
	mv "$db.tmp" "$db"
	say "database built in $((SECONDS - started)) s: $db"
else
	say "database: $db (cached)"
fi

[ $# -gt 0 ] || set -- ./...
say "govulncheck $GOVULNCHECK_VERSION, $(go version | cut -d' ' -f3), database golang.org/x/vulndb@$version"
exec go run "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION" -db "file://$db" "$@"
