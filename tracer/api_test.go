package tracer_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The public API is what other Go programs may import: the tracer, the
// event model and the session files, in these directories (relative to
// tracer/). Every other package lives under tracer/internal/, where the Go
// tool keeps other modules out.
var publicDirs = []string{".", "event", "session"}

// commandDir is public too, for Go lets only code under tracer/ import
// tracer/internal/: it holds one documented Main per command under cmd/,
// which that command's main.go runs. It is no library, so its names are
// not counted.
const commandDir = "command"

// maxPublicNames bounds the exported top-level names of the public
// packages (each constant and variable counts, methods do not). A name
// added must replace one, or raise this on purpose in review.
const maxPublicNames = 78

// commonMethods implement well-known interfaces and say nothing new in a
// comment, as golint and revive also judge.
var commonMethods = []string{"Error", "String", "Unwrap", "Read", "Write", "MarshalJSON", "UnmarshalJSON"}

func TestOnlyThePublicPackagesAreUnderTracer(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if d.Name() == "testdata" || path == "internal" {
			return filepath.SkipDir
		}
		gofiles, _ := filepath.Glob(filepath.Join(path, "*.go"))
		if len(gofiles) > 0 && !slices.Contains(publicDirs, path) && path != commandDir {
			t.Errorf("tracer/%s is a package other programs may import: put it under tracer/internal/, or make it public on purpose (publicDirs)", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestThePublicAPIIsSmallAndDocumented(t *testing.T) {
	total := 0
	var listing []string
	for _, dir := range publicDirs {
		names := exportedNames(t, dir)
		total += len(names)
		listing = append(listing, dir+": "+strings.Join(names, " "))
	}
	if total > maxPublicNames {
		t.Errorf("the public packages export %d top-level names, over the limit of %d:\n%s", total, maxPublicNames, strings.Join(listing, "\n"))
	}
	t.Logf("%d exported top-level names (limit %d)", total, maxPublicNames)
	exportedNames(t, commandDir) // documented, not counted

}

// exportedNames parses the package in dir (tests left out) and returns its
// exported top-level names. It reports, as test errors, any exported name
// or method without a doc comment, and any exported declaration whose type
// names a package other programs cannot import (tracer/internal/) or need not
// (gen/, the BPF objects).
func exportedNames(t *testing.T, dir string) []string {
	t.Helper()
	fset := token.NewFileSet()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		hidden := hiddenImports(f)
		exposes := func(where string, n ast.Node) {
			if n == nil {
				return
			}
			ast.Inspect(n, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && hidden[id.Name] != "" {
						t.Errorf("%s: %s exposes %s.%s from %s", fset.Position(sel.Pos()), where, id.Name, sel.Sel.Name, hidden[id.Name])
					}
				}
				return true
			})
		}
		undocumented := func(pos token.Pos, what string) {
			t.Errorf("%s: %s has no doc comment", fset.Position(pos), what)
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				name := d.Name.Name
				if d.Recv != nil {
					recv := receiverType(d.Recv.List[0].Type)
					if !ast.IsExported(recv) {
						continue
					}
					name = recv + "." + name
					if d.Doc == nil && !slices.Contains(commonMethods, d.Name.Name) {
						undocumented(d.Pos(), name)
					}
				} else {
					names = append(names, name)
					if d.Doc == nil {
						undocumented(d.Pos(), name)
					}
				}
				exposes(name, d.Type)
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						names = append(names, s.Name.Name)
						if s.Doc == nil && d.Doc == nil {
							undocumented(s.Pos(), s.Name.Name)
						}
						exposes(s.Name.Name, exportedParts(s.Type))
					case *ast.ValueSpec:
						for _, id := range s.Names {
							if !id.IsExported() {
								continue
							}
							names = append(names, id.Name)
							if s.Doc == nil && d.Doc == nil {
								undocumented(id.Pos(), id.Name)
							}
							exposes(id.Name, s.Type)
						}
					}
				}
			}
		}
	}
	slices.Sort(names)
	return names
}

// hiddenImports maps the names a file imports tracer/internal/ and gen/ packages
// under to their paths.
func hiddenImports(f *ast.File) map[string]string {
	m := map[string]string{}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if !strings.Contains(path, "/internal/") && !strings.HasSuffix(path, "/internal") && !strings.HasSuffix(path, "/gen") {
			continue
		}
		name := path[strings.LastIndex(path, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		m[name] = path
	}
	return m
}

func receiverType(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

// exportedParts is what outsiders see of a type: for a struct, its
// exported fields; for an interface, its methods; anything else whole.
func exportedParts(e ast.Expr) ast.Node {
	var fields *ast.FieldList
	switch x := e.(type) {
	case *ast.StructType:
		fields = &ast.FieldList{}
		for _, f := range x.Fields.List {
			if len(f.Names) == 0 || slices.ContainsFunc(f.Names, func(id *ast.Ident) bool { return id.IsExported() }) {
				fields.List = append(fields.List, f)
			}
		}
		return fields
	case *ast.InterfaceType:
		return x.Methods
	}
	return e
}
