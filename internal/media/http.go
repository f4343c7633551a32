package media

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/parley-im/parley/internal/blob"
	"github.com/parley-im/parley/internal/store"
)

// Register mounts the endpoints on mux.
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("HEAD "+PathPrefix+"{id}", s.head)
	mux.HandleFunc("PATCH "+PathPrefix+"{id}", s.patch)
	mux.HandleFunc("GET "+PathPrefix+"{id}", s.get)
}

// Headers of the upload protocol.
const (
	hdrOffset      = "Upload-Offset"
	hdrLength      = "Upload-Length"
	patchMediaType = "application/offset+octet-stream"
)

// httpError answers with a short plain-text reason.
func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}

// authorize checks the bearer token against the URL's media id and the
// purpose, answering the request itself when it fails.
func (s *Service) authorize(w http.ResponseWriter, r *http.Request, allowed ...Purpose) (Token, bool) {
	id, err := hex.DecodeString(r.PathValue("id"))
	if err != nil || len(id) != 16 || strings.ToLower(r.PathValue("id")) != r.PathValue("id") {
		httpError(w, http.StatusNotFound, "no such media")
		return Token{}, false
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="parley-media"`)
		httpError(w, http.StatusUnauthorized, "a bearer token is required")
		return Token{}, false
	}
	t, err := verify(s.key, strings.TrimSpace(raw), s.cfg.Now())
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="parley-media", error="invalid_token"`)
		httpError(w, http.StatusUnauthorized, "the token is invalid or expired")
		return Token{}, false
	}
	if subtle.ConstantTimeCompare(t.Media[:], id) != 1 {
		httpError(w, http.StatusForbidden, "the token is for another blob")
		return Token{}, false
	}
	for _, p := range allowed {
		if t.Purpose == p {
			return t, true
		}
	}
	httpError(w, http.StatusForbidden, "the token does not allow this method")
	return Token{}, false
}

// upload loads the token's upload, answering the request if there is none
// or the token is not its owner's.
func (s *Service) upload(w http.ResponseWriter, r *http.Request, t Token) (store.Upload, bool) {
	u, err := s.st.Upload(r.Context(), t.Media)
	if errors.Is(err, store.ErrNotFound) {
		httpError(w, http.StatusNotFound, "no such media (expired, deleted or discarded)")
		return u, false
	}
	if err != nil {
		s.log.Error("media: load upload", "err", err)
		httpError(w, http.StatusServiceUnavailable, "the server cannot reach its database; retry")
		return u, false
	}
	if t.Purpose == PurposeUpload && u.Owner != t.Device {
		httpError(w, http.StatusForbidden, "the token is for another device")
		return u, false
	}
	return u, true
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
}

// head reports an upload's offset (upload token) or a blob's size
// (download token).
func (s *Service) head(w http.ResponseWriter, r *http.Request) {
	t, ok := s.authorize(w, r, PurposeUpload, PurposeDownload)
	if !ok {
		return
	}
	u, ok := s.upload(w, r, t)
	if !ok {
		return
	}
	noStore(w)
	if t.Purpose == PurposeUpload {
		w.Header().Set(hdrOffset, strconv.FormatInt(u.Committed, 10))
		w.Header().Set(hdrLength, strconv.FormatInt(u.Size, 10))
		w.WriteHeader(http.StatusOK)
		return
	}
	if !u.Complete() {
		httpError(w, http.StatusNotFound, "no such media")
		return
	}
	w.Header().Set("Accept-Ranges", "bytes")
	w.Header().Set("Content-Length", strconv.FormatInt(u.Size, 10))
	w.WriteHeader(http.StatusOK)
}

