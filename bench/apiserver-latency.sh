#!/usr/bin/env bash
# Measures the latency vnfguard adds to a pod CREATE through the real kube-apiserver at 100 concurrent clients:
# the same load with no admission, with the webhook registered, and with vnfguard's ValidatingAdmissionPolicies
# (admission.mode policies), in one run, side by side. Two loads: paced below
# saturation (latency = service time: what a webhook adds to one request) and closed loop (as fast as 100 clients
# can: the machine saturates and latency is mostly queueing, so the difference shows vnfguard's CPU cost).
# Extra arguments go to both runs, e.g. bench/apiserver-latency.sh -creates 6000.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 # the project's Go release (README: every shell exports it)
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export VNFGUARD_CONTROLPLANE_DIR=${VNFGUARD_CONTROLPLANE_DIR:-$(bash hack/build-controlplane.sh | tail -n1)}
go build -trimpath -o bin/vnfguard ./cmd/vnfguard
go build -trimpath -o bin/apiserver-latency ./bench/apiserver-latency
echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== paced: 100 creates/s"
bin/apiserver-latency -vnfguard bin/vnfguard -creates 3000 -concurrency 100 -rate 100 "$@"
echo
echo "== closed loop"
bin/apiserver-latency -vnfguard bin/vnfguard -creates 3000 -concurrency 100 "$@"
