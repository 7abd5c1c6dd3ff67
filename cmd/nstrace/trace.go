package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/event"
)

type traceFlags struct {
	output    string
	readyFile string
	ringSize  int
	hooks     string
	pid       uint32
	types     []string
}

func newTraceCommand() *cobra.Command {
	var f traceFlags
	cmd := &cobra.Command{
		Use:   "trace [flags]",
		Short: "Stream namespace creation and join events live (the default command)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTrace(cmd.Context(), &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	fl.StringVar(&f.readyFile, "ready-file", "", "create this file once every probe is attached")
	fl.IntVar(&f.ringSize, "ring-size", tracer.DefaultRingSize, "ring buffer size in bytes (a power of two)")
	fl.StringVar(&f.hooks, "hooks", "auto", "hook set: auto or tracepoint")
	fl.Uint32Var(&f.pid, "pid", 0, "trace only this process id (filtered in the kernel)")
	fl.StringSliceVar(&f.types, "type", nil, "namespace types to report, e.g. net,uts (filtered in the kernel)")
	return cmd
}

func runTrace(ctx context.Context, f *traceFlags) error {
	out, err := newOutput(f.output, os.Stdout)
	if err != nil {
		return err
	}
	types, err := parseTypes(f.types)
	if err != nil {
		return err
	}
	t, err := tracer.Open(tracer.Options{RingSize: f.ringSize, Pid: f.pid, Types: types, Hooks: f.hooks})
	if err != nil {
		return err
	}
	defer t.Close()
	for _, note := range t.Notes() {
		fmt.Fprintf(os.Stderr, "nstrace: %s\n", note)
	}
	if f.readyFile != "" {
		if err := writeReadyFile(f.readyFile); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "nstrace: tracing started; %s\n", tracer.HookSummary(t.Hooks()))
	if err := out.start(); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	runErr := t.Run(ctx, out.write, out.flush)
	s := t.Stats()
	fmt.Fprintf(os.Stderr, "nstrace: %d events, %d lost\n", s.Events, s.Lost)
	return runErr
}

// writeReadyFile tells scripts the probes are attached. The file holds our pid.
func writeReadyFile(path string) error {
	if err := os.WriteFile(path, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
		return fmt.Errorf("ready file: %w", err)
	}
	return nil
}

func parseTypes(names []string) ([]event.NsType, error) {
	var types []event.NsType
	for _, n := range names {
		t, ok := event.ParseNsType(n)
		if !ok {
			return nil, usageError{fmt.Errorf("unknown namespace type %q (want one of cgroup ipc mnt net pid pid_for_children time time_for_children user uts)", n)}
		}
		types = append(types, t)
	}
	return types, nil
}