// patch stores one chunk at the upload's offset.
func (s *Service) patch(w http.ResponseWriter, r *http.Request) {
	t, ok := s.authorize(w, r, PurposeUpload)
	if !ok {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != patchMediaType {
		httpError(w, http.StatusUnsupportedMediaType, "Content-Type must be "+patchMediaType)
		return
	}
	off, err := strconv.ParseInt(r.Header.Get(hdrOffset), 10, 64)
	if err != nil || off < 0 {
		httpError(w, http.StatusBadRequest, "Upload-Offset must be a byte offset")
		return
	}
	u, ok := s.upload(w, r, t)
	if !ok {
		return
	}
	noStore(w)
	if off != u.Committed || u.Complete() {
		// A client that lost track (a response it did not get) learns
		// where to go on; a complete upload answers with its size.
		w.Header().Set(hdrOffset, strconv.FormatInt(u.Committed, 10))
		httpError(w, http.StatusConflict, fmt.Sprintf("the upload is at offset %d", u.Committed))
		return
	}
	want := min(u.ChunkSize, u.Size-off)
	if r.ContentLength != want {
		httpError(w, http.StatusBadRequest, fmt.Sprintf("this chunk must be exactly %d bytes (Content-Length)", want))
		return
	}
	ctx := r.Context()
	br := ref(u)
	if err := s.blobs.WriteChunk(ctx, br, off/u.ChunkSize, r.Body); err != nil {
		if ctx.Err() != nil || errors.Is(err, io.ErrUnexpectedEOF) {
			// The client went away; the chunk is sent again.
			s.log.Debug("media: chunk not received whole", "err", err)
			httpError(w, http.StatusBadRequest, "the chunk did not arrive whole")
			return
		}
		s.log.Error("media: store chunk", "err", err)
		httpError(w, http.StatusServiceUnavailable, "the server could not store the chunk; retry")
		return
	}
	if s.m.Uploaded != nil {
		s.m.Uploaded(want)
	}
	end := off + want
	if end == u.Size {
		ok, err := s.check(r, u)
		if err != nil {
			s.log.Error("media: verify blob", "err", err)
			httpError(w, http.StatusServiceUnavailable, "the server could not check the blob; retry the last chunk")
			return
		}
		if !ok {
			// A blob that is not what CreateUpload announced is of no use
			// to anyone: it goes, and the client starts again.
			if err := s.blobs.Delete(ctx, br); err != nil {
				s.log.Warn("media: delete mismatched blob", "err", err)
			} else if err := s.st.DeleteUpload(ctx, u.ID); err != nil {
				s.log.Warn("media: delete mismatched upload", "err", err)
			}
			httpError(w, http.StatusUnprocessableEntity, "the blob's SHA-256 is not the announced one; the upload is discarded")
			return
		}
	}
	nu, err := s.st.CommitUpload(ctx, u.ID, off, end, s.cfg.Now().Add(s.cfg.TTL))
	switch {
	case errors.Is(err, store.ErrConflict):
		// Another request of the same client committed this offset first.
		w.Header().Set(hdrOffset, strconv.FormatInt(nu.Committed, 10))
		httpError(w, http.StatusConflict, fmt.Sprintf("the upload is at offset %d", nu.Committed))
		return
	case errors.Is(err, store.ErrNotFound):
		httpError(w, http.StatusNotFound, "no such media")
		return
	case err != nil:
		s.log.Error("media: commit chunk", "err", err)
		httpError(w, http.StatusServiceUnavailable, "the server could not record the chunk; retry")
		return
	}
	w.Header().Set(hdrOffset, strconv.FormatInt(end, 10))
	w.WriteHeader(http.StatusNoContent)
}

// check reads the whole stored blob back and compares its SHA-256 with the
// announced one: what counts is what is stored, whatever requests wrote it.
func (s *Service) check(r *http.Request, u store.Upload) (bool, error) {
	rc, err := s.blobs.Open(r.Context(), ref(u), 0, u.Size)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(h.Sum(nil), u.SHA256) == 1, nil
}

// get serves the blob, or one range of it, and records the device's
// download once it got the last byte.
func (s *Service) get(w http.ResponseWriter, r *http.Request) {
	t, ok := s.authorize(w, r, PurposeDownload)
	if !ok {
		return
	}
	u, ok := s.upload(w, r, t)
	if !ok {
		return
	}
	if !u.Complete() {
		httpError(w, http.StatusNotFound, "no such media")
		return
	}
	noStore(w)
	w.Header().Set("Accept-Ranges", "bytes")
	off, n, partial, ok := parseRange(r.Header.Get("Range"), u.Size)
	if !ok {
		w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(u.Size, 10))
		httpError(w, http.StatusRequestedRangeNotSatisfiable, "the range is outside the blob")
		return
	}
	rc, err := s.blobs.Open(r.Context(), ref(u), off, n)
	if errors.Is(err, blob.ErrNotFound) {
		httpError(w, http.StatusNotFound, "no such media")
		return
	}
	if err != nil {
		s.log.Error("media: open blob", "err", err)
		httpError(w, http.StatusServiceUnavailable, "the server could not read the blob; retry")
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	code := http.StatusOK
	if partial {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, u.Size))
		code = http.StatusPartialContent
	}
	w.WriteHeader(code)
	copied, err := io.Copy(w, rc)
	if s.m.Downloaded != nil {
		s.m.Downloaded(copied)
	}
	if err != nil || copied != n || off+n != u.Size {
		return
	}
	// The last byte went out: this device has the blob (the grace period
	// covers one whose connection broke right after).
	if _, err := s.st.RecordDownload(r.Context(), u.ID, t.Device, s.cfg.Now()); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("media: record download", "err", err)
	}
}

// parseRange reads a Range header of one range, "bytes=a-b", "bytes=a-" or
// "bytes=-n". No header (or one this server does not serve, such as
// several ranges) is the whole blob; ok is false for a range that is not
// satisfiable.
func parseRange(h string, size int64) (off, n int64, partial, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if h == "" || !found || strings.Contains(spec, ",") {
		return 0, size, false, true
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, size, false, true
	}
	if first == "" {
		suffix, err := strconv.ParseInt(last, 10, 64)
		if err != nil || suffix <= 0 {
			return 0, 0, false, false
		}
		suffix = min(suffix, size)
		return size - suffix, suffix, true, true
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return 0, size, false, true
	}
	if start >= size {
		return 0, 0, false, false
	}
	end := size - 1
	if last != "" {
		e, err := strconv.ParseInt(last, 10, 64)
		if err != nil || e < start {
			return 0, size, false, true
		}
		end = min(e, size-1)
	}
	return start, end - start + 1, true, true
}
