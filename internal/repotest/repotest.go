// Package repotest checks rules that span the whole repository, reading its
// Go files with go/parser:
//
//   - every package has a package doc comment, in exactly one file;
//   - the public packages (types/, e2ee/, client/, proto/) do not import
//     internal/ outside their tests;
//   - code under internal/ prints with fmt.Print, fmt.Printf or fmt.Println
//     only in internal/cli: everything else logs through log/slog.
//
// Its tests run these checks on this module; Load and the Check methods let
// them run on any module directory.
package repotest

import (
	"bufio"
	"errors"
	"fmt"
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A Problem is one broken rule, at a file position or a package directory.
type Problem struct {
	Pos string // "dir/file.go:12" or "dir", relative to the module root
	Msg string
}

func (p Problem) String() string { return p.Pos + ": " + p.Msg }

// Module is the parsed Go source of one module.
type Module struct {
	Root     string // directory holding go.mod
	Path     string // module path from go.mod
	Packages []*Package
	fset     *token.FileSet
}

// Package is the files of one directory that share a package clause. A
// directory with an external test package (name_test) has two.
type Package struct {
	Dir   string // slash-separated, relative to the module root; "." for the root
	Name  string
	Files []*File
}

// File is one parsed Go file.
type File struct {
	Path      string // slash-separated, relative to the module root
	AST       *ast.File
	Test      bool // a _test.go file
	Generated bool // carries a "Code generated ... DO NOT EDIT." comment
}

// Load parses every Go file of the module rooted at root. Like the go
// command it skips directories named testdata or vendor and those starting
// with "." or "_", nested modules, and files that a //go:build ignore line
// keeps out of every build.
func Load(root string) (*Module, error) {
	modPath, err := modulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	m := &Module{Root: root, Path: modPath, fset: token.NewFileSet()}
	byKey := map[string]*Package{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			name := d.Name()
			if rel != "." && (name == "testdata" || name == "vendor" || name == "node_modules" ||
				strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if rel != "." {
				if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_") {
			return nil
		}
		f, err := parser.ParseFile(m.fset, p, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if ignored(f) {
			return nil
		}
		dir := path.Dir(rel)
		key := dir + " " + f.Name.Name
		pkg := byKey[key]
		if pkg == nil {
			pkg = &Package{Dir: dir, Name: f.Name.Name}
			byKey[key] = pkg
			m.Packages = append(m.Packages, pkg)
		}
		pkg.Files = append(pkg.Files, &File{
			Path:      rel,
			AST:       f,
			Test:      strings.HasSuffix(rel, "_test.go"),
			Generated: ast.IsGenerated(f),
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// modulePath reads the module line of a go.mod file.
func modulePath(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			rest = strings.TrimSpace(rest)
			if unq, err := strconv.Unquote(rest); err == nil {
				rest = unq
			}
			return rest, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errors.New(gomod + ": no module line")
}

// ignored reports whether f has a build constraint that excludes it from
// every build, such as //go:build ignore.
func ignored(f *ast.File) bool {
	for _, cg := range f.Comments {
		if cg.Pos() >= f.Package {
			break
		}
		for _, c := range cg.List {
			if !constraint.IsGoBuild(c.Text) {
				continue
			}
			expr, err := constraint.Parse(c.Text)
			if err != nil {
				return false
			}
			// Satisfiable with every tag but "ignore" set?
			return !expr.Eval(func(tag string) bool { return tag != "ignore" })
		}
	}
	return false
}

func (m *Module) pos(p token.Pos) string {
	position := m.fset.Position(p)
	rel, err := filepath.Rel(m.Root, position.Filename)
	if err != nil {
		rel = position.Filename
	}
	return filepath.ToSlash(rel) + ":" + strconv.Itoa(position.Line)
}

// CheckPackageDocs reports packages without a doc comment, with one in
// more than one file, or with one that does not start "Package NAME".
// Test-only packages and packages made only of generated files are exempt;
// generated files never count.
func (m *Module) CheckPackageDocs() []Problem {
	var probs []Problem
	for _, pkg := range m.Packages {
		var files, documented []*File
		for _, f := range pkg.Files {
			if f.Test || f.Generated {
				continue
			}
			files = append(files, f)
			if f.AST.Doc != nil {
				documented = append(documented, f)
			}
		}
		if len(files) == 0 {
			continue
		}
		switch {
		case len(documented) == 0:
			probs = append(probs, Problem{Pos: pkg.Dir, Msg: fmt.Sprintf(
				"package %s has no package doc comment: put one, %q, right above the package clause of one file (%s)",
				pkg.Name, docPrefix(pkg)+"...", fileNames(files))})
		case len(documented) > 1:
			probs = append(probs, Problem{Pos: pkg.Dir, Msg: fmt.Sprintf(
				"package %s has a package doc comment in %d files (%s): keep one, and separate the others from the package clause by a blank line",
				pkg.Name, len(documented), fileNames(documented))})
		default:
			f := documented[0]
			if pkg.Name != "main" && !strings.HasPrefix(f.AST.Doc.Text(), docPrefix(pkg)) {
				probs = append(probs, Problem{Pos: m.pos(f.AST.Doc.Pos()), Msg: fmt.Sprintf(
					"the doc comment of package %s should start %q", pkg.Name, docPrefix(pkg))})
			}
		}
	}
	return probs
}

func docPrefix(pkg *Package) string {
	if pkg.Name == "main" {
		return "Command " + path.Base(pkg.Dir) + " "
	}
	return "Package " + pkg.Name + " "
}

func fileNames(files []*File) string {
	var names []string
	for _, f := range files {
		names = append(names, path.Base(f.Path))
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// PublicDirs are the top-level directories whose packages other people
// import; their non-test files must not import internal/.
var PublicDirs = []string{"types", "e2ee", "client", "proto"}

// CheckPublicImports reports non-test files under PublicDirs that import a
// package under the module's internal/ directory.
func (m *Module) CheckPublicImports() []Problem {
	internal := m.Path + "/internal"
	var probs []Problem
	for _, pkg := range m.Packages {
		top, _, _ := strings.Cut(pkg.Dir, "/")
		if !slices.Contains(PublicDirs, top) {
			continue
		}
		for _, f := range pkg.Files {
			if f.Test {
				continue
			}
			for _, imp := range f.AST.Imports {
				p, err := strconv.Unquote(imp.Path.Value)
				if err != nil || (p != internal && !strings.HasPrefix(p, internal+"/")) {
					continue
				}
				probs = append(probs, Problem{Pos: m.pos(imp.Pos()), Msg: fmt.Sprintf(
					"%s/ is public API and must not import %s (only its _test.go files may)", top, p)})
			}
		}
	}
	return probs
}

// PrintFuncs are the fmt functions that write to standard output.
var PrintFuncs = []string{"Print", "Printf", "Println"}

// CheckPrinting reports uses of fmt.Print, fmt.Printf and fmt.Println in
// the non-test files under internal/ and cmd/, except in internal/cli and
// cmd/ themselves, which own the terminal. A function value counts as much
// as a call.
func (m *Module) CheckPrinting() []Problem {
	var probs []Problem
	for _, pkg := range m.Packages {
		if !underAny(pkg.Dir, "internal") || underAny(pkg.Dir, "internal/cli", "cmd") {
			continue
		}
		for _, f := range pkg.Files {
			if f.Test {
				continue
			}
			fmtNames, dot := fmtImportNames(f.AST)
			if len(fmtNames) == 0 && !dot {
				continue
			}
			var visit func(n ast.Node) bool
			visit = func(n ast.Node) bool {
				var name string
				switch n := n.(type) {
				case *ast.SelectorExpr:
					x, ok := n.X.(*ast.Ident)
					if !ok || !slices.Contains(fmtNames, x.Name) {
						ast.Inspect(n.X, visit) // not n.Sel: log.Print is no fmt.Print
						return false
					}
					name = n.Sel.Name
				case *ast.Ident:
					if dot {
						name = n.Name
					}
				}
				if !slices.Contains(PrintFuncs, name) {
					return true
				}
				probs = append(probs, Problem{Pos: m.pos(n.Pos()), Msg: fmt.Sprintf(
					"fmt.%s writes to standard output; outside internal/cli and cmd/ log with the injected *slog.Logger, or write to an io.Writer you are given",
					name)})
				return false
			}
			ast.Inspect(f.AST, visit)
		}
	}
	return probs
}

// fmtImportNames returns the names under which f imports fmt, and whether
// it dot-imports it.
func fmtImportNames(f *ast.File) (names []string, dot bool) {
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p != "fmt" {
			continue
		}
		switch {
		case imp.Name == nil:
			names = append(names, "fmt")
		case imp.Name.Name == ".":
			dot = true
		case imp.Name.Name != "_":
			names = append(names, imp.Name.Name)
		}
	}
	return names, dot
}

// underAny reports whether dir is one of dirs or inside one.
func underAny(dir string, dirs ...string) bool {
	for _, d := range dirs {
		if dir == d || strings.HasPrefix(dir, d+"/") {
			return true
		}
	}
	return false
}
