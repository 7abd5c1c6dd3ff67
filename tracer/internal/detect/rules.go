package detect

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"go.yaml.in/yaml/v3"
)

// Names of the built-in rules: a contract, as alert records carry them.
const (
	RuleHostNamespaceEntry = "host-namespace-entry"
	RuleUnprivilegedUserns = "unprivileged-userns"
	RuleCrossContainerJoin = "cross-container-join"
	RuleDeniedChange       = "denied-namespace-change"
)

// Builtins lists the built-in rules with their default severities, in the
// order they are checked.
var Builtins = []struct {
	Name     string
	Severity Severity
}{
	{RuleHostNamespaceEntry, Critical},
	{RuleCrossContainerJoin, Warning},
	{RuleUnprivilegedUserns, Warning},
	{RuleDeniedChange, Notice},
	{RuleHostProcessEntersContainer, Warning},
	{RuleUsernsInContainer, Warning},
	{RuleUnshareWithoutCapSysAdmin, Warning},
	{RuleContainerSharesHostNamespace, Warning},
}

// builtinIndex are the positions in Builtins, for Rules.builtin.
const (
	bHost = iota
	bCross
	bUserns
	bDenied
	bEnter     // rules_process.go
	bCtrUserns // rules_process.go
	bNoCap     // rules_process.go
	bShares    // rules_shares.go
	numBuiltins
)

// Rules is a compiled rule set: the built-ins as configured, and the rules
// a file added. The zero value is not usable; see DefaultRules, LoadRules.
type Rules struct {
	builtin  [numBuiltins]builtinRule
	custom   []*customRule
	dispatch dispatch                 // which custom rules an event can match
	windows  map[string]time.Duration // folding windows the file set, by rule (fold.go)
}

type builtinRule struct {
	enabled  bool
	severity Severity
	unless   *program // nil: no exception
}

type customRule struct {
	name     string
	severity Severity
	message  string
	match    *program
	unless   *program
	need     need // what an event must be for match to hold
}

// DefaultRules enables every built-in at its default severity.
func DefaultRules() *Rules {
	r := &Rules{}
	for i, b := range Builtins {
		r.builtin[i] = builtinRule{enabled: true, severity: b.Severity}
	}
	return r
}

// Enabled lists the names of the rules that can raise alerts, built-ins
// first.
func (r *Rules) Enabled() []string {
	var names []string
	for i, b := range r.builtin {
		if b.enabled {
			names = append(names, Builtins[i].Name)
		}
	}
	for _, c := range r.custom {
		names = append(names, c.name)
	}
	return names
}

// LoadRules reads and compiles a rule file (see the package doc for its
// format). Errors name the file and line: `rules.yaml:12: rule "x": ...`.
func LoadRules(path string) (*Rules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return ParseRules(filepath.Base(path), data)
}

// ParseRules compiles a rule file's content; name is used in errors.
func ParseRules(name string, data []byte) (*Rules, error) {
	p := &ruleParser{file: name, rules: DefaultRules()}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			return nil, fmt.Errorf("%s:%s: %s", name, m[1], m[2])
		}
		return nil, fmt.Errorf("%s: %s", name, msg)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return p.rules, nil // an empty file changes nothing
	}
	if err := p.top(doc.Content[0]); err != nil {
		return nil, err
	}
	p.rules.dispatch = newDispatch(p.rules.custom)
	return p.rules, nil
}

// ruleParser walks the YAML tree, keeping node lines for errors.
type ruleParser struct {
	file  string
	rules *Rules
	env   *cel.Env
}

// RuleError is a problem in a rule file, at a line.
type RuleError struct {
	File string
	Line int
	Rule string // "" when the problem is not in one rule
	Msg  string
	Err  error // a sentinel such as ErrRuleTooCostly, or nil
}

func (e *RuleError) Unwrap() error { return e.Err }

