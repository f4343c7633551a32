package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/e2ee/media"
	"github.com/parley-im/parley/proto/contentpb"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// KindMedia is an attachment (image, video, audio, document, sticker);
// Message.Media has it and Message.Text its caption.
const KindMedia clientstore.Kind = 4

// Limits on what a media message carries beside the blob.
const (
	MaxThumbnailSize = 16 << 10
	maxFileName      = 255
	maxMimeType      = 255
)

// Media errors.
var (
	// ErrMediaGone: the server no longer has the blob (it expired, every
	// recipient device fetched it, or the upload was discarded).
	ErrMediaGone = errors.New("client: media no longer on the server")
	// ErrMediaTampered: the blob failed verification (digest, MAC or
	// padding), or holds another file than the message announced. Nothing
	// was written.
	ErrMediaTampered = errors.New("client: media failed verification")
	// ErrMediaTooLarge: the server takes no blob this large.
	ErrMediaTooLarge = errors.New("client: media too large for the server")
)

// Progress is told how many of total bytes are done (which may go back
// when a broken transfer resumes); calls come one at a time but not always
// from the caller's goroutine, and must return quickly.
type Progress func(done, total int64)

// MediaOptions describe an attachment.
type MediaOptions struct {
	// Kind is what it is; default: guessed from MimeType (image, video,
	// audio, else document).
	Kind contentpb.Media_Kind
	// MimeType; default: from the file name's extension, else sniffed.
	MimeType string
	// FileName is shown to the recipient (no directories).
	FileName string
	Caption  string
	// VoiceNote marks audio recorded as a voice message.
	VoiceNote bool
	// Thumbnail is a small JPEG; default: made from images (100 px at most).
	Thumbnail       []byte
	Width, Height   uint32
	DurationSeconds uint32
	// Downloads is how many devices will fetch the blob, after which the
	// server deletes it (0: it keeps it until it expires). SendFile sets it.
	Downloads uint32
	// Progress of the upload.
	Progress Progress
}

// UploadMedia encrypts src with a fresh media key and uploads the blob in
// chunks, resuming after a broken connection from where the server says
// it is. The blob is staged in a temporary file (Options.TempDir), so src
// is read once. It returns the Media to send (Send with a Content_Media
// body, or SendFile for both steps).
func (c *Client) UploadMedia(ctx context.Context, src io.Reader, o MediaOptions) (*contentpb.Media, error) {
	if _, err := c.account(); err != nil {
		return nil, err
	}
	if o.Kind == contentpb.Media_KIND_UNSPECIFIED {
		o.Kind = kindOf(o.MimeType)
	}
	key := make([]byte, media.KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(c.o.TempDir, "parley-upload-*")
	if err != nil {
		return nil, fmt.Errorf("client: staging the upload: %w", err)
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	res, err := media.Encrypt(tmp, src, key, media.Kind(o.Kind))
	if err != nil {
		return nil, fmt.Errorf("client: encrypting the media: %w", err)
	}
	r, err := c.rpc(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_CreateUpload{CreateUpload: &wirepb.CreateUpload{
		Size: uint64(res.EncSize), Sha256: res.EncSHA256, Downloads: o.Downloads}}})
	if err != nil {
		if transport.CodeOf(err) == wirepb.ErrorCode_ERROR_CODE_TOO_LARGE {
			return nil, errors.Join(ErrMediaTooLarge, err)
		}
		return nil, err
	}
	up := r.GetUpload()
	if len(up.GetMediaId()) != 16 || up.ChunkBytes == 0 {
		return nil, errors.New("client: the server's upload answer is malformed")
	}
	if err := c.putBlob(ctx, tmp, res.EncSize, up, o.Progress); err != nil {
		return nil, err
	}
	return &contentpb.Media{
		Kind: o.Kind, MediaId: up.MediaId, Key: key, FileSha256: res.FileSHA256, FileEncSha256: res.EncSHA256,
		Size: uint64(res.Size), MimeType: o.MimeType, FileName: filepath.Base(o.FileName), Caption: o.Caption,
		Thumbnail: o.Thumbnail, Width: o.Width, Height: o.Height, DurationSeconds: o.DurationSeconds, VoiceNote: o.VoiceNote,
	}, nil
}

func (c *Client) httpClient() *http.Client {
	if c.o.HTTPClient != nil {
		return c.o.HTTPClient
	}
	return http.DefaultClient
}

// mediaURL is path on the server's HTTP origin (ws:// → http://).
func (c *Client) mediaURL(path string) (string, error) {
	acct, err := c.account()
	if err != nil {
		return "", err
	}
	u, err := url.Parse(acct.ServerURL)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	if !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("client: the server gave a media path %q", path)
	}
	u.Path, u.RawPath, u.RawQuery, u.Fragment = path, "", "", ""
	return u.String(), nil
}

