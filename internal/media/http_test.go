package media_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/media"
	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
)

const chunk = 64 << 10

// node is a test server with small chunks and one registered device.
type node struct {
	ts   *testserver.Server
	conn *transport.Conn
	dev  *testserver.Device
}

func start(t *testing.T, b testserver.Backend, adjust func(*config.Config)) *node {
	t.Helper()
	ts := testserver.Start(t, testserver.Options{Backend: b, Config: func(c *config.Config) {
		c.MediaChunkBytes = chunk
		c.MaxMediaBytes = 1 << 20
		if adjust != nil {
			adjust(c)
		}
	}})
	n := &node{ts: ts, conn: ts.Dial(t)}
	n.dev = testserver.Register(t, n.conn)
	return n
}

// another registers a second account on the same server.
func (n *node) another(t *testing.T) *transport.Conn {
	c := n.ts.Dial(t)
	testserver.Register(t, c)
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func createUpload(t *testing.T, c *transport.Conn, size int, sha []byte, downloads uint32) *wirepb.UploadResult {
	t.Helper()
	res, err := c.Call(ctx(t), &wirepb.ClientFrame{Body: &wirepb.ClientFrame_CreateUpload{CreateUpload: &wirepb.CreateUpload{
		Size: uint64(size), Sha256: sha, Downloads: downloads}}})
	if err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	u := res.GetUpload()
	if len(u.MediaId) != 16 || u.ChunkBytes != chunk || u.Token == "" || u.UploadPath != "/v1/media/"+fmt.Sprintf("%x", u.MediaId) {
		t.Fatalf("CreateUpload returned %v", u)
	}
	return u
}

func mediaToken(t *testing.T, c *transport.Conn, id []byte) (*wirepb.MediaTokenResult, error) {
	t.Helper()
	res, err := c.Call(ctx(t), &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetMediaToken{GetMediaToken: &wirepb.GetMediaToken{MediaId: id}}})
	return res.GetMediaToken(), err
}

func do(t *testing.T, method, url, token string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body, req.ContentLength = nil, 0
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return res, b
}

func (n *node) patch(t *testing.T, u *wirepb.UploadResult, off int, body []byte) *http.Response {
	t.Helper()
	res, _ := do(t, "PATCH", n.ts.HTTP+u.UploadPath, u.Token, body, map[string]string{
		"Upload-Offset": strconv.Itoa(off), "Content-Type": "application/offset+octet-stream"})
	return res
}

// upload sends data in chunks and expects every PATCH to succeed.
func (n *node) upload(t *testing.T, u *wirepb.UploadResult, data []byte) {
	t.Helper()
	for off := 0; off < len(data); off += chunk {
		end := min(off+chunk, len(data))
		res := n.patch(t, u, off, data[off:end])
		if res.StatusCode != http.StatusNoContent || res.Header.Get("Upload-Offset") != strconv.Itoa(end) {
			t.Fatalf("PATCH at %d: %s, offset %q", off, res.Status, res.Header.Get("Upload-Offset"))
		}
	}
}

func headOffset(t *testing.T, n *node, u *wirepb.UploadResult) (int, int) {
	t.Helper()
	res, _ := do(t, "HEAD", n.ts.HTTP+u.UploadPath, u.Token, nil, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("HEAD: %s", res.Status)
	}
	off, _ := strconv.Atoi(res.Header.Get("Upload-Offset"))
	size, _ := strconv.Atoi(res.Header.Get("Upload-Length"))
	return off, size
}

func forBackends(t *testing.T, fn func(t *testing.T, b testserver.Backend)) {
	for _, b := range testserver.Backends {
		t.Run(string(b), func(t *testing.T) { fn(t, b) })
	}
}

