package client_test

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/contentpb"
	"github.com/parley-im/parley/types"
)

// writeRandom writes n pseudo-random bytes to a new file in dir and
// returns its path and SHA-256.
func writeRandom(t testing.TB, dir, name string, n int64) (string, [32]byte) {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// AES-CTR's keystream: pseudo-random and, being assembly, fast
	// under -race too.
	key := sha256.Sum256([]byte(name))
	block, _ := aes.NewCipher(key[:])
	stream := cipher.StreamReader{S: cipher.NewCTR(block, make([]byte, 16)), R: zeroReader{}}
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	if _, err := io.CopyN(w, stream, n); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return p, sum
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func fileSum(t testing.TB, p string) [32]byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// waitMedia waits until d has a media message from peer and returns the newest.
func (d *device) waitMedia(peer types.AccountID, n int) client.Message {
	d.t.Helper()
	var m client.Message
	eventually(d.t, "a media message", func() (bool, string) {
		k := 0
		for _, msg := range d.history(peer) {
			if msg.Kind == client.KindMedia {
				m, k = msg, k+1
			}
		}
		return k >= n, fmt.Sprintf("%d media messages", k)
	})
	return m
}

// pair is two connected devices that exchanged a message, so that each
// knows the other's device.
func pair(t *testing.T, srv *testserver.Server) (*device, *device) {
	alice := register(t, srv, "").connect()
	bob := register(t, srv, "").connect()
	alice.send(bob, "hi")
	bob.waitHistory(alice.id(), "< hi")
	bob.send(alice, "hello")
	alice.waitHistory(bob.id(), "> hi", "< hello")
	return alice, bob
}

func TestMediaRoundTrip(t *testing.T) {
	for _, b := range testserver.Backends {
		t.Run(string(b), func(t *testing.T) {
			srv := testserver.Start(t, testserver.Options{Backend: b})
			alice, bob := pair(t, srv)
			src := t.TempDir()
			for i, n := range []int64{0, 1, 50 << 20} {
				name := fmt.Sprintf("file-%d.bin", n)
				p, sum := writeRandom(t, src, name, n)
				var last, total int64
				start := time.Now()
				_, err := alice.SendFile(ctxT(t), bob.id(), p, client.MediaOptions{Caption: "caption " + name,
					Progress: func(done, tot int64) { last, total = done, tot }})
				if err != nil {
					t.Fatalf("%d bytes: SendFile: %v", n, err)
				}
				up := time.Since(start)
				if last != total || total == 0 {
					t.Errorf("%d bytes: upload progress ended at %d of %d", n, last, total)
				}
				m := bob.waitMedia(alice.id(), i+1)
				if m.Text != "caption "+name || m.Media.GetFileName() != name || m.Media.GetSize() != uint64(n) ||
					m.Media.GetKind() != contentpb.Media_KIND_DOCUMENT || m.Media.GetMimeType() != "application/octet-stream" {
					t.Fatalf("%d bytes: Bob sees %q, %q, %d bytes, %v, %q", n, m.Text, m.Media.GetFileName(), m.Media.GetSize(), m.Media.GetKind(), m.Media.GetMimeType())
				}
				start = time.Now()
				var dl int64
				out, err := bob.SaveMedia(ctxT(t), m.Ref, t.TempDir(), func(done, _ int64) { dl = done })
				if err != nil {
					t.Fatalf("%d bytes: SaveMedia: %v", n, err)
				}
				down := time.Since(start)
				if filepath.Base(out) != name {
					t.Errorf("saved as %s, want the sender's name %s", filepath.Base(out), name)
				}
				if got := fileSum(t, out); got != sum {
					t.Fatalf("%d bytes: the saved file's SHA-256 differs from the sent one's", n)
				}
				if dl == 0 {
					t.Errorf("%d bytes: no download progress", n)
				}
				t.Logf("%d bytes: upload %v, download %v", n, up.Round(time.Millisecond), down.Round(time.Millisecond))
				// Alice's own history shows it too.
				if mine := alice.waitMedia(bob.id(), i+1); !mine.Outgoing || mine.Media.GetSize() != uint64(n) {
					t.Errorf("Alice's history: %+v", mine)
				}
			}
		})
	}
}

// cutProxy forwards TCP connections to a server and cuts, once, the first
// connection that carries more than cutUp bytes to the server (or cutDown
// bytes from it), as a broken network would. It records the
// Upload-Offset and Range headers of the requests that pass.
type cutProxy struct {
	ln             net.Listener
	target         string
	cutUp, cutDown int64

	mu      sync.Mutex
	cut     bool
	offsets []string
	ranges  []string
}

func newCutProxy(t *testing.T, target string, cutUp, cutDown int64) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, cutUp: cutUp, cutDown: cutDown}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

