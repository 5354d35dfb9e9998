#!/usr/bin/env bash
# Builds helm v4 (the chart's lint and template tests use it) from the Go module proxy, in its own tools module so
# that its dependencies never enter vnfguard's go.mod, into ~/.cache/vnfguard/tools/helm-<version>/. A binary already
# there is kept. Prints the binary's path on its last line.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
here=$(cd "$(dirname "$0")" && pwd)
version=v4.3.2
out=${VNFGUARD_TOOLS_DIR:-$HOME/.cache/vnfguard/tools}/helm-$version
if [ ! -x "$out/helm" ]; then
	mkdir -p "$out"
	echo "[build-helm $(date +%H:%M:%S)] helm $version: building (about 3 minutes cold on 2 cores)" >&2
	# A temporary name of this process's own: two builds at once (two checkouts, two test packages) each rename a
	# whole binary into place instead of writing into one file.
	tmp="$out/helm.tmp.$$"
	trap 'rm -f "$tmp"' EXIT
	(cd "$here/tools/helm" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp" helm.sh/helm/v4/cmd/helm)
	mv "$tmp" "$out/helm"
fi
echo "$out/helm"