func TestUploadAndRanges(t *testing.T) {
	forBackends(t, func(t *testing.T, b testserver.Backend) {
		n := start(t, b, nil)
		data := random(3*chunk + 1000)
		u := createUpload(t, n.conn, len(data), sum(data), 1)
		if off, size := headOffset(t, n, u); off != 0 || size != len(data) {
			t.Fatalf("HEAD of a new upload: offset %d, length %d", off, size)
		}
		// Not downloadable until complete.
		if _, err := mediaToken(t, n.conn, u.MediaId); transport.CodeOf(err) != wirepb.ErrorCode_ERROR_CODE_NOT_FOUND {
			t.Fatalf("GetMediaToken of an incomplete upload: %v, want NOT_FOUND", err)
		}
		n.upload(t, u, data[:2*chunk])
		if off, _ := headOffset(t, n, u); off != 2*chunk {
			t.Fatalf("HEAD after two chunks: offset %d", off)
		}
		n.upload2(t, u, data, 2*chunk)

		bob := n.another(t)
		tok, err := mediaToken(t, bob, u.MediaId)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Size != uint64(len(data)) || tok.DownloadPath != u.UploadPath {
			t.Fatalf("GetMediaToken: %v", tok)
		}
		url := n.ts.HTTP + tok.DownloadPath
		res, body := do(t, "GET", url, tok.Token, nil, nil)
		if res.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
			t.Fatalf("GET: %s, %d bytes (want %d, the uploaded ones)", res.Status, len(body), len(data))
		}
		for _, rg := range []struct {
			h        string
			from, to int // data[from:to]
		}{
			{"bytes=0-0", 0, 1},
			{"bytes=100-", 100, len(data)},
			{fmt.Sprintf("bytes=%d-%d", chunk-5, 2*chunk+5), chunk - 5, 2*chunk + 6},
			{"bytes=-10", len(data) - 10, len(data)},
		} {
			res, body := do(t, "GET", url, tok.Token, nil, map[string]string{"Range": rg.h})
			want := fmt.Sprintf("bytes %d-%d/%d", rg.from, rg.to-1, len(data))
			if res.StatusCode != http.StatusPartialContent || res.Header.Get("Content-Range") != want || !bytes.Equal(body, data[rg.from:rg.to]) {
				t.Errorf("GET %s: %s, Content-Range %q (want %q), %d bytes", rg.h, res.Status, res.Header.Get("Content-Range"), want, len(body))
			}
		}
		res, _ = do(t, "GET", url, tok.Token, nil, map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(data))})
		if res.StatusCode != http.StatusRequestedRangeNotSatisfiable {
			t.Errorf("GET beyond the end: %s", res.Status)
		}
		res, _ = do(t, "HEAD", url, tok.Token, nil, nil)
		if res.StatusCode != http.StatusOK || res.ContentLength != int64(len(data)) {
			t.Errorf("HEAD with a download token: %s, length %d", res.Status, res.ContentLength)
		}
	})
}

// upload2 sends data from offset off on.
func (n *node) upload2(t *testing.T, u *wirepb.UploadResult, data []byte, off int) {
	t.Helper()
	for ; off < len(data); off += chunk {
		end := min(off+chunk, len(data))
		if res := n.patch(t, u, off, data[off:end]); res.StatusCode != http.StatusNoContent {
			t.Fatalf("PATCH at %d: %s", off, res.Status)
		}
	}
}

func TestUploadRules(t *testing.T) {
	n := start(t, testserver.SQLite, nil)
	data := random(2*chunk + 10)
	u := createUpload(t, n.conn, len(data), sum(data), 1)
	n.upload(t, u, data[:chunk])

	res := n.patch(t, u, 0, data[:chunk]) // a resent chunk
	if res.StatusCode != http.StatusConflict || res.Header.Get("Upload-Offset") != strconv.Itoa(chunk) {
		t.Errorf("PATCH of a committed chunk: %s, offset %q; want 409 and %d", res.Status, res.Header.Get("Upload-Offset"), chunk)
	}
	res = n.patch(t, u, 2*chunk, data[2*chunk:]) // ahead of the upload
	if res.StatusCode != http.StatusConflict || res.Header.Get("Upload-Offset") != strconv.Itoa(chunk) {
		t.Errorf("PATCH ahead: %s, offset %q", res.Status, res.Header.Get("Upload-Offset"))
	}
	if res := n.patch(t, u, chunk, data[chunk:2*chunk-1]); res.StatusCode != http.StatusBadRequest {
		t.Errorf("PATCH of a chunk one byte short: %s", res.Status)
	}
	if res := n.patch(t, u, chunk, data[chunk:]); res.StatusCode != http.StatusBadRequest {
		t.Errorf("PATCH of more than a chunk: %s", res.Status)
	}
	res, _ = do(t, "PATCH", n.ts.HTTP+u.UploadPath, u.Token, data[chunk:2*chunk], map[string]string{"Upload-Offset": strconv.Itoa(chunk)})
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("PATCH without the content type: %s", res.Status)
	}
	res, _ = do(t, "PATCH", n.ts.HTTP+u.UploadPath, u.Token, data[chunk:2*chunk], map[string]string{"Content-Type": "application/offset+octet-stream"})
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("PATCH without Upload-Offset: %s", res.Status)
	}
	if off, _ := headOffset(t, n, u); off != chunk {
		t.Fatalf("refused PATCHes moved the offset to %d", off)
	}
	n.upload2(t, u, data, chunk)
	// The last response was lost and the client sends the chunk again.
	res = n.patch(t, u, 2*chunk, data[2*chunk:])
	if res.StatusCode != http.StatusConflict || res.Header.Get("Upload-Offset") != strconv.Itoa(len(data)) {
		t.Errorf("PATCH after completion: %s, offset %q; want 409 and the size", res.Status, res.Header.Get("Upload-Offset"))
	}
}

