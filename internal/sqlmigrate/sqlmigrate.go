// Package sqlmigrate reads the numbered SQL migrations that the server's
// store (internal/store/sqlstore) and the client's store (client/clientstore)
// embed. Both apply them their own way (dialects, locks, connections); what
// they share is the file convention, checked here so that a misnamed or
// misnumbered file fails every test at once instead of reaching a database.
//
// A migration file is named NNN-kebab-description.sql and starts with the
// line "-- vN (compatible with vM+): description", where N is the file's
// number and M the oldest schema version whose code still works once this
// one is applied: it lets an older binary refuse a database that a newer one
// has moved too far.
package sqlmigrate

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Migration is one numbered schema change.
type Migration struct {
	Version        int
	CompatibleFrom int
	Name           string // the file name
	SQL            string // the whole file, header included
}

var (
	fileName = regexp.MustCompile(`^(\d{3})-([a-z0-9]+(?:-[a-z0-9]+)*)\.sql$`)
	header   = regexp.MustCompile(`^-- v(\d+) \(compatible with v(\d+)\+\): \S.*$`)
)

// Load parses the migrations in dir of fsys, checking that they are
// numbered 1, 2, 3, ... without gaps and that each header agrees with its
// file name. They come back in order.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration %q: name is not NNN-kebab-description.sql", e.Name())
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		first, _, _ := strings.Cut(string(body), "\n")
		h := header.FindStringSubmatch(strings.TrimRight(first, "\r"))
		if h == nil {
			return nil, fmt.Errorf("migration %q: first line is not \"-- vN (compatible with vM+): description\"", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		hv, _ := strconv.Atoi(h[1])
		compat, _ := strconv.Atoi(h[2])
		if hv != v || compat < 1 || compat > v {
			return nil, fmt.Errorf("migration %q: header says v%d compatible with v%d+", e.Name(), hv, compat)
		}
		ms = append(ms, Migration{Version: v, CompatibleFrom: compat, Name: e.Name(), SQL: string(body)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %q: expected version %d", m.Name, i+1)
		}
	}
	return ms, nil
}
