package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/encode"
)

// newRulesCommand is `nstrace rules`: the detection rules, as a rule file
// leaves them.
func newRulesCommand() *cobra.Command {
	var output, file string
	cmd := &cobra.Command{
		Use:   "rules [--rules FILE] [-o text|json]",
		Short: "List the detection rules: severity, MITRE ATT&CK ids, conditions",
		Long: "List the built-in detection rules, most specific first (when one event raises\n" +
			"several, the alert is the most specific one's and names the others in \"also\"),\n" +
			"with their severity, MITRE ATT&CK technique ids and condition; with --rules,\n" +
			"as that file leaves them, and its own rules after them.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("rules takes no arguments, got %q (--rules FILE reads a rule file)", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRules(cmd.OutOrStdout(), output, file)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, or json (JSON Lines, one rule per line)")
	cmd.Flags().StringVar(&file, "rules", "", "detection rules file (YAML) to apply to the built-ins, and whose rules to list")
	return cmd
}

func runRules(w io.Writer, output, file string) error {
	if output != "text" && output != "json" {
		return usageError{fmt.Errorf("unknown output format %q (want text or json)", output)}
	}
	rules := detect.DefaultRules()
	if file != "" {
		var err error
		if rules, err = loadRules(file); err != nil {
			return err
		}
	}
	var b []byte
	for _, l := range rules.List() {
		b = b[:0]
		if output == "json" {
			b = appendRuleJSON(b, &l)
		} else {
			b = appendRuleText(b, &l)
		}
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// appendRuleText writes `name  severity  mitre  [off] [unless]` and the
// condition on an indented line.
func appendRuleText(b []byte, l *detect.Listing) []byte {
	b = fmt.Appendf(b, "%-31s %-8s %-10s", l.Name, l.Severity, strings.Join(l.Mitre, ","))
	if !l.Builtin {
		b = append(b, " (file)"...)
	}
	if !l.Enabled {
		b = append(b, " (off)"...)
	}
	if l.Unless {
		b = append(b, " (with an exception)"...)
	}
	b = []byte(strings.TrimRight(string(b), " "))
	b = append(b, "\n    "...)
	return append(b, l.Condition...)
}

func appendRuleJSON(b []byte, l *detect.Listing) []byte {
	b = append(b, `{"name":`...)
	b = encode.AppendJSONString(b, l.Name)
	b = append(b, `,"severity":"`...)
	b = append(b, l.Severity.String()...)
	b = fmt.Appendf(b, `","enabled":%t,"builtin":%t,"mitre":[`, l.Enabled, l.Builtin)
	for i, m := range l.Mitre {
		if i > 0 {
			b = append(b, ',')
		}
		b = encode.AppendJSONString(b, m)
	}
	b = append(b, `],"condition":`...)
	b = encode.AppendJSONString(b, l.Condition)
	if l.Unless {
		b = append(b, `,"unless":true`...)
	}
	return append(b, '}')
}
