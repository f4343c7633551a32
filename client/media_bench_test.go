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
// operation moves benchBlob bytes of plaintext; MB/s is plaintext.
const benchBlob = 32 << 20

func benchDevice(b *testing.B) (*testserver.Server, *device, string) {
	srv := testserver.Start(b, testserver.Options{})
	d := register(b, srv, "").connect()
	p, _ := writeRandom(b, b.TempDir(), "bench.bin", benchBlob)
	return srv, d, p
}

func BenchmarkMediaUpload(b *testing.B) {
	_, d, p := benchDevice(b)
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

func BenchmarkMediaDownload(b *testing.B) {
	_, d, p := benchDevice(b)
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
