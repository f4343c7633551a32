package repotest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// moduleRoot finds the directory holding go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// TestRepository runs every check on this module.
func TestRepository(t *testing.T) {
	m, err := Load(moduleRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Packages) == 0 {
		t.Fatal("no packages found")
	}
	checks := []struct {
		name string
		run  func() []Problem
	}{
		{"package docs", m.CheckPackageDocs},
		{"public packages import no internal", m.CheckPublicImports},
		{"no fmt.Print outside internal/cli and cmd", m.CheckPrinting},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			for _, p := range c.run() {
				t.Error(p)
			}
		})
	}
}

// TestChecks runs the checks on the small module in testdata/mod, which
// breaks each rule once or twice and keeps it in the tricky cases.
func TestChecks(t *testing.T) {
	m, err := Load("testdata/mod")
	if err != nil {
		t.Fatal(err)
	}
	if m.Path != "example.org/fixture" {
		t.Errorf("module path %q", m.Path)
	}
	var dirs []string
	for _, p := range m.Packages {
		dirs = append(dirs, p.Dir+":"+p.Name)
	}
	slices.Sort(dirs)
	wantDirs := []string{"client:client", "cmd/tool:main", "gen:gen", "good:good", "internal/cli:cli",
		"internal/secret:secret", "nodoc:nodoc", "testonly:testonly", "twodocs:twodocs", "types:types", "wrongdoc:wrongdoc"}
	if !slices.Equal(dirs, wantDirs) {
		t.Errorf("packages\n%q, want\n%q", dirs, wantDirs)
	}

	tests := []struct {
		name string
		got  []Problem
		want []string
	}{
		{"docs", m.CheckPackageDocs(), []string{
			`nodoc: package nodoc has no package doc comment: put one, "Package nodoc ...", right above the package clause of one file (a.go)`,
			`twodocs: package twodocs has a package doc comment in 2 files (a.go, b.go): keep one, and separate the others from the package clause by a blank line`,
			`wrongdoc/a.go:1: the doc comment of package wrongdoc should start "Package wrongdoc "`,
		}},
		{"imports", m.CheckPublicImports(), []string{
			`types/t.go:4: types/ is public API and must not import example.org/fixture/internal/secret (only its _test.go files may)`,
		}},
		{"printing", m.CheckPrinting(), []string{
			`internal/secret/s.go:12: fmt.Println writes to standard output; outside internal/cli and cmd/ log with the injected *slog.Logger, or write to an io.Writer you are given`,
			`internal/secret/s.go:13: fmt.Printf writes to standard output; outside internal/cli and cmd/ log with the injected *slog.Logger, or write to an io.Writer you are given`,
			`internal/secret/s.go:14: fmt.Print writes to standard output; outside internal/cli and cmd/ log with the injected *slog.Logger, or write to an io.Writer you are given`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range tt.got {
				got = append(got, p.String())
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", join(got), join(tt.want))
			}
		})
	}
}

func join(lines []string) string {
	s := ""
	for _, l := range lines {
		s += "  " + l + "\n"
	}
	return s
}