// maxMediaFailures is how many attempts in a row may fail (broken
// connections, a busy server) before an upload or download gives up.
const maxMediaFailures = 8

// pause waits the back-off before attempt n, or until ctx is done.
func (c *Client) pause(ctx context.Context, n int) error {
	t := time.NewTimer(c.backoff(n))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// putBlob PATCHes the blob chunk by chunk from the server's offset.
func (c *Client) putBlob(ctx context.Context, blob io.ReaderAt, size int64, up *wirepb.UploadResult, progress Progress) error {
	target, err := c.mediaURL(up.UploadPath)
	if err != nil {
		return err
	}
	chunk := int64(up.ChunkBytes)
	if progress != nil {
		// The HTTP transport reads a request's body in a goroutine of its
		// own: calls are serialised here so the callback need not be.
		var mu sync.Mutex
		p := progress
		progress = func(done, total int64) { mu.Lock(); defer mu.Unlock(); p(done, total) }
	}
	var off int64
	fails := 0
	failed := func(err error) error {
		fails++
		if fails >= maxMediaFailures || ctx.Err() != nil {
			return fmt.Errorf("client: upload stopped at byte %d of %d: %w", off, size, err)
		}
		if err := c.pause(ctx, fails-1); err != nil {
			return err
		}
		// Where did the server get to? The chunk may have arrived whole
		// before the connection broke.
		if o, err := c.uploadOffset(ctx, target, up.Token); err == nil {
			off = o
		}
		return nil
	}
	for off < size {
		n := min(chunk, size-off)
		body := &countingReader{r: io.NewSectionReader(blob, off, n)}
		if progress != nil {
			start := off
			body.fn = func(sent int64) { progress(start+sent, size) }
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPatch, target, body)
		if err != nil {
			return err
		}
		req.ContentLength = n
		req.Header.Set("Authorization", "Bearer "+up.Token)
		req.Header.Set("Content-Type", "application/offset+octet-stream")
		req.Header.Set("Upload-Offset", strconv.FormatInt(off, 10))
		res, err := c.httpClient().Do(req)
		if err != nil {
			if err := failed(err); err != nil {
				return err
			}
			continue
		}
		msg := readShort(res)
		switch {
		case res.StatusCode == http.StatusNoContent || res.StatusCode == http.StatusConflict:
			o, err := strconv.ParseInt(res.Header.Get("Upload-Offset"), 10, 64)
			if err != nil || o < 0 || o > size {
				return fmt.Errorf("client: the server answered the upload with offset %q", res.Header.Get("Upload-Offset"))
			}
			if o > off {
				fails = 0
			}
			off = o
			if progress != nil {
				progress(off, size)
			}
		case res.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%w: the upload expired or was discarded", ErrMediaGone)
		case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
			if err := failed(fmt.Errorf("server: %s: %s", res.Status, msg)); err != nil {
				return err
			}
		default:
			return fmt.Errorf("client: the server refused the upload: %s: %s", res.Status, msg)
		}
	}
	return nil
}

// uploadOffset asks the server (HEAD) how much of the upload it has.
func (c *Client) uploadOffset(ctx context.Context, target, token string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, target, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.httpClient().Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("client: HEAD of the upload: %s", res.Status)
	}
	return strconv.ParseInt(res.Header.Get("Upload-Offset"), 10, 64)
}

// readShort reads (a little of) a response body and closes it.
func readShort(res *http.Response) string {
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // lets the connection be reused
	return strings.TrimSpace(string(b))
}

// countingReader reports how many bytes went through it.
type countingReader struct {
	r  io.Reader
	n  int64
	fn func(int64)
}

func (cr *countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	cr.n += int64(n)
	if cr.fn != nil && n > 0 {
		cr.fn(cr.n)
	}
	return n, err
}

