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

.PHONY: help generate build dist image image-index test bench lint vmlinux vmtest deps-generate deps-bench deps-test

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

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
	$(GO) build -ldflags "-X github.com/nstrace/nstrace/tracer/internal/cli.version=$(VERSION)" -o $(OUT) ./cmd/nstrace

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

# Release builds: static (no cgo), one per architecture, stamped with the
# version git describes.
DIST_ARCHES ?= amd64 arm64

dist: ## static release binaries dist/nstrace-linux-{amd64,arm64} and dist/SHA256SUMS
	@mkdir -p dist && rm -f dist/nstrace-linux-* dist/SHA256SUMS
	for a in $(DIST_ARCHES); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$a $(GO) build -trimpath -ldflags "-s -w -X github.com/nstrace/nstrace/tracer/internal/cli.version=$(VERSION)" \
			-o dist/nstrace-linux-$$a ./cmd/nstrace || exit 1; \
	done
	cd dist && sha256sum nstrace-linux-* > SHA256SUMS && cat SHA256SUMS

# The container image for every DIST_ARCHES as one OCI image index in an OCI
# archive, which a registry push (skopeo copy --all) or podman load takes
# as it is: per architecture, the static binary FROM scratch with the CA
# bundle an https:// collector is verified with. buildah keeps its
# storage in a temporary directory, so nothing is left in the host's.
IMAGE_INDEX ?= dist/nstrace-image-index.tar

image-index: dist ## OCI image index of the amd64 and arm64 images, as an OCI archive (dist/nstrace-image-index.tar; needs buildah)
	@command -v buildah >/dev/null || { [ "$$(id -u)" = 0 ] && $(APT_GET) buildah >/dev/null; } || \
		{ echo "make image-index: needs buildah (apt-get install buildah)" >&2; exit 1; }
	@[ -r $(CA_BUNDLE) ] || { echo "make image-index: no CA bundle at $(CA_BUNDLE) (apt-get install ca-certificates)" >&2; exit 1; }
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	b="buildah --root $$tmp/storage --runroot $$tmp/run --storage-driver vfs" && \
	$$b manifest create nstrace >/dev/null && \
	for a in $(DIST_ARCHES); do \
		c=$$($$b from --arch $$a --os linux scratch) && \
		$$b copy --chmod 0755 $$c dist/nstrace-linux-$$a /nstrace >/dev/null && \
		$$b copy $$c $(CA_BUNDLE) /etc/ssl/certs/ca-certificates.crt >/dev/null && \
		$$b config --arch $$a --os linux --entrypoint '["/nstrace"]' --cmd trace \
			--label org.opencontainers.image.version=$(or $(VERSION),dev) $$c && \
		$$b commit -q --manifest nstrace $$c nstrace-linux-$$a >/dev/null || exit 1; \
	done && \
	rm -f $(IMAGE_INDEX) && \
	$$b manifest push -q --all --format oci nstrace oci-archive:$(IMAGE_INDEX):nstrace:$(or $(VERSION),dev) && \
	echo "make image-index: $(IMAGE_INDEX), nstrace:$(or $(VERSION),dev) for $(DIST_ARCHES)"

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
# (tracer/internal/export; cached after it).
# The tracer packages, where the goroutines are, run under the race
# detector, which needs cgo; NSTRACE_KERNEL_TESTS=1 forbids going without.
test: deps-test ## as root, install what the tests run if missing; then every test, shuffled, one package at a time, ./tracer/... under -race
	$(GO) test -p 1 -shuffle=on -timeout 30m $(TESTFLAGS) $$($(GO) list ./... | grep -v '/tracer') ./tracer/internal/cli/... ./tracer/internal/nsbench/...
	@[ "$$($(GO) env CGO_ENABLED)" = 1 ] || { \
		echo "make test: the race detector needs cgo (apt-get install gcc libc6-dev)" >&2; \
		[ "$$NSTRACE_KERNEL_TESTS" != 1 ] || exit 1; }
	$(GO) test -p 1 -shuffle=on -timeout 30m $(TESTFLAGS) $$([ "$$($(GO) env CGO_ENABLED)" = 1 ] && echo -race) $$($(GO) list ./tracer/... | grep -v -e /tracer/internal/cli -e /tracer/internal/nsbench)

deps-bench:
	@command -v bpftrace >/dev/null || \
		{ [ "$$(id -u)" = 0 ] && apt-get update -q && $(APT_GET) bpftrace; } || \
		echo "bpftrace is not installed: nsbench leaves its column out" >&2

bench: build deps-bench ## Go benchmarks (0 allocs/op), then nsbench: untraced vs nstrace vs bpftrace, as root (~5 min; NSBENCH_FLAGS=-json or -baseline OLD)
	$(GO) test -run '^$$' -bench . -benchmem ./tracer/...
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

# The architecture this machine runs: its vmlinux.h comes from its own
# kernel's BTF; another's from Debian's kernel package for that
# architecture (VMLINUX_KERNEL: a release, e.g. 6.1.0-57-arm64; default
# the current one), whose BTF cmd/vmtest reads out of the image.
HOST_ARCH := $(shell $(GO) env GOHOSTARCH)

