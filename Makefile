# nstrace — make help lists the targets.
GO        ?= go
ARCH      ?= amd64
VMLINUX_H := bpf/vmlinux/$(ARCH)/vmlinux.h
# Debian packages the targets below need; installed on demand when root.
GEN_DEPS  := clang llvm
APT_GET   := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends

# What the tests run, as COMMAND:PACKAGE (or FILE:PACKAGE): util-linux and
# iproute2 are the clients the kernel tests drive; runc, docker.io,
# containerd (with the CNI plugins) and podman the container runtimes;
# bubblewrap a sandbox; busybox-static the containers' root file systems;
# chromium and its fonts the report's browser test. gcc and libc6-dev make
# cgo, which the race detector needs. systemd's systemd-analyze verifies the
# unit in cmd/nstrace/deploy, and buildah builds the image without docker.
# (No test runs crun.)
TEST_TOOLS := unshare:util-linux nsenter:util-linux setpriv:util-linux lsns:util-linux \
	ip:iproute2 runc:runc dockerd:docker.io docker:docker.io containerd:containerd \
	ctr:containerd podman:podman bwrap:bubblewrap busybox:busybox-static \
	chromium:chromium gcc:gcc systemd-analyze:systemd buildah:buildah
TEST_FILES := /usr/lib/cni/bridge:containernetworking-plugins \
	/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:fonts-dejavu-core \
	/usr/include/stdlib.h:libc6-dev

.PHONY: help generate build image test bench lint vmlinux vmtest deps-generate deps-bench deps-test

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

deps-generate:
	@command -v clang >/dev/null && command -v llvm-strip >/dev/null || \
		{ [ "$$(id -u)" = 0 ] && apt-get update -q && $(APT_GET) $(GEN_DEPS); } || \
		{ echo "make generate needs clang and llvm (apt-get install $(GEN_DEPS))" >&2; exit 1; }

generate: deps-generate ## recompile bpf/ into gen/ with bpf2go (needs clang, llvm)
	cd gen && $(GO) generate ./...

# The version nstrace reports: git describe here; without git, empty, and
# nstrace falls back on what the Go toolchain recorded.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
OUT     ?= nstrace

build: ## build ./nstrace, its version stamped from git describe
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(OUT) ./cmd/nstrace

# The container image (cmd/nstrace/deploy/Containerfile): the static binary
# and the CA certificates an https collector is verified with, FROM scratch.
# Into the local docker when its daemon answers (DOCKER_HOST is honoured);
# without one, buildah writes the OCI archive IMAGE_ARCHIVE.
IMAGE         ?= nstrace:latest
IMAGE_ARCHIVE ?= nstrace-image.tar
DOCKER        ?= docker
CA_BUNDLE     ?= /etc/ssl/certs/ca-certificates.crt

image: ## container image of the static nstrace FROM scratch: into the local docker, else an OCI archive (buildah)
	@[ -r $(CA_BUNDLE) ] || { echo "make image: no CA bundle at $(CA_BUNDLE) (apt-get install ca-certificates)" >&2; exit 1; }
	@ctx=$$(mktemp -d) && trap 'rm -rf "$$ctx"' EXIT && \
	CGO_ENABLED=0 $(GO) build -trimpath -o "$$ctx/nstrace" ./cmd/nstrace && \
	cp cmd/nstrace/deploy/Containerfile "$$ctx/Containerfile" && cp $(CA_BUNDLE) "$$ctx/ca-certificates.crt" && \
	if $(DOCKER) info >/dev/null 2>&1; then \
		DOCKER_BUILDKIT=0 $(DOCKER) build -q -t $(IMAGE) -f "$$ctx/Containerfile" "$$ctx" >/dev/null && \
		echo "make image: $(IMAGE) in docker"; \
	else \
		command -v buildah >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -q && $(APT_GET) buildah; } || \
			{ echo "make image: neither a docker daemon nor buildah (apt-get install buildah)" >&2; exit 1; }; \
		buildah build -q --layers=false -t $(IMAGE) -f "$$ctx/Containerfile" "$$ctx" >/dev/null && \
		rm -f $(IMAGE_ARCHIVE) && buildah push -q $(IMAGE) oci-archive:$(IMAGE_ARCHIVE):$(IMAGE) && \
		buildah rmi $(IMAGE) >/dev/null && echo "make image: $(IMAGE) in $(IMAGE_ARCHIVE) (OCI archive)"; \
	fi

# Installs, as root, what TEST_TOOLS and TEST_FILES name and this machine
# lacks; a machine that has them all installs nothing. A busybox that is not
# the static build counts as missing: it is copied into containers.
deps-test:
	@missing=$$(for tp in $(TEST_TOOLS); do command -v "$${tp%%:*}" >/dev/null || echo "$${tp#*:}"; done; \
		for fp in $(TEST_FILES); do [ -e "$${fp%%:*}" ] || echo "$${fp#*:}"; done; \
		b=$$(command -v busybox) && ldd "$$b" >/dev/null 2>&1 && echo busybox-static); \
	missing=$$(echo $$(printf '%s\n' $$missing | sort -u)); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "make test: not root, so not installing $$missing (kernel tests skip without root)" >&2; exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
		echo "make test: no apt-get: install $$missing by hand" >&2; exit 0; fi; \
	echo "make test: installing $$missing" >&2; \
	apt-get update -q >/dev/null && $(APT_GET) $$missing >/dev/null