func TestChecksumMismatch(t *testing.T) {
	n := start(t, testserver.SQLite, nil)
	data := random(chunk + 10)
	u := createUpload(t, n.conn, len(data), sum(random(10)), 0)
	n.patch(t, u, 0, data[:chunk])
	if res := n.patch(t, u, chunk, data[chunk:]); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("last PATCH of a blob with another SHA-256: %s, want 422", res.Status)
	}
	if res, _ := do(t, "HEAD", n.ts.HTTP+u.UploadPath, u.Token, nil, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD of the discarded upload: %s, want 404", res.Status)
	}
	if _, err := mediaToken(t, n.conn, u.MediaId); transport.CodeOf(err) != wirepb.ErrorCode_ERROR_CODE_NOT_FOUND {
		t.Errorf("GetMediaToken of the discarded upload: %v", err)
	}
	if _, err := os.Stat(blobFile(n, u.MediaId)); !os.IsNotExist(err) {
		t.Errorf("the discarded blob's file is still there: %v", err)
	}
}

func blobFile(n *node, id []byte) string {
	h := fmt.Sprintf("%x", id)
	return filepath.Join(n.ts.Config.MediaDir, h[:2], h)
}

func TestCreateUploadLimits(t *testing.T) {
	n := start(t, testserver.SQLite, func(c *config.Config) { c.MediaQuota = 2 << 20 })
	for _, tc := range []struct {
		name string
		req  *wirepb.CreateUpload
		code wirepb.ErrorCode
	}{
		{"over the limit", &wirepb.CreateUpload{Size: 1<<20 + 1, Sha256: sum(nil)}, wirepb.ErrorCode_ERROR_CODE_TOO_LARGE},
		{"far over the limit", &wirepb.CreateUpload{Size: 1 << 63, Sha256: sum(nil)}, wirepb.ErrorCode_ERROR_CODE_TOO_LARGE},
		{"empty", &wirepb.CreateUpload{Size: 0, Sha256: sum(nil)}, wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST},
		{"short digest", &wirepb.CreateUpload{Size: 10, Sha256: []byte{1, 2}}, wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST},
	} {
		_, err := n.conn.Call(ctx(t), &wirepb.ClientFrame{Body: &wirepb.ClientFrame_CreateUpload{CreateUpload: tc.req}})
		if got := transport.CodeOf(err); got != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	// The quota: 2 MiB a day, the largest blob 1 MiB.
	createUpload(t, n.conn, 1<<20, sum(nil), 0)
	createUpload(t, n.conn, 1<<20, sum(nil), 0)
	_, err := n.conn.Call(ctx(t), &wirepb.ClientFrame{Body: &wirepb.ClientFrame_CreateUpload{CreateUpload: &wirepb.CreateUpload{Size: 100, Sha256: sum(nil)}}})
	var se *transport.ServerError
	if transport.CodeOf(err) != wirepb.ErrorCode_ERROR_CODE_RATE_LIMITED || !asServerError(err, &se) || se.E.RetryAfterSeconds == 0 {
		t.Fatalf("upload over the daily quota: %v, want RATE_LIMITED with a retry-after", err)
	}
	// Another account has its own quota.
	createUpload(t, n.another(t), 1<<20, sum(nil), 0)
}

func asServerError(err error, se **transport.ServerError) bool {
	e, ok := err.(*transport.ServerError)
	if ok {
		*se = e
	}
	return ok
}

func TestTokensAreBound(t *testing.T) {
	n := start(t, testserver.SQLite, nil)
	data := random(1000)
	u := createUpload(t, n.conn, len(data), sum(data), 0)
	other := createUpload(t, n.conn, len(data), sum(data), 0)
	n.upload(t, u, data)
	n.upload(t, other, data)
	bob := n.another(t)
	tok, err := mediaToken(t, bob, u.MediaId)
	if err != nil {
		t.Fatal(err)
	}
	url := n.ts.HTTP + u.UploadPath
	flipped := []byte(tok.Token)
	flipped[10] ^= 1
	for _, tc := range []struct {
		name, method, url, token string
		want                     int
	}{
		{"no token", "GET", url, "", http.StatusUnauthorized},
		{"a changed token", "GET", url, string(flipped), http.StatusUnauthorized},
		{"garbage", "GET", url, "hello", http.StatusUnauthorized},
		{"a download token for another blob", "GET", n.ts.HTTP + other.UploadPath, tok.Token, http.StatusForbidden},
		{"an upload token to download", "GET", url, u.Token, http.StatusForbidden},
		{"a download token to upload", "PATCH", url, tok.Token, http.StatusForbidden},
		{"an upload token for another blob", "HEAD", n.ts.HTTP + other.UploadPath, u.Token, http.StatusForbidden},
		{"a bad id", "GET", n.ts.HTTP + "/v1/media/zz", tok.Token, http.StatusNotFound},
		{"an upper-case id", "GET", n.ts.HTTP + "/v1/media/" + fmt.Sprintf("%X", u.MediaId), tok.Token, http.StatusNotFound},
		{"the right token", "GET", url, tok.Token, http.StatusOK},
	} {
		hdr := map[string]string{"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
		res, _ := do(t, tc.method, tc.url, tc.token, nil, hdr)
		if res.StatusCode != tc.want {
			t.Errorf("%s: %s, want %d", tc.name, res.Status, tc.want)
		}
	}
	// Well signed, but for another device than the one that made the
	// upload (Alice's second device, say): refused.
	owner := n.dev.Addr
	other2 := owner
	other2.Device++
	forged := media.SignToken(n.ts.Media(), media.Token{Purpose: media.PurposeUpload, Media: store.MediaID(u.MediaId),
		Device: other2, Expires: time.Now().Add(time.Hour)})
	if res, _ := do(t, "HEAD", url, forged, nil, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("an upload token of another device: %s, want 403", res.Status)
	}
	expired := media.SignToken(n.ts.Media(), media.Token{Purpose: media.PurposeDownload, Media: store.MediaID(u.MediaId),
		Device: owner, Expires: time.Now().Add(-time.Second)})
	if res, _ := do(t, "GET", url, expired, nil, nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("an expired token: %s, want 401", res.Status)
	}
	// A token from another server (another key) is refused here.
	n2 := start(t, testserver.SQLite, nil)
	u2 := createUpload(t, n2.conn, len(data), sum(data), 0)
	n2.upload(t, u2, data)
	tok2, err := mediaToken(t, n2.conn, u2.MediaId)
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := do(t, "GET", n.ts.HTTP+u.UploadPath, tok2.Token, nil, nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("another server's token: %s", res.Status)
	}
	if _, err := mediaToken(t, bob, random(16)); transport.CodeOf(err) != wirepb.ErrorCode_ERROR_CODE_NOT_FOUND {
		t.Errorf("GetMediaToken of an unknown id: %v", err)
	}
	if _, err := mediaToken(t, bob, random(3)); transport.CodeOf(err) != wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST {
		t.Errorf("GetMediaToken of a malformed id: %v", err)
	}
}

func TestSweep(t *testing.T) {
	forBackends(t, func(t *testing.T, b testserver.Backend) {
		n := start(t, b, nil)
		data := random(2*chunk + 7)
		fetched := createUpload(t, n.conn, len(data), sum(data), 2)
		kept := createUpload(t, n.conn, len(data), sum(data), 0)
		incomplete := createUpload(t, n.conn, len(data), sum(data), 1)
		n.upload(t, fetched, data)
		n.upload(t, kept, data)
		n.upload(t, incomplete, data[:chunk])

		// Two devices fetch it: one in two ranges, one that also stops
		// short once (which does not count).
		bob, carol := n.another(t), n.another(t)
		get := func(c *transport.Conn, rg string) int {
			tok, err := mediaToken(t, c, fetched.MediaId)
			if err != nil {
				t.Fatal(err)
			}
			res, _ := do(t, "GET", n.ts.HTTP+tok.DownloadPath, tok.Token, nil, map[string]string{"Range": rg})
			return res.StatusCode
		}
		get(bob, "bytes=0-99")
		get(bob, "bytes=100-")
		get(carol, "bytes=0-10")
		now := time.Now()
		if got := n.ts.SweepMedia(t, now.Add(2*time.Hour)); got != 0 {
			t.Fatalf("swept %d blobs while one device still has to fetch", got)
		}
		get(carol, "")
		// Within the grace a device may fetch again.
		if got := n.ts.SweepMedia(t, now.Add(30*time.Minute)); got != 0 {
			t.Fatalf("swept %d blobs within the grace", got)
		}
		if code := get(bob, ""); code != http.StatusOK {
			t.Fatalf("GET within the grace: %d", code)
		}
		// The server records a download once it sent the last byte,
		// which may be a moment after the client has it.
		sweepOne(t, n.ts, now.Add(2*time.Hour))
		if _, err := mediaToken(t, bob, fetched.MediaId); transport.CodeOf(err) != wirepb.ErrorCode_ERROR_CODE_NOT_FOUND {
			t.Fatalf("GetMediaToken of a swept blob: %v", err)
		}
		if _, err := os.Stat(blobFile(n, fetched.MediaId)); !os.IsNotExist(err) {
			t.Errorf("the swept blob's file is still there: %v", err)
		}
		// The incomplete upload goes after a day, the other one at the TTL.
		if got := n.ts.SweepMedia(t, now.Add(25*time.Hour)); got != 1 {
			t.Fatalf("swept %d blobs after a day, want the incomplete one", got)
		}
		if res, _ := do(t, "HEAD", n.ts.HTTP+incomplete.UploadPath, incomplete.Token, nil, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("HEAD of a swept upload: %s", res.Status)
		}
		if _, err := mediaToken(t, bob, kept.MediaId); err != nil {
			t.Fatalf("the blob kept for 30 days is gone after one: %v", err)
		}
		if got := n.ts.SweepMedia(t, now.Add(29*24*time.Hour)); got != 0 {
			t.Fatalf("swept %d blobs before the TTL", got)
		}
		if got := n.ts.SweepMedia(t, now.Add(31*24*time.Hour)); got != 1 {
			t.Fatalf("swept %d blobs after the TTL, want 1", got)
		}
		if _, err := os.Stat(blobFile(n, kept.MediaId)); !os.IsNotExist(err) {
			t.Errorf("the expired blob's file is still there: %v", err)
		}
	})
}

// TestCluster: two nodes on one PostgreSQL and one NATS, blobs in the NATS
// object store and no media secret configured: a blob uploaded through one
// node is fetched through the other with a token the other handed out.
func TestCluster(t *testing.T) {
	nats := testserver.ExternalNATS(t)
	dsn := testserver.DSN(t, testserver.Postgres)
	cfg := func(c *config.Config) {
		c.MediaChunkBytes = chunk
	}
	a := testserver.Start(t, testserver.Options{Store: dsn, NATS: nats, Config: cfg})
	b := testserver.Start(t, testserver.Options{Store: dsn, NATS: nats, Config: cfg})
	if a.Config.MediaBackend != "nats" {
		t.Fatalf("media backend %q with an external NATS, want nats by default", a.Config.MediaBackend)
	}
	ca := a.Dial(t)
	testserver.Register(t, ca)
	cb := b.Dial(t)
	testserver.Register(t, cb)

	data := random(3*chunk + 5)
	n := &node{ts: a, conn: ca}
	u := createUpload(t, ca, len(data), sum(data), 1)
	n.upload(t, u, data[:chunk])
	// The rest through the other node, as after a reconnection elsewhere.
	(&node{ts: b, conn: cb}).upload2(t, u, data, chunk)
	tok, err := mediaToken(t, cb, u.MediaId)
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range []*testserver.Server{a, b} {
		res, body := do(t, "GET", ts.HTTP+tok.DownloadPath, tok.Token, nil, nil)
		if res.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
			t.Fatalf("GET through %s: %s, %d bytes", ts.HTTP, res.Status, len(body))
		}
	}
	sweepOne(t, a, time.Now().Add(2*time.Hour))
	if res, _ := do(t, "GET", b.HTTP+tok.DownloadPath, tok.Token, nil, nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("GET of a blob swept by the other node: %s", res.Status)
	}
}

// sweepOne sweeps at `at` until one blob goes (a download is recorded a
// moment after the client has the last byte), for 10 s at most.
func sweepOne(t *testing.T, ts *testserver.Server, at time.Time) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		switch n := ts.SweepMedia(t, at); {
		case n == 1:
			return
		case n > 1:
			t.Fatalf("swept %d blobs, want 1", n)
		case time.Now().After(deadline):
			t.Fatal("the fetched blob was never swept")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
