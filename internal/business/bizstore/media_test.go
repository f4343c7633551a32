package bizstore

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/business/cloudapi"
)

// TestMediaStorageBySize: small files stay in the database, large ones go
// to the media directory, private to the agent, and leave with their row.
func TestMediaStorageBySize(t *testing.T) {
	s, path := open(t)
	ctx := t.Context()
	dir := filepath.Join(filepath.Dir(path), MediaDir)
	put := func(id string, n int) {
		t.Helper()
		if err := s.PutMedia(ctx, cloudapi.Media{ID: id, PhoneNumberID: "1"}, bytes.NewReader(make([]byte, n))); err != nil {
			t.Fatal(err)
		}
	}
	put("small", InlineMediaMax)
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a file of %d bytes went to disk (%v)", InlineMediaMax, err)
	}
	put("large", InlineMediaMax+1)
	fi, err := os.Stat(filepath.Join(dir, "large"))
	if err != nil || fi.Size() != InlineMediaMax+1 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("large file on disk: %v %v", fi, err)
	}
	if di, err := os.Stat(dir); err != nil || di.Mode().Perm() != 0o700 {
		t.Fatalf("media directory: %v %v", di, err)
	}
	// Replaced by a small one, the file goes.
	put("large", 10)
	if _, err := os.Stat(filepath.Join(dir, "large")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the replaced file stayed: %v", err)
	}
	put("large", 2*InlineMediaMax)
	if err := s.DeleteMedia(ctx, "large"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "large")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a deleted file stayed: %v", err)
	}
	// An id cannot name a path.
	for _, id := range []string{"", "../x", "a/b", ".upload-x"} {
		if err := s.PutMedia(ctx, cloudapi.Media{ID: id}, bytes.NewReader(nil)); err == nil {
			t.Errorf("media id %q accepted", id)
		}
	}
}

// TestMediaSweep: Open removes what a crash left in the media directory
// (temporary files, files without a row) once it is older than strayAge;
// younger ones may belong to an upload in progress elsewhere.
func TestMediaSweep(t *testing.T) {
	s, path := open(t)
	ctx := t.Context()
	dir := filepath.Join(filepath.Dir(path), MediaDir)
	if err := s.PutMedia(ctx, cloudapi.Media{ID: "kept", PhoneNumberID: "1"}, bytes.NewReader(make([]byte, 2*InlineMediaMax))); err != nil {
		t.Fatal(err)
	}
	s.Close()
	old := time.Now().Add(-2 * strayAge)
	files := map[string]bool{ // name → survives
		"kept": true, tempPrefix + "old": false, tempPrefix + "new": true, "orphan-old": false, "orphan-new": true,
	}
	for name := range files {
		p := filepath.Join(dir, name)
		if name != "kept" {
			if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if name == "kept" || name == tempPrefix+"old" || name == "orphan-old" {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	s2, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for name, survives := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if survives != (err == nil) {
			t.Errorf("%s: survives=%v, want %v", name, err == nil, survives)
		}
	}
	if rc, err := s2.OpenMedia(ctx, "kept"); err != nil {
		t.Fatalf("the stored file: %v", err)
	} else {
		rc.Close()
	}
}
