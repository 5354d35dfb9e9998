#!/usr/bin/env bash
# usage: apt-install.sh WHO PACKAGE...
# Installs the given Debian packages for the named dependency script (node-deps, prometheus-deps, tacker-deps):
# nothing when the list is empty; otherwise, as root, `apt-get update` once and an install that keeps the packages'
# services from starting (policy-rc.d 101 = "action forbidden": the lab starts its own containerd, Prometheus and
# RabbitMQ on loopback and never uses the system services). Not root: says what to install and fails.
set -euo pipefail
who=$1
shift
[ $# -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "$who: missing $*; install them as root: apt-get install $*" >&2
	exit 1
fi
echo "$who: installing $* from Debian" >&2
apt-get update -qq
prc=/usr/sbin/policy-rc.d
made_prc=
if [ ! -e "$prc" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod +x "$prc" && made_prc=1
fi
trap 'if [ -n "$made_prc" ]; then rm -f "$prc"; fi' EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
