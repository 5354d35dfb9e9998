#!/usr/bin/env bash
# Installs from Debian what the lab's real node needs and a fresh machine lacks: containerd and runc (the container
# runtime the kubelet drives), the CNI plugins (bridge, host-local, loopback: the lab's pod network) and
# busybox-static (the shell, nc and cat of the lab's VNF image), and Debian's docker.io (a Docker Engine to attack). Runs `apt-get update` once, and only when something
# is missing; prints nothing when everything is there. Needs root to install (CI runs as root; hack/apt-install.sh).
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
exec bash "$(dirname "$0")/apt-install.sh" node-deps "${need[@]}"
