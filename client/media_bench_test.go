package client_test

import (
	"io"
	"os"
	"testing"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/contentpb"
)

// The media benchmarks measure a whole transfer over loopback: encryption
// (into the staging file), CreateUpload and the PATCHes (the server writes,
// syncs and finally hashes the blob) for an upload; the token, the GET into
// the staging file, verification and decryption for a download. One
// operation moves benchBlob bytes of plaintext; MB/s is plaintext. The
// sub-benchmarks are the blob stores: files (on SQLite) and nats (the
// JetStream object store of the external NATS, on PostgreSQL).
const benchBlob = 32 << 20

var benchBackends = []struct {
	name string
	opts func(b *testing.B) testserver.Options
}{
	{"files", func(*testing.B) testserver.Options { return testserver.Options{} }},
	{"nats", func(b *testing.B) testserver.Options {
		return testserver.Options{Backend: testserver.Postgres, NATS: testserver.ExternalNATS(b)}
	}},
}

func benchDevice(b *testing.B, o testserver.Options) (*device, string) {
	srv := testserver.Start(b, o)
	d := register(b, srv, "").connect()
	p, _ := writeRandom(b, b.TempDir(), "bench.bin", benchBlob)
	return d, p
}

func BenchmarkMediaUpload(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) { benchUpload(b, be.opts(b)) })
	}
}

func BenchmarkMediaDownload(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) { benchDownload(b, be.opts(b)) })
	}
}

func benchUpload(b *testing.B, o testserver.Options) {
	d, p := benchDevice(b, o)
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.SetBytes(benchBlob)
	for b.Loop() {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			b.Fatal(err)
		}
		if _, err := d.UploadMedia(ctxT(b), f, client.MediaOptions{Kind: contentpb.Media_KIND_VIDEO}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDownload(b *testing.B, o testserver.Options) {
	d, p := benchDevice(b, o)
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	m, err := d.UploadMedia(ctxT(b), f, client.MediaOptions{Kind: contentpb.Media_KIND_VIDEO})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchBlob)
	for b.Loop() {
		if _, err := d.DownloadMedia(ctxT(b), m, io.Discard, nil); err != nil {
			b.Fatal(err)
		}
	}
}
