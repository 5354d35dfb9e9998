#!/usr/bin/env bash
# Runs every benchmark of the repository once (-benchtime 1x), as part of `make test`. A benchmark checks what it
# measures (a verdict, a finding, a page that loaded) and fails when that no longer holds; nothing else runs it, so
# without this a benchmark can stop measuring what it says and nobody notices until someone wants its figure.
# Needs what the benchmarks' tests need: hack/postgres.sh's PostgreSQL (VNFGUARD_TEST_POSTGRES) and Chromium.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 # the project's Go release (README: every shell exports it)
GO=${GO:-go}
cd "$(dirname "$0")/.."
# Every package with a benchmark, but the end-to-end ones (they need the control plane; `make e2e` runs their tests).
mapfile -t dirs < <(git ls-files '*_test.go' | xargs -r grep -l '^func Benchmark' | grep -v '^test/e2e/' | xargs -r -n1 dirname | sort -u | sed 's|^|./|')
if [ "${#dirs[@]}" -eq 0 ]; then
	echo "bench-smoke: no benchmark found: the search is broken" >&2
	exit 1
fi
echo "bench-smoke: every benchmark once in ${#dirs[@]} packages"
"$GO" test -run '^$' -bench . -benchtime 1x "${dirs[@]}"
