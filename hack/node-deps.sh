#!/usr/bin/env bash
# Installs from Debian what the lab's real node needs and a fresh machine lacks: containerd and runc (the container
# runtime the kubelet drives), the CNI plugins (bridge, host-local, loopback: the lab's pod network) and
# busybox-static (the shell, nc and cat of the lab's VNF image), and Debian's docker.io (a Docker Engine to attack). Runs `apt-get update` once, and only when something
# is missing; prints nothing when everything is there. Needs root to install (CI runs as root).
set -euo pipefail

need=()
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/loopback ] || need+=(containernetworking-plugins)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx nc || need+=(busybox-static)
# dockerd: the Docker Engine whose unauthenticated TCP API the runtime sensor's test attacks (the Doki path); the
# lab starts it itself, on its own containerd, never as a service.
[ -x /usr/sbin/dockerd ] || need+=(docker.io)
# ip(8): the lab removes its pod bridge with it.
command -v ip >/dev/null || need+=(iproute2)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "node-deps: missing ${need[*]}; install them as root: apt-get install ${need[*]}" >&2
	exit 1
fi
echo "node-deps: installing ${need[*]} from Debian" >&2
apt-get update -qq
# containerd's package enables a system service; the lab starts its own containerd and never uses that one, so
# keep the package scripts from starting it (policy-rc.d 101 = "action forbidden").
prc=/usr/sbin/policy-rc.d
made_prc=
if [ ! -e "$prc" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod +x "$prc" && made_prc=1
fi
trap 'if [ -n "$made_prc" ]; then rm -f "$prc"; fi' EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
