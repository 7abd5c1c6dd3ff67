// Package gen holds the BPF objects compiled from bpf/ by bpf2go, committed
// so that building nstrace needs no clang. Regenerate with `make generate`.
//
// One line per architecture: each compiles against its own kernel's
// vmlinux.h (bpf/vmlinux/ARCH), and bpf2go defines __TARGET_ARCH_* for it.
package gen

//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -mcpu=v3" -target amd64 -type event -type change -type ns_type -type event_kind -type change_action -type drop_cause -type flood_key -type proc -type ancestor -type proc_flag -type proc_form Nstrace ../bpf/nstrace.bpf.c -- -I../bpf -I../bpf/include -I../bpf/vmlinux/amd64
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -mcpu=v3" -target arm64 -type event -type change -type ns_type -type event_kind -type change_action -type drop_cause -type flood_key -type proc -type ancestor -type proc_flag -type proc_form Nstrace ../bpf/nstrace.bpf.c -- -I../bpf -I../bpf/include -I../bpf/vmlinux/arm64
