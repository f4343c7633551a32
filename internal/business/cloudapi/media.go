package cloudapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
)

// downloadSegment is the first path segment of media download URLs; it is
// not a number, so it can never be an object id.
const downloadSegment = "media_download"

// uploadTypes are the accepted MIME types and their size limits (Meta's,
// as whatsapp-api-js checks them).
var uploadTypes = map[string]int64{
	"audio/aac": 16 << 20, "audio/mp4": 16 << 20, "audio/mpeg": 16 << 20, "audio/amr": 16 << 20, "audio/ogg": 16 << 20,
	"text/plain": 100 << 20, "application/pdf": 100 << 20, "application/vnd.ms-powerpoint": 100 << 20,
	"application/msword": 100 << 20, "application/vnd.ms-excel": 100 << 20,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   100 << 20,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 << 20,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         100 << 20,
	"image/jpeg": 5 << 20, "image/png": 5 << 20, "image/webp": 500 << 10,
	"video/mp4": 16 << 20, "video/3gp": 16 << 20, "video/3gpp": 16 << 20,
}

// countingReader hashes and counts what passes through it.
type countingReader struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	max int64
}

var errTooBig = errors.New("cloudapi: upload too large")

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.h.Write(p[:n])
	if c.n > c.max {
		return n, errTooBig
	}
	return n, err
}

// upload is POST {phone}/media: multipart form with file, type and
// messaging_product (as a field, as Kapso sends it, or as a query
// parameter, as whatsapp-api-js does). The file streams to the store.
func (h *Handler) upload(q *request, pn PhoneNumber) error {
	if err := need(q, ScopeMedia); err != nil {
		return err
	}
	ct, params, err := mime.ParseMediaType(q.r.Header.Get("Content-Type"))
	if err != nil || ct != "multipart/form-data" || params["boundary"] == "" {
		return fail(ErrMediaUpload, "the upload must be multipart/form-data")
	}
	mr := multipart.NewReader(http.MaxBytesReader(q.w, q.r.Body, h.cfg.MaxUpload+1<<20), params["boundary"])
	product := q.r.URL.Query().Get("messaging_product")
	declared := ""
	var stored *Media
	cleanup := func() {
		if stored != nil {
			_ = h.cfg.Media.DeleteMedia(q.ctx, stored.ID)
		}
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			cleanup()
			return fail(ErrMediaUpload, "the multipart body is malformed")
		}
		switch part.FormName() {
		case "messaging_product", "type":
			b, err := io.ReadAll(io.LimitReader(part, 256))
			if err != nil {
				cleanup()
				return fail(ErrMediaUpload, "the multipart body is malformed")
			}
			if part.FormName() == "type" {
				declared = strings.TrimSpace(string(b))
			} else {
				product = strings.TrimSpace(string(b))
			}
		case "file":
			if stored != nil {
				cleanup()
				return fail(ErrMediaUpload, "one file per upload")
			}
			m := Media{ID: NewID(), PhoneNumberID: pn.ID, MIMEType: part.Header.Get("Content-Type"),
				Filename: part.FileName(), Created: h.now()}
			cr := &countingReader{r: part, h: sha256.New(), max: h.cfg.MaxUpload}
			if err := h.cfg.Media.PutMedia(q.ctx, m, cr); err != nil {
				_ = h.cfg.Media.DeleteMedia(q.ctx, m.ID)
				if errors.Is(err, errTooBig) || cr.n > h.cfg.MaxUpload {
					return fail(ErrMediaUpload, "the file exceeds %d bytes", h.cfg.MaxUpload)
				}
				return err
			}
			m.SHA256, m.FileSize = hex.EncodeToString(cr.h.Sum(nil)), cr.n
			stored = &m
		}
		part.Close()
	}
	if product != "whatsapp" {
		cleanup()
		return fail(ErrInvalidParameter, "The parameter messaging_product is required and must be whatsapp")
	}
	if stored == nil {
		return fail(ErrMissingParameter, "file is required")
	}
	mt := stored.MIMEType
	if t, _, err := mime.ParseMediaType(mt); err == nil {
		mt = t
	}
	if mt == "" || mt == "application/octet-stream" {
		mt = declared
	}
	if d, _, err := mime.ParseMediaType(declared); err == nil && declared != "" {
		declared = d
	}
	limit, ok := uploadTypes[mt]
	if !ok {
		cleanup()
		return fail(ErrMediaUpload, "unsupported file type %q", mt)
	}
	if declared != "" && declared != mt {
		cleanup()
		return fail(ErrMediaUpload, "type %q does not match the file's content type %q", declared, mt)
	}
	if stored.FileSize > limit {
		cleanup()
		return fail(ErrMediaUpload, "a %s file may be at most %d bytes", mt, limit)
	}
	stored.MIMEType = mt
	if err := h.cfg.Media.PutMedia(q.ctx, *stored, nil); err != nil {
		cleanup()
		return err
	}
	writeJSON(q.w, http.StatusOK, map[string]string{"id": stored.ID})
	return nil
}

