#!/usr/bin/env bash
# Builds the real control plane the end-to-end tests and the demo run against — etcd 3.5, kube-apiserver,
# kube-controller-manager and kube-scheduler 1.34, kwok (simulated nodes), and the kubelet of the lab's real node
# (test/e2e/node; it runs on Debian's containerd, see hack/node-deps.sh) — from the Go module proxy into
# .cache/k8s/<version>/. A binary already in the cache is kept, so a warm run takes seconds.
# Prints the cache directory on its last line.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 # the project's Go release (README: every shell exports it)
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
k8s_version=v1.34.4
kwok_version=v0.7.0
out=${VNFGUARD_CONTROLPLANE_DIR:-$top/.cache/k8s/$k8s_version}
mkdir -p "$out"

say() { printf '[build-controlplane %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# build NAME DIR PKG [LDFLAGS]: builds PKG inside the tools module DIR unless $out/NAME exists already.
build() {
	local name=$1 dir=$2 pkg=$3 ldflags=${4:-}
	if [ -x "$out/$name" ]; then
		say "$name: cached"
		return
	fi
	say "$name: building (cold builds take minutes on 2 cores)"
	local started=$SECONDS
	(
		cd "$dir"
		# Heartbeat so a person watching `make demo` sees the build is alive.
		while sleep 30; do say "$name: still building ($((SECONDS - started)) s)"; done &
		hb=$!
		trap 'kill $hb 2>/dev/null || true' EXIT
		CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/$name.tmp" "$pkg"
	)
	mv "$out/$name.tmp" "$out/$name"
	say "$name: built in $((SECONDS - started)) s"
}

minor=${k8s_version#v1.}; minor=${minor%%.*}
version_flags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"

build etcd "$here/tools/etcd" . "-s -w"
build kube-apiserver "$here/tools/k8s" k8s.io/kubernetes/cmd/kube-apiserver "$version_flags"
build kube-controller-manager "$here/tools/k8s" k8s.io/kubernetes/cmd/kube-controller-manager "$version_flags"
build kube-scheduler "$here/tools/k8s" k8s.io/kubernetes/cmd/kube-scheduler "$version_flags"
build kubelet "$here/tools/k8s" k8s.io/kubernetes/cmd/kubelet "$version_flags"
if [ ! -x "$out/kwok" ]; then
	say "kwok: installing $kwok_version"
	GOBIN="$out" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$kwok_version"
else
	say "kwok: cached"
fi
echo "$out"