// checkMedia validates a Media before it is sent or downloaded.
func checkMedia(m *contentpb.Media) error {
	switch {
	case m == nil:
		return fmt.Errorf("%w: no media", ErrInvalid)
	case media.Kind(m.Kind).Info() == "":
		return fmt.Errorf("%w: media kind %d", ErrInvalid, m.Kind)
	case len(m.MediaId) != 16, len(m.Key) != media.KeySize, len(m.FileSha256) != 32, len(m.FileEncSha256) != 32:
		return fmt.Errorf("%w: media id, key or digests malformed", ErrInvalid)
	case len(m.Thumbnail) > MaxThumbnailSize:
		return fmt.Errorf("%w: thumbnail of %d bytes exceeds %d", ErrInvalid, len(m.Thumbnail), MaxThumbnailSize)
	case len(m.Caption) > MaxTextSize:
		return fmt.Errorf("%w: caption of %d bytes exceeds %d", ErrInvalid, len(m.Caption), MaxTextSize)
	case len(m.FileName) > maxFileName || len(m.MimeType) > maxMimeType:
		return fmt.Errorf("%w: file name or MIME type too long", ErrInvalid)
	}
	return nil
}

// DownloadMedia fetches the blob of m (resuming after a broken
// connection), verifies it and writes the plaintext to dst. Nothing is
// written unless the blob's digest, its MAC and the file's digest are all
// right (ErrMediaTampered otherwise). The blob is staged in a temporary
// file (Options.TempDir). It returns the plaintext size.
func (c *Client) DownloadMedia(ctx context.Context, m *contentpb.Media, dst io.Writer, progress Progress) (int64, error) {
	if err := checkMedia(m); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(c.o.TempDir, "parley-download-*")
	if err != nil {
		return 0, fmt.Errorf("client: staging the download: %w", err)
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	size, err := c.getBlob(ctx, m.MediaId, media.EncryptedSize(int64(m.Size)), tmp, progress)
	if err != nil {
		return 0, err
	}
	n, err := media.Open(dst, tmp, size, m.Key, media.Kind(m.Kind), m.FileEncSha256, m.FileSha256)
	if errors.Is(err, media.ErrTampered) || errors.Is(err, media.ErrDigest) || errors.Is(err, media.ErrMalformed) {
		return n, errors.Join(ErrMediaTampered, err)
	}
	return n, err
}

// getBlob downloads the blob into f, resuming with ranges, and returns its
// size. want is the size the message implies: a server with another size
// has another blob.
func (c *Client) getBlob(ctx context.Context, id []byte, want int64, f *os.File, progress Progress) (int64, error) {
	var tok *wirepb.MediaTokenResult
	var have int64
	fails := 0
	for {
		if tok == nil {
			r, err := c.rpc(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetMediaToken{GetMediaToken: &wirepb.GetMediaToken{MediaId: id}}})
			if transport.CodeOf(err) == wirepb.ErrorCode_ERROR_CODE_NOT_FOUND {
				return 0, errors.Join(ErrMediaGone, err)
			}
			if err != nil {
				return 0, err
			}
			tok = r.GetMediaToken()
			if int64(tok.Size) != want {
				return 0, fmt.Errorf("%w: the server's blob has %d bytes, the message's %d", ErrMediaTampered, tok.Size, want)
			}
		}
		size := int64(tok.Size)
		if have == size {
			return size, nil
		}
		target, err := c.mediaURL(tok.DownloadPath)
		if err != nil {
			return 0, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		if have > 0 {
			req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
		}
		res, err := c.httpClient().Do(req)
		if err == nil {
			switch {
			case res.StatusCode == http.StatusOK, res.StatusCode == http.StatusPartialContent:
				start := int64(0)
				if res.StatusCode == http.StatusPartialContent {
					start = rangeStart(res.Header.Get("Content-Range"))
				}
				if start != have && start != 0 {
					readShort(res)
					return 0, fmt.Errorf("client: the server sent bytes from %d, asked for %d", start, have)
				}
				have = start
				w := &countingWriter{w: io.NewOffsetWriter(f, have)}
				if progress != nil {
					from := have
					w.fn = func(n int64) { progress(from+n, size) }
				}
				_, err = io.Copy(w, io.LimitReader(res.Body, size-have))
				res.Body.Close()
				have += w.n
				if err == nil && have == size {
					continue
				}
				if err == nil {
					err = io.ErrUnexpectedEOF
				}
				if w.n > 0 {
					fails = 0
				}
			case res.StatusCode == http.StatusNotFound:
				readShort(res)
				return 0, ErrMediaGone
			case res.StatusCode == http.StatusUnauthorized:
				// The token ended: fetch a new one.
				err = fmt.Errorf("server: %s: %s", res.Status, readShort(res))
				tok = nil
			case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
				err = fmt.Errorf("server: %s: %s", res.Status, readShort(res))
			default:
				return 0, fmt.Errorf("client: the server refused the download: %s: %s", res.Status, readShort(res))
			}
		}
		fails++
		if fails >= maxMediaFailures || ctx.Err() != nil {
			return 0, fmt.Errorf("client: download stopped at byte %d: %w", have, err)
		}
		if err := c.pause(ctx, fails-1); err != nil {
			return 0, err
		}
	}
}

// rangeStart reads the first byte of "bytes a-b/size"; -1 if malformed.
func rangeStart(h string) int64 {
	spec, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return -1
	}
	first, _, ok := strings.Cut(spec, "-")
	n, err := strconv.ParseInt(first, 10, 64)
	if !ok || err != nil {
		return -1
	}
	return n
}