func (h *Handler) mediaSig(id string, exp int64) string {
	m := hmac.New(sha256.New, h.cfg.MediaKey)
	m.Write([]byte(id + "\n" + strconv.FormatInt(exp, 10)))
	return hex.EncodeToString(m.Sum(nil))
}

func (h *Handler) mediaURL(r *http.Request, id string) string {
	base := h.cfg.PublicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	exp := h.now().Add(h.cfg.MediaURLTTL).Unix()
	return strings.TrimRight(base, "/") + "/" + downloadSegment + "/" + id + "?exp=" + strconv.FormatInt(exp, 10) + "&sig=" + h.mediaSig(id, exp)
}

func (h *Handler) getMedia(q *request, m Media) error {
	if err := need(q, ScopeMedia); err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, map[string]string{
		"messaging_product": "whatsapp", "url": h.mediaURL(q.r, m.ID), "mime_type": m.MIMEType,
		"sha256": m.SHA256, "file_size": strconv.FormatInt(m.FileSize, 10), "id": m.ID,
	})
	return nil
}

func (h *Handler) deleteMedia(q *request, m Media) error {
	if err := need(q, ScopeMedia); err != nil {
		return err
	}
	if err := h.cfg.Media.DeleteMedia(q.ctx, m.ID); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	writeJSON(q.w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

// download serves a media URL. The signature is the credential, so it
// works without the bearer header (Kapso fetches media without it); an
// expired or missing signature still works with a valid media-scoped token
// of the media's business.
func (h *Handler) download(w http.ResponseWriter, r *http.Request, segs []string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, fail(ErrUnknownPath, "media URLs are read with GET"))
		return
	}
	if len(segs) != 1 || !idRE.MatchString(segs[0]) || h.cfg.Media == nil {
		writeError(w, fail(ErrUnknownPath, "not a media URL"))
		return
	}
	id := segs[0]
	q := r.URL.Query()
	exp, _ := strconv.ParseInt(q.Get("exp"), 10, 64)
	sigOK := hmac.Equal([]byte(q.Get("sig")), []byte(h.mediaSig(id, exp))) && h.now().Unix() <= exp
	m, err := h.cfg.Media.Media(r.Context(), id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		writeError(w, err)
		return
	}
	if !sigOK {
		tok, aerr := h.authenticate(r)
		if aerr != nil {
			if q.Get("sig") != "" {
				aerr = fail(ErrAccessDenied, "the media URL has expired; retrieve a new one")
			}
			writeError(w, aerr)
			return
		}
		if !tok.Has(ScopeMedia) {
			writeError(w, fail(ErrPermission, "the access token lacks the media scope"))
			return
		}
		if err == nil {
			if pn, perr := h.cfg.Directory.PhoneNumber(r.Context(), m.PhoneNumberID); perr != nil || pn.WABAID != tok.WABAID {
				err = ErrNotFound
			}
		}
	}
	if err != nil {
		writeError(w, fail(ErrUnknownObject, "Object with ID '%s' does not exist", id))
		return
	}
	rc, err := h.cfg.Media.OpenMedia(r.Context(), id)
	if err != nil {
		writeError(w, fail(ErrUnknownObject, "Object with ID '%s' does not exist", id))
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", m.MIMEType)
	w.Header().Set("Content-Length", strconv.FormatInt(m.FileSize, 10))
	w.Header().Set("Cache-Control", "private, max-age=300")
	if m.Filename != "" {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": m.Filename}))
	}
	w.Header().Set("Last-Modified", m.Created.UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = io.Copy(w, rc)
	}
}
