# nstrace — make help lists the targets.
GO        ?= go
ARCH      ?= amd64
VMLINUX_H := bpf/vmlinux/$(ARCH)/vmlinux.h
# Debian packages the targets below need; installed on demand when root.
GEN_DEPS  := clang llvm
APT_GET   := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends

.PHONY: help generate build test bench lint vmlinux vmtest deps-generate deps-bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

deps-generate:
	@command -v clang >/dev/null && command -v llvm-strip >/dev/null || \
		{ [ "$$(id -u)" = 0 ] && apt-get update -q && $(APT_GET) $(GEN_DEPS); } || \
		{ echo "make generate needs clang and llvm (apt-get install $(GEN_DEPS))" >&2; exit 1; }

generate: deps-generate ## recompile bpf/ into gen/ with bpf2go (needs clang, llvm)
	cd gen && $(GO) generate ./...

build: ## build ./nstrace
	$(GO) build -o nstrace ./cmd/nstrace

test: ## run every test (kernel tests need root; NSTRACE_KERNEL_TESTS=1 makes a skip fail)
	$(GO) test ./...

deps-bench:
	@command -v bpftrace >/dev/null || \
		{ [ "$$(id -u)" = 0 ] && apt-get update -q && $(APT_GET) bpftrace; } || \
		echo "bpftrace is not installed: nsbench leaves its column out" >&2

bench: build deps-bench ## Go benchmarks (0 allocs/op), then nsbench: untraced vs nstrace vs bpftrace, as root (~5 min; NSBENCH_FLAGS=-json or -baseline OLD)
	$(GO) test -run '^$$' -bench . -benchmem ./tracer/... ./cmd/nstrace/
	$(GO) run ./cmd/nsbench -nstrace ./nstrace $(NSBENCH_FLAGS)

lint: ## go vet and gofmt
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed: $$out" >&2; exit 1; }

vmlinux: ## regenerate bpf/vmlinux/$(ARCH)/vmlinux.h from this kernel's BTF (needs bpftool)
	@command -v bpftool >/dev/null || { [ "$$(id -u)" = 0 ] && $(APT_GET) bpftool; }
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX_H)

# Host tools the tracer's kernel tests exec, shipped into the VM with their
# libraries when installed here (an absent one makes its test skip there).
VMTEST_TOOLS ?= unshare nsenter readlink ip lsns runc bwrap
# One vCPU: under software emulation with two, the cross-CPU text patching
# that attaching syscall tracepoints does stalled the 6.1 guest for minutes.
VMTEST_FLAGS ?= -smp 1

vmtest: ## run ./tracer's kernel tests on Debian's 6.1 kernel under QEMU, under each hook set
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	CGO_ENABLED=0 $(GO) test -c -o "$$tmp/tracer.test" ./tracer && \
	$(GO) build -o "$$tmp/vmtest" ./cmd/vmtest && \
	for hooks in fentry tracepoint; do \
		echo "=== vmtest: Debian 6.1, --hooks $$hooks" && \
		"$$tmp/vmtest" $(foreach t,$(VMTEST_TOOLS),$(if $(shell command -v $(t)),-file $(t))) -env NSTRACE_HOOKS=$$hooks $(VMTEST_FLAGS) \
			"$$tmp/tracer.test" -- -test.v -test.count=1 -test.timeout=7m || exit 1; \
	done
