package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is stamped by `make build` (-ldflags "-X github.com/nstrace/nstrace/tracer/internal/cli.version=$(git
// describe)"); when it is not, buildVersion reads what the Go toolchain
// recorded: the module's version, else the commit it was built from.
var version string

func init() {
	if version == "" {
		version = buildVersion(debug.ReadBuildInfo())
	}
}

// buildVersion is the module version of an installed release (go install
// ...@v1.2.3), else the commit a plain `go build` in a checkout recorded
// (12 digits, -dirty with local changes), else "devel".
func buildVersion(bi *debug.BuildInfo, ok bool) string {
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "devel-" + rev
}

// versionLine is what `nstrace version` and -v/--version print.
func versionLine() string {
	return fmt.Sprintf("nstrace %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print nstrace's version",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), versionLine())
			return err
		},
	}
}