type countingWriter struct {
	w  io.Writer
	n  int64
	fn func(int64)
}

func (cw *countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n += int64(n)
	if cw.fn != nil && n > 0 {
		cw.fn(cw.n)
	}
	return n, err
}

// SaveMedia downloads the media of message r and saves it at path; if
// path is a directory, in it under the sender's file name (made safe, and
// unique among the files there). The file appears only once the media is
// verified: it is written to a temporary file beside it first. It returns
// the path written.
func (c *Client) SaveMedia(ctx context.Context, r clientstore.MessageRef, path string, progress Progress) (string, error) {
	msg, err := c.Message(ctx, r)
	if err != nil {
		return "", err
	}
	if msg.Media == nil {
		return "", fmt.Errorf("%w: message %s has no media", ErrInvalid, r.ID)
	}
	m := msg.Media
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		if path, err = freeName(path, safeFileName(m)); err != nil {
			return "", err
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".parley-*.part")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := c.DownloadMedia(ctx, m, tmp, progress); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	return path, nil
}

// safeFileName is the sender's file name without directories or control
// characters, or a name made from the media id and MIME type.
func safeFileName(m *contentpb.Media) string {
	name := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return -1
		}
		return r
	}, filepath.Base(strings.ReplaceAll(m.FileName, "\\", "/")))
	name = strings.TrimLeft(name, ".")
	if name == "" {
		name = fmt.Sprintf("media-%x", m.MediaId[:4])
		if exts, _ := mime.ExtensionsByType(m.MimeType); len(exts) > 0 {
			name += exts[0]
		}
	}
	return name
}

// freeName returns dir/name, or dir/"stem (n)ext" if that exists.
func freeName(dir, name string) (string, error) {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 0; i < 1000; i++ {
		p := filepath.Join(dir, name)
		if i > 0 {
			p = filepath.Join(dir, fmt.Sprintf("%s (%d)%s", stem, i, ext))
		}
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			return p, nil
		}
	}
	return "", fmt.Errorf("client: no free file name for %s in %s", name, dir)
}

// kindOf guesses the kind from a MIME type.
func kindOf(mimeType string) contentpb.Media_Kind {
	switch {
	case strings.HasPrefix(mimeType, "image/"):
		return contentpb.Media_KIND_IMAGE
	case strings.HasPrefix(mimeType, "video/"):
		return contentpb.Media_KIND_VIDEO
	case strings.HasPrefix(mimeType, "audio/"):
		return contentpb.Media_KIND_AUDIO
	}
	return contentpb.Media_KIND_DOCUMENT
}

// DetectMIME returns the MIME type of a file: by its name's extension,
// else by its first bytes.
func DetectMIME(name string, head []byte) string {
	if t := mime.TypeByExtension(strings.ToLower(filepath.Ext(name))); t != "" {
		if mt, _, err := mime.ParseMediaType(t); err == nil {
			return mt
		}
	}
	mt, _, _ := mime.ParseMediaType(http.DetectContentType(head))
	return mt
}

