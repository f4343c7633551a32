package cloudapitest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/parley-im/parley/internal/business/cloudapi"
)

// payload is n pseudo-random bytes: a shifted or mixed-up copy differs.
func payload(n int, seed uint64) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	binary.LittleEndian.PutUint64(key[8:], uint64(n))
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

func readAll(t *testing.T, s cloudapi.MediaStore, id string) []byte {
	t.Helper()
	rc, err := s.OpenMedia(t.Context(), id)
	if err != nil {
		t.Fatalf("OpenMedia(%s): %v", id, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading media %s: %v", id, err)
	}
	return b
}

// failingReader yields n bytes of data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

var errUpload = errors.New("cloudapitest: the upload broke off")

// Sizes from empty to several MiB: a store that keeps small files one way
// and large ones another is tested on both sides.
var mediaSizes = []int{0, 1, 1000, 64 << 10, 300 << 10, 3 << 20}

var mediaTests = []test{
	{"unknown media is not found", func(t *testing.T, s Stores) {
		ctx := t.Context()
		if _, err := s.Media.Media(ctx, "4000000000000001"); !errors.Is(err, cloudapi.ErrNotFound) {
			t.Fatalf("Media: %v, want ErrNotFound", err)
		}
		if _, err := s.Media.OpenMedia(ctx, "4000000000000001"); !errors.Is(err, cloudapi.ErrNotFound) {
			t.Fatalf("OpenMedia: %v, want ErrNotFound", err)
		}
		if err := s.Media.DeleteMedia(ctx, "4000000000000001"); !errors.Is(err, cloudapi.ErrNotFound) {
			t.Fatalf("DeleteMedia: %v, want ErrNotFound", err)
		}
	}},
	{"uploads of every size read back byte for byte, with their metadata", func(t *testing.T, s Stores) {
		ctx := t.Context()
		for i, n := range mediaSizes {
			id := fmt.Sprintf("40000000000001%02d", i)
			data := payload(n, 1)
			m := cloudapi.Media{ID: id, PhoneNumberID: "4000000000000099", MIMEType: "application/pdf",
				Filename: "nota fiscal ü.pdf", Created: t0}
			// As the handler uploads: the bytes first, then the digest and size.
			must(t, s.Media.PutMedia(ctx, m, bytes.NewReader(data)))
			m.SHA256, m.FileSize = fmt.Sprintf("%064x", n), int64(n)
			must(t, s.Media.PutMedia(ctx, m, nil))
			got, err := s.Media.Media(ctx, id)
			must(t, err)
			if got.ID != m.ID || got.PhoneNumberID != m.PhoneNumberID || got.MIMEType != m.MIMEType || got.SHA256 != m.SHA256 ||
				got.FileSize != m.FileSize || got.Filename != m.Filename || !got.Created.Equal(m.Created) {
				t.Fatalf("size %d: metadata %+v, want %+v", n, got, m)
			}
			if b := readAll(t, s.Media, id); !bytes.Equal(b, data) {
				t.Fatalf("size %d: read %d bytes that differ from the upload", n, len(b))
			}
		}
	}},
	{"a broken upload stores nothing and reports the reader's error", func(t *testing.T, s Stores) {
		ctx := t.Context()
		for i, n := range []int{10, 2 << 20} {
			id := fmt.Sprintf("40000000000002%02d", i)
			err := s.Media.PutMedia(ctx, cloudapi.Media{ID: id, PhoneNumberID: "1", MIMEType: "video/mp4", Created: t0},
				&failingReader{data: payload(n, 2), err: errUpload})
			if !errors.Is(err, errUpload) {
				t.Fatalf("after %d bytes: PutMedia = %v, want the reader's error", n, err)
			}
			if _, err := s.Media.OpenMedia(ctx, id); !errors.Is(err, cloudapi.ErrNotFound) {
				t.Fatalf("after %d bytes: a broken upload can be opened (%v)", n, err)
			}
		}
	}},
	{"metadata without bytes has nothing to open", func(t *testing.T, s Stores) {
		ctx := t.Context()
		m := cloudapi.Media{ID: "4000000000000301", PhoneNumberID: "1", MIMEType: "image/png", Created: t0}
		must(t, s.Media.PutMedia(ctx, m, nil))
		if got, err := s.Media.Media(ctx, m.ID); err != nil || got.MIMEType != "image/png" {
			t.Fatalf("Media: %+v %v", got, err)
		}
		if _, err := s.Media.OpenMedia(ctx, m.ID); !errors.Is(err, cloudapi.ErrNotFound) {
			t.Fatalf("OpenMedia: %v, want ErrNotFound", err)
		}
	}},
	{"new bytes replace old ones, small and large alike", func(t *testing.T, s Stores) {
		ctx := t.Context()
		m := cloudapi.Media{ID: "4000000000000401", PhoneNumberID: "1", MIMEType: "video/mp4", Created: t0}
		for i, n := range []int{500, 2 << 20, 700, 1 << 20, 0} {
			data := payload(n, uint64(10+i))
			must(t, s.Media.PutMedia(ctx, m, bytes.NewReader(data)))
			if b := readAll(t, s.Media, m.ID); !bytes.Equal(b, data) {
				t.Fatalf("step %d: read %d bytes, want the %d just stored", i, len(b), n)
			}
		}
	}},
	{"deleted media is gone, others stay", func(t *testing.T, s Stores) {
		ctx := t.Context()
		small, large := payload(100, 3), payload(1<<20, 4)
		for _, x := range []struct {
			id   string
			data []byte
		}{{"4000000000000501", small}, {"4000000000000502", large}, {"4000000000000503", small}, {"4000000000000504", large}} {
			must(t, s.Media.PutMedia(ctx, cloudapi.Media{ID: x.id, PhoneNumberID: "1", Created: t0}, bytes.NewReader(x.data)))
		}
		must(t, s.Media.DeleteMedia(ctx, "4000000000000501"))
		must(t, s.Media.DeleteMedia(ctx, "4000000000000502"))
		for _, id := range []string{"4000000000000501", "4000000000000502"} {
			if _, err := s.Media.Media(ctx, id); !errors.Is(err, cloudapi.ErrNotFound) {
				t.Fatalf("Media after delete: %v", err)
			}
			if _, err := s.Media.OpenMedia(ctx, id); !errors.Is(err, cloudapi.ErrNotFound) {
				t.Fatalf("OpenMedia after delete: %v", err)
			}
			if err := s.Media.DeleteMedia(ctx, id); !errors.Is(err, cloudapi.ErrNotFound) {
				t.Fatalf("deleting twice: %v", err)
			}
		}
		if !bytes.Equal(readAll(t, s.Media, "4000000000000503"), small) || !bytes.Equal(readAll(t, s.Media, "4000000000000504"), large) {
			t.Fatal("deleting one file changed another")
		}
	}},
	{"concurrent uploads and reads do not mix", func(t *testing.T, s Stores) {
		ctx := t.Context()
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("40000000000006%02d", i)
				data := payload(i*60<<10, uint64(i))
				if err := s.Media.PutMedia(context.WithoutCancel(ctx), cloudapi.Media{ID: id, PhoneNumberID: "1", Created: t0}, bytes.NewReader(data)); err != nil {
					errs <- err
					return
				}
				for range 3 {
					rc, err := s.Media.OpenMedia(ctx, id)
					if err != nil {
						errs <- err
						return
					}
					b, err := io.ReadAll(rc)
					rc.Close()
					if err != nil || !bytes.Equal(b, data) {
						errs <- fmt.Errorf("media %s read back wrong (%v)", id, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}},
}