func (e *RuleError) Error() string {
	if e.Rule != "" {
		return fmt.Sprintf("%s:%d: rule %q: %s", e.File, e.Line, e.Rule, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

func (p *ruleParser) errorf(n *yaml.Node, rule, format string, args ...any) error {
	return &RuleError{File: p.file, Line: n.Line, Rule: rule, Msg: fmt.Sprintf(format, args...)}
}

func (p *ruleParser) top(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return p.errorf(n, "", "want a mapping with version, builtin and rules")
	}
	return p.mapping(n, "", func(key string, k, v *yaml.Node) error {
		switch key {
		case "version":
			if v.Kind != yaml.ScalarNode || v.Value != "1" {
				return p.errorf(v, "", "version %q: this nstrace reads version 1", v.Value)
			}
			return nil
		case "builtin":
			return p.builtins(v)
		case "rules":
			return p.customs(v)
		}
		return p.errorf(k, "", "unknown key %q (want version, builtin or rules)", key)
	})
}

// mapping calls fn for each key of a mapping node, refusing repeated keys.
func (p *ruleParser) mapping(n *yaml.Node, rule string, fn func(key string, k, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return p.errorf(n, rule, "want a mapping")
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return p.errorf(k, rule, "want a plain key")
		}
		if seen[k.Value] {
			return p.errorf(k, rule, "%q given twice", k.Value)
		}
		seen[k.Value] = true
		if err := fn(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

func (p *ruleParser) builtins(n *yaml.Node) error {
	return p.mapping(n, "", func(name string, k, v *yaml.Node) error {
		i := builtinIndex(name)
		if i < 0 {
			return p.errorf(k, name, "no such built-in rule (built-ins: %s)", builtinNames())
		}
		b := &p.rules.builtin[i]
		if v.Kind == yaml.ScalarNode && (v.Tag == "!!bool" || v.Value == "") {
			// `host-namespace-entry: false` is short for enabled: false.
			on, err := p.boolean(v, name)
			b.enabled = on
			return err
		}
		return p.mapping(v, name, func(key string, k, v *yaml.Node) error {
			var err error
			switch key {
			case "enabled":
				b.enabled, err = p.boolean(v, name)
			case "severity":
				b.severity, err = p.severity(v, name)
			case "unless":
				b.unless, _, err = p.expr(v, name, "unless")
			case "window":
				err = p.window(v, name)
			default:
				err = p.errorf(k, name, "unknown key %q (a built-in takes enabled, severity, unless, window)", key)
			}
			return err
		})
	})
}

// yamlLine splits the YAML library's "line 3: problem".
var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

var ruleName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

func (p *ruleParser) customs(n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode {
		return p.errorf(n, "", "rules: want a list of rules")
	}
	names := map[string]bool{}
	for _, item := range n.Content {
		c := &customRule{severity: Warning}
		enabled := true
		var nameNode, matchNode *yaml.Node
		for i := 0; item.Kind == yaml.MappingNode && i+1 < len(item.Content); i += 2 {
			if item.Content[i].Value == "name" {
				nameNode = item.Content[i+1]
				c.name = nameNode.Value
			}
		}
		err := p.mapping(item, c.name, func(key string, k, v *yaml.Node) error {
			var err error
			switch key {
			case "name":
				if v.Kind != yaml.ScalarNode || !ruleName.MatchString(v.Value) {
					err = p.errorf(v, "", "rule name %q: want lower-case letters, digits, '.', '_' or '-'", v.Value)
				}
			case "enabled":
				enabled, err = p.boolean(v, c.name)
			case "severity":
				c.severity, err = p.severity(v, c.name)
			case "message":
				if v.Kind != yaml.ScalarNode {
					err = p.errorf(v, c.name, "message: want text")
				}
				c.message = v.Value
			case "match":
				matchNode = v
			case "unless":
				c.unless, _, err = p.expr(v, c.name, "unless")
			case "window":
				err = p.window(v, c.name)
			default:
				err = p.errorf(k, c.name, "unknown key %q (a rule takes name, severity, match, unless, message, window, enabled)", key)
			}
			return err
		})
		if err != nil {
			return err
		}
		switch {
		case nameNode == nil:
			return p.errorf(item, "", "a rule needs a name")
		case builtinIndex(c.name) >= 0:
			return p.errorf(nameNode, c.name, "is a built-in; change it under builtin:")
		case names[c.name]:
			return p.errorf(nameNode, c.name, "defined twice")
		case matchNode == nil:
			return p.errorf(item, c.name, "a rule needs match: an expression over the event")
		}
		names[c.name] = true
		if c.match, c.need, err = p.expr(matchNode, c.name, "match"); err != nil {
			return err
		}
		if enabled {
			p.rules.custom = append(p.rules.custom, c)
		}
	}
	return nil
}

func (p *ruleParser) boolean(v *yaml.Node, rule string) (bool, error) {
	b, err := strconv.ParseBool(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil {
		return false, p.errorf(v, rule, "%q: want true or false", v.Value)
	}
	return b, nil
}

func (p *ruleParser) severity(v *yaml.Node, rule string) (Severity, error) {
	s, ok := ParseSeverity(v.Value)
	if v.Kind != yaml.ScalarNode || !ok {
		return 0, p.errorf(v, rule, "severity %q: want info, notice, warning or critical", v.Value)
	}
	return s, nil
}

// expr compiles a CEL expression that must yield a bool, refusing one that
// may cost more than MaxRuleCost on an event, and tells what an event must
// be for it to hold. Its errors point at the file line where the
// expression's own line is.
func (p *ruleParser) expr(v *yaml.Node, rule, key string) (*program, need, error) {
	if v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
		return nil, need{}, p.errorf(v, rule, "%s: want an expression", key)
	}
	if p.env == nil {
		env, err := newEnv()
		if err != nil {
			return nil, need{}, fmt.Errorf("rules: %w", err)
		}
		p.env = env
	}
	ast, iss := p.env.Compile(v.Value)
	if iss != nil && iss.Err() != nil {
		errs := iss.Errors()
		line, msg := v.Line, iss.Err().Error()
		if len(errs) > 0 {
			msg = strings.TrimSuffix(errs[0].Message, " (in container '')")
			if l := errs[0].Location.Line(); l > 1 || v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				line = exprLine(v, l)
			}
		}
		return nil, need{}, &RuleError{File: p.file, Line: line, Rule: rule, Msg: key + ": " + msg}
	}
	if ast.OutputType() != cel.BoolType {
		return nil, need{}, p.errorf(v, rule, "%s: yields %s, want bool", key, ast.OutputType())
	}
	nd, err := classify(ast.NativeRep().Expr())
	if err != nil {
		return nil, need{}, p.errorf(v, rule, "%s: %v", key, err)
	}
	est, err := p.env.EstimateCost(ast, sizeEstimator{})
	if err != nil {
		return nil, need{}, p.errorf(v, rule, "%s: estimate cost: %v", key, err)
	}
	if est.Max > MaxRuleCost {
		return nil, need{}, &RuleError{File: p.file, Line: v.Line, Rule: rule, Err: ErrRuleTooCostly,
			Msg: fmt.Sprintf("%s: estimated cost %s per event, over the limit of %d (a comprehension over a long list?)",
				key, costText(est.Max), MaxRuleCost)}
	}
	prg, err := p.env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, need{}, p.errorf(v, rule, "%s: %v", key, err)
	}
	return &program{fast: prg, cost: est.Max, env: p.env, ast: ast}, nd, nil
}

// costText writes an estimate; past 2^63 it is unbounded in practice.
func costText(c uint64) string {
	if c >= 1<<63 {
		return "without bound"
	}
	return "up to " + strconv.FormatUint(c, 10)
}

// exprLine maps line l of an expression to a line of the file: a block
// scalar (| or >) starts on the line after its indicator. Folding joins
// lines, so for > this is the first line at worst.
func exprLine(v *yaml.Node, l int) int {
	switch {
	case v.Style&yaml.LiteralStyle != 0:
		return v.Line + l
	case v.Style&yaml.FoldedStyle != 0:
		return v.Line + 1
	}
	return v.Line + l - 1
}

func builtinIndex(name string) int {
	for i, b := range Builtins {
		if b.Name == name {
			return i
		}
	}
	return -1
}

func builtinNames() string {
	var names []string
	for _, b := range Builtins {
		names = append(names, b.Name)
	}
	return strings.Join(names, ", ")
}
