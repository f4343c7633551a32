// Package blobtest is the conformance suite for blob.Store: every
// implementation must pass Run. It checks what the media service relies
// on: chunks written in any order and again read back as one blob, any
// range of it, a broken chunk write that leaves the committed chunks alone,
// deletion.
package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/blob"
)

// Run runs the suite on the store open returns (one store may serve every
// test: each uses its own blob ids).
func Run(t *testing.T, open func(t *testing.T) blob.Store) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s blob.Store)
	}{
		{"RoundTrip", roundTrip},
		{"Ranges", ranges},
		{"RewriteChunk", rewriteChunk},
		{"ShortChunk", shortChunk},
		{"Delete", deleteBlob},
		{"Missing", missing},
		{"Invalid", invalid},
		{"Concurrent", concurrent},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func newRef(size, chunk int64) blob.Ref {
	var id [16]byte
	_, _ = rand.Read(id[:])
	return blob.Ref{ID: hex.EncodeToString(id[:]), Size: size, ChunkSize: chunk}
}

func random(n int64) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func chunkOf(data []byte, r blob.Ref, i int64) []byte {
	return data[i*r.ChunkSize : i*r.ChunkSize+r.ChunkLen(i)]
}

// put writes every chunk of data, in the order given (all in order if nil).
func put(t *testing.T, s blob.Store, r blob.Ref, data []byte, order []int64) {
	t.Helper()
	if order == nil {
		for i := range r.Chunks() {
			order = append(order, i)
		}
	}
	for _, i := range order {
		if err := s.WriteChunk(ctx(t), r, i, bytes.NewReader(chunkOf(data, r, i))); err != nil {
			t.Fatalf("WriteChunk %d: %v", i, err)
		}
	}
}

func read(t *testing.T, s blob.Store, r blob.Ref, off, n int64) []byte {
	t.Helper()
	rc, err := s.Open(ctx(t), r, off, n)
	if err != nil {
		t.Fatalf("Open(%d, %d): %v", off, n, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %d+%d: %v", off, n, err)
	}
	return got
}

func roundTrip(t *testing.T, s blob.Store) {
	for _, tc := range []struct {
		name        string
		size, chunk int64
		order       []int64
	}{
		{"one byte", 1, 1 << 10, nil},
		{"one short chunk", 1000, 1 << 10, nil},
		{"exact chunks", 4 << 10, 1 << 10, nil},
		{"last chunk short", 4<<10 + 17, 1 << 10, nil},
		{"out of order", 5<<10 + 3, 1 << 10, []int64{5, 0, 3, 1, 4, 2}},
		{"larger than an object store chunk", 600 << 10, 256 << 10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRef(tc.size, tc.chunk)
			data := random(tc.size)
			put(t, s, r, data, tc.order)
			if got := read(t, s, r, 0, r.Size); !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes differ from the %d written", len(got), len(data))
			}
		})
	}
}

func ranges(t *testing.T, s blob.Store) {
	r := newRef(10<<10+5, 1<<10)
	data := random(r.Size)
	put(t, s, r, data, nil)
	for _, rg := range [][2]int64{
		{0, 1}, {0, 1 << 10}, {1, 1 << 10}, {1023, 2}, {1 << 10, 1 << 10}, {500, 5000},
		{r.Size - 1, 1}, {r.Size - 6, 6}, {3 << 10, r.Size - 3<<10}, {r.Size, 0}, {7, 0},
	} {
		if got, want := read(t, s, r, rg[0], rg[1]), data[rg[0]:rg[0]+rg[1]]; !bytes.Equal(got, want) {
			t.Errorf("range %d+%d: got %d bytes, not the written ones", rg[0], rg[1], len(got))
		}
	}
	// Small reads across chunk borders, as an HTTP server copies.
	rc, err := s.Open(ctx(t), r, 1000, 3000)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got []byte
	buf := make([]byte, 7)
	for {
		n, err := rc.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, data[1000:4000]) {
		t.Errorf("7-byte reads gave %d bytes, not the written ones", len(got))
	}
}

func rewriteChunk(t *testing.T, s blob.Store) {
	r := newRef(3<<10, 1<<10)
	data := random(r.Size)
	put(t, s, r, data, nil)
	// A client that resends a chunk sends the same bytes; a different
	// chunk 1 replaces the old one and leaves its neighbours.
	copy(data[1<<10:2<<10], random(1<<10))
	put(t, s, r, data, []int64{1, 1})
	if got := read(t, s, r, 0, r.Size); !bytes.Equal(got, data) {
		t.Fatal("a rewritten chunk is not what was written last")
	}
}

