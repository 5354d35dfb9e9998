#!/usr/bin/env bash
# Measures the node agent (vnfguard node) on the lab's real node (root): CPU and memory idle and at a steady rate
# of container starts, and runtime event → finding latency. Extra arguments go to bench/node-agent, e.g.
# bench/node-agent.sh -idle 30s -load 60s -rate 100.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 # the project's Go release (README: every shell exports it)
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export VNFGUARD_CONTROLPLANE_DIR=${VNFGUARD_CONTROLPLANE_DIR:-$(bash hack/build-controlplane.sh | tail -n1)}
bash hack/node-deps.sh
go build -trimpath -o bin/vnfguard ./cmd/vnfguard
go build -trimpath -o bin/node-agent-bench ./bench/node-agent
bin/node-agent-bench -vnfguard bin/vnfguard "$@"
