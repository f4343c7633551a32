package agent

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/internal/business/cloudapi"
	"github.com/parley-im/parley/internal/business/webhook"
	"github.com/parley-im/parley/proto/contentpb"
)

// Media crosses as Parley media: the file is encrypted on the agent with a
// fresh key and uploaded to the Parley server, which never sees it in the
// clear; the customer's client fetches and checks it. Files the business
// uploaded through the API (by id) come from the media store; files it
// names by link are fetched from there first, as Meta does.

// maxMediaBytes bounds a file fetched from a link (the API's own uploads
// are bounded by cloudapi.Config.MaxUpload).
const maxMediaBytes = 100 << 20

var mediaKinds = map[string]contentpb.Media_Kind{"image": contentpb.Media_KIND_IMAGE, "video": contentpb.Media_KIND_VIDEO,
	"audio": contentpb.Media_KIND_AUDIO, "document": contentpb.Media_KIND_DOCUMENT, "sticker": contentpb.Media_KIND_STICKER}

// mediaContent uploads the file of a Cloud API media object and returns
// the media message.
func (a *Agent) mediaContent(ctx context.Context, typ string, obj []byte, quote *contentpb.Quote) (*contentpb.Content, error) {
	var m struct {
		ID       string `json:"id"`
		Link     string `json:"link"`
		Caption  string `json:"caption"`
		Filename string `json:"filename"`
	}
	if err := json.Unmarshal(obj, &m); err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return &cloudapi.Error{Spec: cloudapi.ErrMediaUpload, Details: fmt.Sprintf(format, args...)}
	}
	tmp, err := os.CreateTemp("", "parley-agent-media-*")
	if err != nil {
		return nil, err
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	o := client.MediaOptions{Kind: mediaKinds[typ], Caption: m.Caption, FileName: m.Filename}
	switch {
	case m.ID != "":
		meta, err := a.st.Media(ctx, m.ID)
		if errors.Is(err, cloudapi.ErrNotFound) || err == nil && meta.PhoneNumberID != a.settings.PhoneNumberID {
			return nil, bad("%s.id: no such media", typ)
		}
		if err != nil {
			return nil, err
		}
		r, err := a.st.OpenMedia(ctx, m.ID)
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(tmp, r)
		r.Close()
		if err != nil {
			return nil, err
		}
		o.MimeType = meta.MIMEType
		if o.FileName == "" {
			o.FileName = meta.Filename
		}
	case m.Link != "":
		mt, err := fetch(ctx, m.Link, tmp)
		if err != nil {
			return nil, bad("%s.link could not be fetched: %v", typ, err)
		}
		o.MimeType = mt
		if o.FileName == "" && typ == "document" {
			o.FileName = path.Base(m.Link)
		}
	default:
		return nil, bad("%s has neither id nor link", typ)
	}
	if o.Kind == contentpb.Media_KIND_IMAGE || o.Kind == contentpb.Media_KIND_STICKER {
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		if th, w, h, ok := client.Thumbnail(tmp); ok {
			o.Thumbnail, o.Width, o.Height = th, uint32(w), uint32(h)
		}
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	md, err := a.c.UploadMedia(ctx, tmp, o)
	if errors.Is(err, client.ErrMediaTooLarge) {
		return nil, bad("the file is larger than the Parley server takes")
	}
	if err != nil {
		return nil, err
	}
	md.Quote = quote
	return &contentpb.Content{Body: &contentpb.Content_Media{Media: md}}, nil
}

// fetch GETs a media link into w and returns its MIME type.
func fetch(ctx context.Context, link string, w io.Writer) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil || (req.URL.Scheme != "https" && req.URL.Scheme != "http") {
		return "", errors.New("not an http(s) URL")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("the server answered %d", res.StatusCode)
	}
	n, err := io.Copy(w, io.LimitReader(res.Body, maxMediaBytes+1))
	if err != nil {
		return "", err
	}
	if n > maxMediaBytes {
		return "", fmt.Errorf("larger than %d MiB", maxMediaBytes>>20)
	}
	return res.Header.Get("Content-Type"), nil
}

// inboundMedia is a customer's photo, video, voice note, document or
// sticker as Meta's media message: the agent fetches and checks the file
// and keeps it in the media store under a new id, which GET {media-id}
// serves, as Meta's do. A file that cannot be fetched (gone from the
// server, failing its check) is reported with error 131052 and no id.
func (a *Agent) inboundMedia(ctx context.Context, md *contentpb.Media) (string, []byte, []webhook.StatusError, error) {
	typ := ""
	for t, k := range mediaKinds {
		if k == md.GetKind() {
			typ = t
		}
	}
	if typ == "" {
		return "unsupported", nil, nil, nil
	}
	body := webhook.Media{MIMEType: md.MimeType, SHA256: base64.StdEncoding.EncodeToString(md.FileSha256),
		Caption: md.Caption, Filename: md.FileName, Voice: md.VoiceNote}
	id, err := a.st.NewObjectID(ctx, "media")
	if err != nil {
		return "", nil, nil, err
	}
	pr, pw := io.Pipe()
	h := sha256.New()
	var size int64
	done := make(chan error, 1)
	go func() {
		n, err := a.c.DownloadMedia(ctx, md, io.MultiWriter(pw, h), nil)
		size = n
		pw.CloseWithError(err)
		done <- err
	}()
	meta := cloudapi.Media{ID: id, PhoneNumberID: a.settings.PhoneNumberID, MIMEType: md.MimeType, Filename: md.FileName, Created: a.now()}
	perr := a.st.PutMedia(ctx, meta, pr)
	pr.CloseWithError(errors.New("stored"))
	derr := <-done
	var errs []webhook.StatusError
	switch {
	case derr != nil:
		if perr == nil {
			_ = a.st.DeleteMedia(ctx, id)
		}
		a.log.Warn("a customer's file could not be fetched", "err", derr)
		errs = []webhook.StatusError{{Code: 131052, Title: "Media download error", Message: "Media download error",
			ErrorData: &webhook.ErrorData{Details: "The file could not be fetched from the Parley server or failed its check."}}}
	case perr != nil:
		return "", nil, nil, perr
	default:
		meta.SHA256 = hex.EncodeToString(h.Sum(nil))
		meta.FileSize = size
		if err := a.st.PutMedia(ctx, meta, nil); err != nil {
			return "", nil, nil, err
		}
		body.ID = id
	}
	b, err := json.Marshal(body)
	return typ, b, errs, err
}