func shortChunk(t *testing.T, s blob.Store) {
	r := newRef(3<<10, 1<<10)
	data := random(r.Size)
	put(t, s, r, data, []int64{0})
	// A connection broke in the middle of chunk 1.
	err := s.WriteChunk(ctx(t), r, 1, bytes.NewReader(chunkOf(data, r, 1)[:100]))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short chunk: %v, want io.ErrUnexpectedEOF", err)
	}
	// A reader that fails half way.
	err = s.WriteChunk(ctx(t), r, 1, io.MultiReader(bytes.NewReader(chunkOf(data, r, 1)[:300]), errReader{}))
	if !errors.Is(err, errBroken) {
		t.Fatalf("failing reader: %v, want its error", err)
	}
	if got := read(t, s, r, 0, 1<<10); !bytes.Equal(got, chunkOf(data, r, 0)) {
		t.Fatal("a failed write of chunk 1 changed chunk 0")
	}
	put(t, s, r, data, []int64{1, 2})
	if got := read(t, s, r, 0, r.Size); !bytes.Equal(got, data) {
		t.Fatal("chunk 1 written again after a failure reads wrong")
	}
	// Extra bytes after the chunk are not read.
	r2 := newRef(100, 1<<10)
	d2 := random(200)
	if err := s.WriteChunk(ctx(t), r2, 0, bytes.NewReader(d2)); err != nil {
		t.Fatal(err)
	}
	if got := read(t, s, r2, 0, 100); !bytes.Equal(got, d2[:100]) {
		t.Fatal("a chunk with bytes beyond it stored something else")
	}
}

var errBroken = errors.New("connection broke")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

func deleteBlob(t *testing.T, s blob.Store) {
	r := newRef(3<<10+1, 1<<10)
	put(t, s, r, random(r.Size), nil)
	if err := s.Delete(ctx(t), r); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Open(ctx(t), r, 0, r.Size); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open after Delete: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx(t), r); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	// A blob whose upload stopped half way.
	half := newRef(4<<10, 1<<10)
	put(t, s, half, random(half.Size), []int64{0, 2})
	if err := s.Delete(ctx(t), half); err != nil {
		t.Fatalf("Delete of a partial blob: %v", err)
	}
	if _, err := s.Open(ctx(t), half, 0, 1<<10); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open of a deleted partial blob: %v, want ErrNotFound", err)
	}
	// The same id used again starts afresh.
	data := random(r.Size)
	put(t, s, r, data, nil)
	if got := read(t, s, r, 0, r.Size); !bytes.Equal(got, data) {
		t.Fatal("a blob written after deletion of the same id reads wrong")
	}
}

func missing(t *testing.T, s blob.Store) {
	r := newRef(100, 1<<10)
	if _, err := s.Open(ctx(t), r, 0, 100); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open of a blob never written: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx(t), r); err != nil {
		t.Fatalf("Delete of a blob never written: %v", err)
	}
}

func invalid(t *testing.T, s blob.Store) {
	good := newRef(2<<10, 1<<10)
	for _, tc := range []struct {
		name string
		r    blob.Ref
		i    int64
	}{
		{"path in id", blob.Ref{ID: "../../../../etc/passwd0000000000", Size: 1, ChunkSize: 1}, 0},
		{"upper case id", blob.Ref{ID: "ABCDEF0123456789ABCDEF0123456789", Size: 1, ChunkSize: 1}, 0},
		{"short id", blob.Ref{ID: "abc", Size: 1, ChunkSize: 1}, 0},
		{"zero size", blob.Ref{ID: good.ID, Size: 0, ChunkSize: 1}, 0},
		{"chunk past the end", good, 2},
		{"negative chunk", good, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.WriteChunk(ctx(t), tc.r, tc.i, bytes.NewReader(make([]byte, 1<<10))); !errors.Is(err, blob.ErrInvalid) {
				t.Errorf("WriteChunk: %v, want ErrInvalid", err)
			}
		})
	}
	put(t, s, good, random(good.Size), nil)
	for _, rg := range [][2]int64{{-1, 1}, {0, good.Size + 1}, {good.Size, 1}, {5, -1}} {
		if _, err := s.Open(ctx(t), good, rg[0], rg[1]); !errors.Is(err, blob.ErrInvalid) {
			t.Errorf("Open(%d, %d): %v, want ErrInvalid", rg[0], rg[1], err)
		}
	}
}

func concurrent(t *testing.T, s blob.Store) {
	const blobs = 8
	errs := make(chan error, blobs)
	refs := make([]blob.Ref, blobs)
	datas := make([][]byte, blobs)
	for k := range blobs {
		refs[k] = newRef(8<<10+int64(k), 1<<10)
		datas[k] = random(refs[k].Size)
		go func() {
			// Each chunk twice, as a resending client might.
			for i := range refs[k].Chunks() {
				for range 2 {
					if err := s.WriteChunk(ctx(t), refs[k], i, bytes.NewReader(chunkOf(datas[k], refs[k], i))); err != nil {
						errs <- err
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range blobs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for k := range blobs {
		if got := read(t, s, refs[k], 0, refs[k].Size); !bytes.Equal(got, datas[k]) {
			t.Errorf("blob %d reads wrong after concurrent writes", k)
		}
	}
}