// url is the proxy's address as a WebSocket URL of the server.
func (p *cutProxy) url() string { return "ws://" + p.ln.Addr().String() + "/v1/ws" }

func (p *cutProxy) serve(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	kill := func() { c.Close(); s.Close() }
	go p.pipe(s, c, p.cutDown, kill, nil)
	p.pipe(c, s, p.cutUp, kill, p.scan)
}

// pipe copies from→to, cutting both connections once past limit bytes
// (if this is the first connection to get there).
func (p *cutProxy) pipe(from, to net.Conn, limit int64, kill func(), scan func([]byte)) {
	defer kill()
	buf := make([]byte, 16<<10)
	var n int64
	for {
		k, err := from.Read(buf)
		if k > 0 {
			if scan != nil {
				scan(buf[:k])
			}
			if limit > 0 && n+int64(k) > limit {
				p.mu.Lock()
				first := !p.cut
				p.cut = true
				p.mu.Unlock()
				if first {
					_, _ = to.Write(buf[:limit-n])
					return
				}
			}
			n += int64(k)
			if _, err := to.Write(buf[:k]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// scan notes request headers (good enough: a header never spans two reads
// in these tests, and random bodies do not hold these lines).
func (p *cutProxy) scan(b []byte) {
	for _, line := range strings.Split(string(b), "\r\n") {
		if v, ok := strings.CutPrefix(line, "Upload-Offset: "); ok {
			p.mu.Lock()
			p.offsets = append(p.offsets, v)
			p.mu.Unlock()
		}
		if v, ok := strings.CutPrefix(line, "Range: "); ok {
			p.mu.Lock()
			p.ranges = append(p.ranges, v)
			p.mu.Unlock()
		}
	}
}

func (p *cutProxy) seen() (cut bool, offsets, ranges []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut, append([]string(nil), p.offsets...), append([]string(nil), p.ranges...)
}

func smallChunks(c *config.Config) { c.MediaChunkBytes = 64 << 10 }

// registerVia registers a device whose every connection goes through url.
func registerVia(t *testing.T, url string) *device {
	d := openDevice(t, t.TempDir())
	ctx := ctxT(t)
	phone := testserver.NewPhone()
	if err := d.RequestCode(ctx, url, phone); err != nil {
		t.Fatalf("request code: %v", err)
	}
	if err := d.Register(ctx, url, phone, testserver.Code); err != nil {
		t.Fatalf("register: %v", err)
	}
	return d
}

// TestMediaResume: the connection breaks in the middle of the third chunk
// of an upload, and later in the middle of the download; both go on from
// where they stopped, and what was committed is not sent again.
func TestMediaResume(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Config: smallChunks})
	host := strings.TrimPrefix(strings.TrimSuffix(srv.URL, "/v1/ws"), "ws://")
	const chunk = 64 << 10
	up := newCutProxy(t, host, 2*chunk+chunk/2, 0)
	down := newCutProxy(t, host, 0, chunk+chunk/2)
	alice := registerVia(t, up.url()).connect()
	bob := registerVia(t, down.url()).connect()
	// The sessions first, through connections that stay under the limits.
	alice.send(bob, "hi")
	bob.waitHistory(alice.id(), "< hi")

	p, sum := writeRandom(t, t.TempDir(), "big.bin", 10*chunk+123)
	if _, err := alice.SendFile(ctxT(t), bob.id(), p, client.MediaOptions{}); err != nil {
		t.Fatalf("SendFile: %v", err)
	}
	cut, offsets, _ := up.seen()
	if !cut {
		t.Fatal("the upload's connection was never cut: the test tests nothing")
	}
	var want []string
	for i := 0; i <= 10; i++ {
		want = append(want, fmt.Sprint(i*chunk))
		if i == 2 {
			want = append(want, fmt.Sprint(i*chunk)) // the chunk that broke, sent again
		}
	}
	if fmt.Sprint(offsets) != fmt.Sprint(want) {
		t.Errorf("PATCH offsets %v, want %v: only the broken chunk is sent twice", offsets, want)
	}

	m := bob.waitMedia(alice.id(), 1)
	out, err := bob.SaveMedia(ctxT(t), m.Ref, t.TempDir(), nil)
	if err != nil {
		t.Fatalf("SaveMedia: %v", err)
	}
	if fileSum(t, out) != sum {
		t.Fatal("the resumed download's file differs from the sent one")
	}
	cut, _, ranges := down.seen()
	if !cut || len(ranges) != 1 || ranges[0] == "bytes=0-" || !strings.HasPrefix(ranges[0], "bytes=") {
		t.Fatalf("download: cut %v, ranges %v; want one resumed range", cut, ranges)
	}
}

func blobPath(srv *testserver.Server, id []byte) string {
	h := fmt.Sprintf("%x", id)
	return filepath.Join(srv.Config.MediaDir, h[:2], h)
}

// TestMediaTampered: a byte changed in the server's blob store, and the
// receiver refuses the media and writes nothing.
func TestMediaTampered(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice, bob := pair(t, srv)
	p, _ := writeRandom(t, t.TempDir(), "doc.pdf", 100_000)
	if _, err := alice.SendFile(ctxT(t), bob.id(), p, client.MediaOptions{}); err != nil {
		t.Fatal(err)
	}
	m := bob.waitMedia(alice.id(), 1)
	if m.Media.GetMimeType() != "application/pdf" || m.Media.GetKind() != contentpb.Media_KIND_DOCUMENT {
		t.Errorf("a .pdf went as %q, %v", m.Media.GetMimeType(), m.Media.GetKind())
	}
	bp := blobPath(srv, m.Media.MediaId)
	blob, err := os.ReadFile(bp)
	if err != nil {
		t.Fatal(err)
	}
	blob[len(blob)/2] ^= 0x01
	if err := os.WriteFile(bp, blob, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, err = bob.SaveMedia(ctxT(t), m.Ref, dir, nil)
	if !errors.Is(err, client.ErrMediaTampered) {
		t.Fatalf("SaveMedia of a tampered blob: %v, want ErrMediaTampered", err)
	}
	if left := files(t, dir); len(left) != 0 {
		t.Fatalf("a refused download left files: %v", len(left))
	}
	var w bytes.Buffer
	if _, err := bob.DownloadMedia(ctxT(t), m.Media, &w, nil); !errors.Is(err, client.ErrMediaTampered) || w.Len() != 0 {
		t.Fatalf("DownloadMedia of a tampered blob: %v, %d bytes written", err, w.Len())
	}
}

// TestMediaExpiry: the blob goes once every device the sender knew of
// fetched it (Bob's, and Alice's linked one), or at the TTL.
func TestMediaExpiry(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice, bob := pair(t, srv)
	alice2 := link(t, srv, alice).connect()
	// A message from the linked device makes the first one know it.
	alice2.send(bob, "from my laptop")
	bob.waitHistory(alice.id(), "< hi", "> hello", "< from my laptop")
	alice.waitHistory(bob.id(), "> hi", "< hello", "> from my laptop")

	if n := client.KnownDevices(alice.Client, bob.id()); n != 2 {
		t.Fatalf("Alice knows %d devices to fetch a blob, want Bob's and her laptop", n)
	}
	p, _ := writeRandom(t, t.TempDir(), "a.bin", 1000)
	if _, err := alice.SendFile(ctxT(t), bob.id(), p, client.MediaOptions{}); err != nil {
		t.Fatal(err)
	}
	m := bob.waitMedia(alice.id(), 1)
	mine := alice2.waitMedia(bob.id(), 1)
	now := time.Now()
	if _, err := bob.SaveMedia(ctxT(t), m.Ref, t.TempDir(), nil); err != nil {
		t.Fatal(err)
	}
	if n := srv.SweepMedia(t, now.Add(2*time.Hour)); n != 0 {
		t.Fatalf("swept %d blobs while Alice's other device had not fetched it", n)
	}
	if _, err := alice2.SaveMedia(ctxT(t), mine.Ref, t.TempDir(), nil); err != nil {
		t.Fatal(err)
	}
	if n := srv.SweepMedia(t, now.Add(30*time.Minute)); n != 0 {
		t.Fatalf("swept %d blobs within the hour of grace", n)
	}
	// The server records a download once it sent the last byte, which
	// may be a moment after the client has it.
	eventually(t, "the fetched blob swept", func() (bool, string) {
		return srv.SweepMedia(t, now.Add(2*time.Hour)) == 1, "not swept"
	})
	if _, err := bob.SaveMedia(ctxT(t), m.Ref, t.TempDir(), nil); !errors.Is(err, client.ErrMediaGone) {
		t.Fatalf("SaveMedia of a swept blob: %v, want ErrMediaGone", err)
	}

	// Never fetched: kept for 30 days.
	if _, err := alice.SendFile(ctxT(t), bob.id(), p, client.MediaOptions{Caption: "later"}); err != nil {
		t.Fatal(err)
	}
	m = bob.waitMedia(alice.id(), 2)
	if n := srv.SweepMedia(t, now.Add(29*24*time.Hour)); n != 0 {
		t.Fatalf("swept %d blobs before the TTL", n)
	}
	if n := srv.SweepMedia(t, now.Add(31*24*time.Hour)); n != 1 {
		t.Fatalf("swept %d blobs after the TTL, want 1", n)
	}
	if _, err := bob.SaveMedia(ctxT(t), m.Ref, t.TempDir(), nil); !errors.Is(err, client.ErrMediaGone) {
		t.Fatalf("SaveMedia of an expired blob: %v, want ErrMediaGone", err)
	}
}

func TestMediaImageThumbnail(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice, bob := pair(t, srv)
	img := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for y := range 300 {
		for x := range 400 {
			img.Set(x, y, color.RGBA{uint8(x * 255 / 399), uint8(y * 255 / 299), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "photo.png")
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.SendFile(ctxT(t), bob.id(), p, client.MediaOptions{Caption: "look"}); err != nil {
		t.Fatal(err)
	}
	m := bob.waitMedia(alice.id(), 1)
	if m.Media.GetKind() != contentpb.Media_KIND_IMAGE || m.Media.GetMimeType() != "image/png" ||
		m.Media.GetWidth() != 400 || m.Media.GetHeight() != 300 || m.Text != "look" {
		t.Fatalf("Bob sees %v %q %dx%d %q", m.Media.GetKind(), m.Media.GetMimeType(), m.Media.GetWidth(), m.Media.GetHeight(), m.Text)
	}
	th, err := jpeg.Decode(bytes.NewReader(m.Media.GetThumbnail()))
	if err != nil {
		t.Fatalf("the thumbnail is not a JPEG: %v", err)
	}
	if got := th.Bounds().Size(); got != image.Pt(100, 75) {
		t.Fatalf("thumbnail of %v, want 100x75", got)
	}
	// The colours survive: the top right corner is red-ish, as in the image.
	if r, _, _, _ := th.At(99, 0).RGBA(); r>>8 < 200 {
		t.Errorf("thumbnail's top right corner has red %d, want about 255", r>>8)
	}
}

func TestThumbnail(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 30, 500))
	for _, tc := range []struct {
		name   string
		encode func(io.Writer) error
		w, h   int
		ok     bool
	}{
		{"png", func(w io.Writer) error { return png.Encode(w, img) }, 6, 100, true},
		{"jpeg", func(w io.Writer) error { return jpeg.Encode(w, img, nil) }, 6, 100, true},
		{"gif", func(w io.Writer) error { return gif.Encode(w, img, nil) }, 6, 100, true},
		{"not an image", func(w io.Writer) error { _, err := w.Write([]byte("%PDF-1.4 ...")); return err }, 0, 0, false},
	} {
		var b bytes.Buffer
		if err := tc.encode(&b); err != nil {
			t.Fatal(err)
		}
		th, w, h, ok := client.Thumbnail(bytes.NewReader(b.Bytes()))
		if ok != tc.ok {
			t.Fatalf("%s: ok %v", tc.name, ok)
		}
		if !ok {
			continue
		}
		got, err := jpeg.DecodeConfig(bytes.NewReader(th))
		if err != nil || got.Width != tc.w || got.Height != tc.h || w != 30 || h != 500 || len(th) > client.MaxThumbnailSize {
			t.Errorf("%s: thumbnail %dx%d (%v), image %dx%d, %d bytes", tc.name, got.Width, got.Height, err, w, h, len(th))
		}
	}
}

func TestSendMediaInvalid(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice, bob := pair(t, srv)
	good := &contentpb.Media{Kind: contentpb.Media_KIND_IMAGE, MediaId: make([]byte, 16), Key: make([]byte, 32),
		FileSha256: make([]byte, 32), FileEncSha256: make([]byte, 32)}
	for name, edit := range map[string]func(m *contentpb.Media){
		"no kind":        func(m *contentpb.Media) { m.Kind = 0 },
		"short key":      func(m *contentpb.Media) { m.Key = m.Key[:16] },
		"no media id":    func(m *contentpb.Media) { m.MediaId = nil },
		"big thumbnail":  func(m *contentpb.Media) { m.Thumbnail = make([]byte, client.MaxThumbnailSize+1) },
		"long caption":   func(m *contentpb.Media) { m.Caption = strings.Repeat("x", client.MaxTextSize+1) },
		"no file digest": func(m *contentpb.Media) { m.FileSha256 = nil },
		"no blob digest": func(m *contentpb.Media) { m.FileEncSha256 = m.FileEncSha256[:31] },
		"very long name": func(m *contentpb.Media) { m.FileName = strings.Repeat("n", 300) },
	} {
		m := proto.CloneOf(good)
		edit(m)
		if _, err := alice.Send(ctxT(t), bob.id(), &contentpb.Content{Body: &contentpb.Content_Media{Media: m}}); !errors.Is(err, client.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := alice.Send(ctxT(t), bob.id(), &contentpb.Content{Body: &contentpb.Content_Media{Media: good}}); err != nil {
		t.Errorf("a well-formed media: %v", err)
	}
	// A server that refuses a blob this large says so.
	big, _ := writeRandom(t, t.TempDir(), "big", int64(srv.Config.MaxMediaBytes)+1)
	if _, err := alice.SendFile(ctxT(t), bob.id(), big, client.MediaOptions{}); !errors.Is(err, client.ErrMediaTooLarge) {
		t.Errorf("SendFile of a file over the server's limit: %v, want ErrMediaTooLarge", err)
	}
}
