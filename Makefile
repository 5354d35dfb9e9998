# vnfguard — build, test, demo. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
# The Go release every build, test and scan uses (the standard library's fixes come with it): the go command fetches
# this toolchain from the module proxy once. go.mod requires it, so an older local Go fails instead of building.
export GOTOOLCHAIN = go1.27.3
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The control-plane binaries are cached outside the work tree, keyed by version, so that every clone reuses them.
export VNFGUARD_CONTROLPLANE_DIR ?= $(HOME)/.cache/vnfguard/k8s/v1.34.4
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME ?= 10s

.PHONY: help build lab image controlplane node-deps prometheus-deps tacker-deps test unit e2e lint vulncheck fuzz bench demo clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

build: ## build bin/vnfguard
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o bin/vnfguard ./cmd/vnfguard

# `make image`: the static binary the image holds (linux/amd64, no C library, no build id, paths trimmed, no symbol
# table or DWARF: half the image's size, stack traces still work), then the image itself, written as an OCI layout to
# bin/image and, with PUSH=REGISTRY/REPO[:TAG], pushed (default tag VERSION).
# The commit goes into the image's revision label and its time into every timestamp, instead of the binary's VCS
# stamp (-buildvcs=false), so untracked files in the checkout do not change the digest.
IMAGE_BINARY := bin/linux-amd64/vnfguard
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
PUSH ?=
image: ## build vnfguard's OCI image (no Docker daemon) into bin/image; PUSH=127.0.0.1:5000/vnfguard also pushes it
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -buildvcs=false -ldflags "-s -w -buildid= -X main.version=$(VERSION)" -o $(IMAGE_BINARY) ./cmd/vnfguard
	$(GO) run ./hack/image --binary $(IMAGE_BINARY) --version $(VERSION) --revision "$(REVISION)" --created "$(SOURCE_DATE_EPOCH)" --layout bin/image $(if $(PUSH),--push $(PUSH))

controlplane: ## build etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok and kubelet into the cache
	bash hack/build-controlplane.sh

node-deps: ## install Debian's containerd, runc, CNI plugins, busybox-static and docker.io for the lab's real node (when missing; as root)
	bash hack/node-deps.sh

prometheus-deps: ## install Debian's prometheus for test/e2e/metrics (when missing; as root)
	bash hack/prometheus-deps.sh

tacker-deps: ## install Debian's OpenStack libraries and RabbitMQ for the real Tacker of test/e2e/tacker (when missing; as root)
	bash hack/tacker-deps.sh

lint: ## gofmt, go vet, staticcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

vulncheck: ## govulncheck (pinned) against an offline database built from golang.org/x/vulndb: 0 reachable vulnerabilities or exit 3
	bash hack/vulncheck.sh

unit: node-deps ## unit tests (no control plane; the PostgreSQL store tests need hack/postgres.sh)
	eval "$$(bash hack/postgres.sh | tail -n1)" && $(GO) test $$($(GO) list ./... | grep -v /test/e2e)

e2e: controlplane node-deps prometheus-deps tacker-deps ## end-to-end tests against the real control plane (test/e2e/ha and incluster share hack/postgres.sh's PostgreSQL)
	eval "$$(bash hack/postgres.sh | tail -n1)" && $(GO) test -count=1 -timeout 20m -v ./test/e2e/...

fuzz: ## run every fuzz target for FUZZTIME each (hack/fuzz.sh: brief minimising, one retry of the Go 1.26 deadline race)
	GO=$(GO) FUZZTIME=$(FUZZTIME) bash hack/fuzz.sh

test: controlplane node-deps prometheus-deps tacker-deps lint vulncheck ## everything: lint, vulncheck, unit and end-to-end tests (PostgreSQL started by hack/postgres.sh), every benchmark once, bounded fuzzing
	eval "$$(bash hack/postgres.sh | tail -n1)" && $(GO) test -count=1 -timeout 30m ./...
	eval "$$(bash hack/postgres.sh | tail -n1)" && GO=$(GO) bash hack/bench-smoke.sh
	$(MAKE) --no-print-directory fuzz

bench: ## micro-benchmarks of the policy, the webhook transport, audit decoding, detection and the stores
	eval "$$(bash hack/postgres.sh | tail -n1)" && $(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./internal/policy/ ./internal/admission/ ./internal/audit/ ./internal/detect/ ./internal/store/

lab: ## build bin/vnfguard-lab, the local control-plane launcher (not part of the production binary)
	$(GO) build -trimpath -o bin/vnfguard-lab ./cmd/vnfguard-lab

# The demo also runs a real kubelet and containerd, and the Peirates attack for real on them, when it can (as root):
# REAL_NODE=0 keeps it on the simulated (kwok) node only.
REAL_NODE ?= $(if $(filter 0,$(shell id -u)),1,0)

demo: controlplane build lab $(if $(filter 1,$(REAL_NODE)),node-deps) ## start a control plane (and a real node as root) and vnfguard, run the benign lifecycle and the attacks, print the verdicts
	bin/vnfguard-lab demo --vnfguard bin/vnfguard --controlplane-dir "$(VNFGUARD_CONTROLPLANE_DIR)" $(if $(filter 1,$(REAL_NODE)),--real-node)

clean: ## remove build output (the control-plane cache stays)
	rm -rf bin