# Kernel tests trace the whole machine and count what they see, so packages
# run one at a time (-p 1): side by side, one package's events (floods among
# them) would show up in another's trace. -shuffle=on proves no test leans on another having
# run first (a failing run prints its seed: go test -shuffle=SEED reruns it).
# TESTFLAGS go to both runs, e.g. make test TESTFLAGS=-v. The timeout
# leaves room for the first run's build of a real OpenTelemetry Collector
# (tracer/export; cached after it).
# The tracer packages, where the goroutines are, run under the race
# detector, which needs cgo; NSTRACE_KERNEL_TESTS=1 forbids going without.
test: deps-test ## as root, install what the tests run if missing; then every test, shuffled, one package at a time, ./tracer/... under -race
	$(GO) test -p 1 -shuffle=on -timeout 30m $(TESTFLAGS) $$($(GO) list ./... | grep -v '/tracer')
	@[ "$$($(GO) env CGO_ENABLED)" = 1 ] || { \
		echo "make test: the race detector needs cgo (apt-get install gcc libc6-dev)" >&2; \
		[ "$$NSTRACE_KERNEL_TESTS" != 1 ] || exit 1; }
	$(GO) test -p 1 -shuffle=on -timeout 30m $(TESTFLAGS) $$([ "$$($(GO) env CGO_ENABLED)" = 1 ] && echo -race) ./tracer/...

deps-bench:
	@command -v bpftrace >/dev/null || \
		{ [ "$$(id -u)" = 0 ] && apt-get update -q && $(APT_GET) bpftrace; } || \
		echo "bpftrace is not installed: nsbench leaves its column out" >&2

bench: build deps-bench ## Go benchmarks (0 allocs/op), then nsbench: untraced vs nstrace vs bpftrace, as root (~5 min; NSBENCH_FLAGS=-json or -baseline OLD)
	$(GO) test -run '^$$' -bench . -benchmem ./tracer/... ./cmd/nstrace/
	$(GO) run ./cmd/nsbench -nstrace ./nstrace $(NSBENCH_FLAGS)

# golangci-lint at the version .golangci.yml is written for, built from the
# Go module proxy into a directory of its own on first use.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT_DIR     := $(firstword $(subst :, ,$(shell $(GO) env GOPATH)))/tools/golangci-lint@$(GOLANGCI_LINT_VERSION)
GOLANGCI_LINT         := $(GOLANGCI_LINT_DIR)/golangci-lint

$(GOLANGCI_LINT):
	@echo "make lint: installing golangci-lint $(GOLANGCI_LINT_VERSION) (once)" >&2
	GOBIN=$(GOLANGCI_LINT_DIR) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

lint: $(GOLANGCI_LINT) ## go vet, gofmt and golangci-lint (.golangci.yml; installed on first use)
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed: $$out" >&2; exit 1; }
	$(GOLANGCI_LINT) run ./...

vmlinux: ## regenerate bpf/vmlinux/$(ARCH)/vmlinux.h from this kernel's BTF (needs bpftool)
	@command -v bpftool >/dev/null || { [ "$$(id -u)" = 0 ] && $(APT_GET) bpftool; }
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX_H)

# Host tools the tracer's kernel tests exec, shipped into the VM with their
# libraries when installed here (an absent one makes its test skip there).
# The flood tests' flooder is built here and shipped too: the guest has no Go.
VMTEST_TOOLS ?= unshare nsenter readlink ip lsns runc bwrap setpriv taskset
# One vCPU: under software emulation with two, the cross-CPU text patching
# that attaching syscall tracepoints does stalled the 6.1 guest for minutes.
VMTEST_FLAGS ?= -smp 1

vmtest: ## run ./tracer's kernel tests on Debian's 6.1 kernel under QEMU, under each hook set
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	CGO_ENABLED=0 $(GO) test -c -o "$$tmp/tracer.test" ./tracer && \
	CGO_ENABLED=0 $(GO) build -o "$$tmp/flooder" ./tracer/testenv/flooder && \
	$(GO) build -o "$$tmp/vmtest" ./cmd/vmtest && \
	for hooks in fentry tracepoint; do \
		echo "=== vmtest: Debian 6.1, --hooks $$hooks" && \
		"$$tmp/vmtest" $(foreach t,$(VMTEST_TOOLS),$(if $(shell command -v $(t)),-file $(t))) -env NSTRACE_HOOKS=$$hooks \
			-file "$$tmp/flooder:/bin/nstrace-flooder" -env NSTRACE_FLOODER=/bin/nstrace-flooder $(VMTEST_FLAGS) \
			"$$tmp/tracer.test" -- -test.v -test.count=1 -test.timeout=7m || exit 1; \
	done
