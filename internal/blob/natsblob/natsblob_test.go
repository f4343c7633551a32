package natsblob_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-im/parley/internal/blob"
	"github.com/parley-im/parley/internal/blob/blobtest"
	"github.com/parley-im/parley/internal/blob/natsblob"
	"github.com/parley-im/parley/internal/testserver"
)

// embedded starts an in-process NATS server with JetStream in a temporary
// directory and connects to it.
func embedded(t *testing.T) *nats.Conn {
	t.Helper()
	srv, err := natsserver.NewServer(&natsserver.Options{
		ServerName: "blobtest", DontListen: true, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("embedded NATS did not start")
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func external(t *testing.T) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(testserver.ExternalNATS(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		conn func(t *testing.T) *nats.Conn
	}{
		{"embedded", embedded},
		{"external", external},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := tc.conn(t)
			// A bucket per run, removed afterwards, so runs do not share blobs.
			bucket := "parley-test-" + nats.NewInbox()[len("_INBOX."):]
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := natsblob.Open(ctx, nc, bucket)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = deleteBucket(nc, bucket) })
			blobtest.Run(t, func(*testing.T) blob.Store { return s })

			// Open again finds the bucket made the first time.
			if _, err := natsblob.Open(ctx, nc, bucket); err != nil {
				t.Fatalf("second Open: %v", err)
			}
		})
	}
}

// TestNoJetStream: a NATS server without JetStream is a clear error at
// Open, not a failure at the first upload.
func TestNoJetStream(t *testing.T) {
	srv, err := natsserver.NewServer(&natsserver.Options{DontListen: true, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Shutdown()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS did not start")
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := natsblob.Open(ctx, nc, natsblob.DefaultBucket); err == nil {
		t.Fatal("Open without JetStream succeeded")
	}
}

func deleteBucket(nc *nats.Conn, bucket string) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return js.DeleteObjectStore(ctx, bucket)
}

// TestDeleteLeavesNothing: a deleted blob leaves no message in the bucket's
// stream, not even the object store's deletion markers, which would
// otherwise pile up for ever on a busy server.
func TestDeleteLeavesNothing(t *testing.T) {
	nc := embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := natsblob.Open(ctx, nc, "leak-test")
	if err != nil {
		t.Fatal(err)
	}
	r := blob.Ref{ID: "00112233445566778899aabbccddeeff", Size: 3000, ChunkSize: 1024}
	for i := range r.Chunks() {
		if err := s.WriteChunk(ctx, r, i, bytes.NewReader(make([]byte, r.ChunkLen(i)))); err != nil {
			t.Fatal(err)
		}
	}
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, "OBJ_leak-test")
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := st.Info(ctx); info.State.Msgs == 0 {
		t.Fatal("the stream is empty after writing; the test cannot see a leak")
	}
	if err := s.Delete(ctx, r); err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Fatalf("%d messages left in the stream after Delete", info.State.Msgs)
	}
}