vmlinux: ## regenerate bpf/vmlinux/$(ARCH)/vmlinux.h: from this kernel's BTF, or Debian's ARCH kernel's (needs bpftool)
	@command -v bpftool >/dev/null || { [ "$$(id -u)" = 0 ] && $(APT_GET) bpftool; }
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	if [ "$(ARCH)" = "$(HOST_ARCH)" ]; then cp /sys/kernel/btf/vmlinux "$$tmp/btf"; \
	else $(GO) run ./cmd/vmtest -arch $(ARCH) $(if $(VMLINUX_KERNEL),-kernel-version $(VMLINUX_KERNEL)) -btf "$$tmp/btf"; fi && \
	mkdir -p $(dir $(VMLINUX_H)) && bpftool btf dump file "$$tmp/btf" format c > "$$tmp/vmlinux.h" && \
	mv "$$tmp/vmlinux.h" $(VMLINUX_H)

# Tools the kernel tests exec, shipped into the VM with their libraries:
# on the host's architecture the host's, when installed (an absent one
# makes its test skip there); on another, from that architecture's Debian
# packages (cmd/vmtest -arch). dash is the guest's /bin/sh: busybox's sh
# runs its own applets (ip, nsenter) before the real tools in PATH. The
# flood tests' flooder is built and shipped too: the guest has no Go.
VMTEST_TOOLS ?= unshare nsenter readlink ip lsns runc bwrap setpriv taskset
VMTEST_FILES  = -file dash:/bin/sh \
	$(if $(filter $(HOST_ARCH),$(ARCH)),$(foreach t,$(VMTEST_TOOLS),$(if $(shell command -v $(t)),-file $(t))),$(foreach t,$(VMTEST_TOOLS),-file $(t)))
# The packages whose tests run in the guest. Each runs from its source
# directory's path, and the testdata trees are there, as on the host: some
# tests find theirs through their source file's path. Only ./tracer's
# tests follow NSTRACE_HOOKS: the first hook set runs them all, the others
# ./tracer alone.
VMTEST_PKGS  ?= ./tracer ./tracer/internal/detect ./tracer/internal/resolve ./tracer/internal/ring ./tracer/internal/runtime
# arm64 runs the tracepoint set only: Debian's arm64 6.1 cannot attach
# fentry to kernel functions (no ftrace direct calls), so --hooks auto
# comes to the same set there.
VMTEST_HOOKS ?= $(if $(filter arm64,$(ARCH)),tracepoint,fentry tracepoint)
# One vCPU: under software emulation with two, the cross-CPU text patching
# that attaching syscall tracepoints does stalled the 6.1 guest for minutes.
VMTEST_FLAGS ?= -smp 1
# Caps, not estimates: each test binary gets VMTEST_TEST_TIMEOUT, the whole
# guest VMTEST_TIMEOUT.
VMTEST_TEST_TIMEOUT ?= 15m
VMTEST_TIMEOUT      ?= 40m

vmtest: ## run the kernel tests on Debian's 6.1 kernel for ARCH (amd64, arm64) under QEMU, under each hook set
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	tests= && for p in $(VMTEST_PKGS); do \
		name=$$(echo $${p#./} | tr / _) && \
		GOARCH=$(ARCH) CGO_ENABLED=0 $(GO) test -c -o "$$tmp/$$name.test" $$p || exit 1; \
		tests="$$tests -file $$tmp/$$name.test:/vmtest/$$name.test"; \
	done && \
	trees= && for d in $$(find tracer cmd -type d -name testdata); do trees="$$trees -dir $(CURDIR)/$$d:$(CURDIR)/$$d"; done && \
	GOARCH=$(ARCH) CGO_ENABLED=0 $(GO) build -o "$$tmp/flooder" ./tracer/internal/testenv/flooder && \
	$(GO) build -o "$$tmp/vmtest" ./cmd/vmtest && \
	first=1 && for hooks in $(VMTEST_HOOKS); do \
		echo "=== vmtest: Debian 6.1 $(ARCH), --hooks $$hooks" && \
		[ $$first = 1 ] || tests="-file $$tmp/tracer.test:/vmtest/tracer.test"; first=0; \
		start=$$(date +%s) && \
		"$$tmp/vmtest" -arch $(ARCH) $(VMTEST_FILES) -env NSTRACE_HOOKS=$$hooks $$tests $$trees -env VMTEST_SRC=$(CURDIR) \
			-file "$$tmp/flooder:/bin/nstrace-flooder" -env NSTRACE_FLOODER=/bin/nstrace-flooder \
			-timeout $(VMTEST_TIMEOUT) $(VMTEST_FLAGS) \
			cmd/vmtest/runtests.sh -- -test.v -test.count=1 -test.timeout=$(VMTEST_TEST_TIMEOUT) || exit 1; \
		echo "=== vmtest: $(ARCH) --hooks $$hooks took $$(( $$(date +%s) - start ))s"; \
	done
