#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME each (default 10s), minimising new inputs briefly (the default
# 60 s per input would eat the whole budget).
#
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline exceeded" at the -fuzztime boundary on
# a loaded machine: a race in the toolchain (go.dev/issue/75804, fixed in Go 1.27), not a finding. Such a run is
# retried once. A real finding always prints "Failing input written to" (or a panic or a t.Error line) and fails at
# once, as does any other error.
set -uo pipefail
export GOTOOLCHAIN=go1.27.3 # the project's Go release (README: every shell exports it)
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

bare_deadline() {
	grep -q 'context deadline exceeded' "$log" &&
		! grep -Eq 'Failing input written|panic:|_test\.go:[0-9]+:' "$log"
}

for pkg in $($GO list ./...); do
	for target in $($GO test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
		for attempt in 1 2; do
			note=""
			[ "$attempt" = 2 ] && note=", once more: the last run hit the toolchain's deadline race"
			echo "fuzz $pkg $target ($FUZZTIME)$note"
			if $GO test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 100x "$pkg" 2>&1 | tee "$log"; then
				break
			fi
			if [ "$attempt" = 1 ] && bare_deadline; then
				continue
			fi
			echo "fuzz: $pkg $target failed" >&2
			exit 1
		done
	done
done
