package detect

import "github.com/google/cel-go/cel"

// Listing is one rule as `nstrace rules` shows it.
type Listing struct {
	Name      string
	Severity  Severity
	Enabled   bool
	Builtin   bool
	Mitre     []string
	Condition string // a built-in's documented condition, a file rule's match
	Unless    bool   // the file gave it an exception
}

// List lists the rules: the built-ins in Precedence order (most specific
// first) with their severity as configured, flood, then the file's rules.
func (r *Rules) List() []Listing {
	var out []Listing
	for _, name := range Precedence {
		for i, b := range Builtins {
			if b.Name != name {
				continue
			}
			c := r.builtin[i]
			out = append(out, Listing{Name: name, Severity: c.severity, Enabled: c.enabled, Builtin: true,
				Mitre: RuleInfo[name].Mitre, Condition: RuleInfo[name].Condition, Unless: c.unless != nil})
		}
	}
	out = append(out, Listing{Name: RuleFlood, Severity: Warning, Enabled: true, Builtin: true,
		Mitre: RuleInfo[RuleFlood].Mitre, Condition: RuleInfo[RuleFlood].Condition})
	for _, c := range r.custom {
		l := Listing{Name: c.name, Severity: c.severity, Enabled: true, Unless: c.unless != nil}
		if c.match != nil && c.match.ast != nil {
			if src, err := cel.AstToString(c.match.ast); err == nil {
				l.Condition = src
			}
		}
		out = append(out, l)
	}
	return out
}