// SendFile sends the file at path to the account to: it encrypts and
// uploads it (reporting o.Progress), then sends a media message with the
// key, as Send does. Unset options are filled in: the file name, MIME
// type, kind, and for images the size and a thumbnail. The server deletes
// the blob once as many devices as this client knows of (to's and this
// account's other ones) fetched it, or after its TTL: a device of to that
// this client did not know of yet must fetch it before then.
func (c *Client) SendFile(ctx context.Context, to types.AccountID, path string, o MediaOptions) (types.MessageID, error) {
	acct, err := c.account()
	if err != nil {
		return types.MessageID{}, err
	}
	if to.IsZero() || to == acct.ID {
		return types.MessageID{}, fmt.Errorf("%w: destination", ErrInvalid)
	}
	if err := c.checkTrust(ctx, to); err != nil {
		return types.MessageID{}, err
	}
	m, err := c.uploadFile(ctx, path, o, func() uint32 { return c.knownDevices(ctx, to) })
	if err != nil {
		return types.MessageID{}, err
	}
	return c.Send(ctx, to, &contentpb.Content{Body: &contentpb.Content_Media{Media: m}})
}

// uploadFile fills in o from the file at path (name, type, kind, and for
// images size and thumbnail) and uploads it; downloads says how many
// devices will fetch it when o does not.
func (c *Client) uploadFile(ctx context.Context, path string, o MediaOptions, downloads func() uint32) (*contentpb.Media, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if o.FileName == "" {
		o.FileName = filepath.Base(path)
	}
	if o.MimeType == "" {
		head := make([]byte, 512)
		n, _ := io.ReadFull(f, head)
		o.MimeType = DetectMIME(o.FileName, head[:n])
	}
	if o.Kind == contentpb.Media_KIND_UNSPECIFIED {
		o.Kind = kindOf(o.MimeType)
	}
	if o.Kind == contentpb.Media_KIND_IMAGE || o.Kind == contentpb.Media_KIND_STICKER {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		if th, w, h, ok := Thumbnail(f); ok {
			if o.Thumbnail == nil {
				o.Thumbnail = th
			}
			if o.Width == 0 && o.Height == 0 {
				o.Width, o.Height = uint32(w), uint32(h)
			}
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if o.Downloads == 0 {
		o.Downloads = downloads()
	}
	return c.UploadMedia(ctx, f, o)
}

// SendGroupFile sends the file at path to group g, as SendFile does to an
// account. The server keeps the blob until as many devices as the group
// had when this device last sent to it fetched it, or until its TTL.
func (c *Client) SendGroupFile(ctx context.Context, g types.GroupID, path string, o MediaOptions) (types.MessageID, error) {
	acct, err := c.account()
	if err != nil {
		return types.MessageID{}, err
	}
	gr, err := c.loadGroup(ctx, g)
	if err != nil {
		return types.MessageID{}, err
	}
	if err := canSend(gr, acct.ID); err != nil {
		return types.MessageID{}, err
	}
	m, err := c.uploadFile(ctx, path, o, func() uint32 {
		if r := c.cachedGroupDevices(g, gr.Seq); r != nil {
			n := uint32(0)
			for _, mem := range r.Members {
				n += uint32(len(mem.Devices))
			}
			return max(n, 1) - 1 // not this device
		}
		return 0
	})
	if err != nil {
		return types.MessageID{}, err
	}
	return c.SendGroup(ctx, g, &contentpb.Content{Body: &contentpb.Content_Media{Media: m}})
}

// knownDevices counts the devices that will get a message to `to`: to's
// and this account's other ones that this client has sessions with. 0
// (keep the blob until it expires) if it knows none of to's yet.
func (c *Client) knownDevices(ctx context.Context, to types.AccountID) uint32 {
	acct, _ := c.account()
	theirs, err := c.st.SessionDevices(ctx, to.String())
	if err != nil || len(theirs) == 0 {
		return 0
	}
	ours, err := c.st.SessionDevices(ctx, acct.ID.String())
	if err != nil {
		return 0
	}
	n := len(theirs)
	for _, d := range ours {
		if types.DeviceID(d) != acct.Device {
			n++
		}
	}
	return uint32(n)
}
