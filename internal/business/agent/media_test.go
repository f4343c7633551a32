package agent_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"testing"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/internal/business/agent"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/contentpb"
)

// TestMedia: files cross end-to-end encrypted both ways. The business
// sends an image it uploaded through the API and a document by link; the
// customer gets Parley media she can fetch and check. The customer's photo
// reaches the webhook as an image whose id the API serves.
func TestMedia(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	s := newShop(t, srv, shopOptions{})
	ana := newCustomer(t, srv, s, "Ana")
	phone := s.agent.Settings().PhoneNumberID
	hi := ana.say("Can you send me the cover?")
	s.waitHooks("the question", func(evs []hookEvent) bool { return messageIndex(evs, agent.WAMID(hi)) >= 0 })

	// The business uploads a cover (Cloud API multipart) and sends it.
	img := image.NewRGBA(image.Rect(0, 0, 300, 200))
	for x := range 300 {
		img.Set(x, x%200, color.RGBA{200, 30, 30, 255})
	}
	var cover bytes.Buffer
	if err := png.Encode(&cover, img); err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("messaging_product", "whatsapp")
	fw, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Disposition": {`form-data; name="file"; filename="cover.png"`}, "Content-Type": {"image/png"}})
	fw.Write(cover.Bytes())
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, s.api.URL+"/v23.0/"+phone+"/media", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+s.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var up map[string]any
	_ = json.NewDecoder(res.Body).Decode(&up)
	res.Body.Close()
	if res.StatusCode != 200 || str(up["id"]) == "" {
		t.Fatalf("upload: %d %v", res.StatusCode, up)
	}
	if code, out := s.post("/v23.0/"+phone+"/messages", map[string]any{"messaging_product": "whatsapp", "to": ana.waID(), "type": "image",
		"image": map[string]string{"id": str(up["id"]), "caption": "Dom Casmurro, 1899"}}); code != 200 {
		t.Fatalf("send image: %d %v", code, out)
	}
	// A document by link, fetched by the agent.
	manual := make([]byte, 200<<10)
	rand.Read(manual)
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		w.Write(manual)
	}))
	defer files.Close()
	if code, out := s.post("/v23.0/"+phone+"/messages", map[string]any{"messaging_product": "whatsapp", "to": ana.waID(), "type": "document",
		"document": map[string]string{"link": files.URL + "/catalogo.pdf", "caption": "Catálogo"}}); code != 200 {
		t.Fatalf("send document: %d %v", code, out)
	}
	if code, out := s.post("/v23.0/"+phone+"/messages", map[string]any{"messaging_product": "whatsapp", "to": ana.waID(), "type": "image",
		"image": map[string]string{"id": "1234567890123456"}}); code != 400 || dig(out, "error", "code") != float64(131009) {
		t.Errorf("an unknown media id: %d %v", code, out)
	}

	rs := ana.replies("Dom Casmurro, 1899", "Catálogo")
	want := map[contentpb.Media_Kind][]byte{contentpb.Media_KIND_IMAGE: cover.Bytes(), contentpb.Media_KIND_DOCUMENT: manual}
	for _, m := range rs {
		if m.Kind != client.KindMedia || m.Media == nil {
			t.Fatalf("not media: %+v", m)
		}
		var got bytes.Buffer
		if _, err := ana.c.DownloadMedia(ctxT(t), m.Media, &got, nil); err != nil {
			t.Fatalf("download %v: %v", m.Media.Kind, err)
		}
		if !bytes.Equal(got.Bytes(), want[m.Media.Kind]) {
			t.Errorf("%v: %d bytes differ from the %d sent", m.Media.Kind, got.Len(), len(want[m.Media.Kind]))
		}
		delete(want, m.Media.Kind)
		if m.Media.Kind == contentpb.Media_KIND_IMAGE && (len(m.Media.Thumbnail) == 0 || m.Media.Width != 300 || m.Media.MimeType != "image/png") {
			t.Errorf("image %+v", m.Media)
		}
		if m.Media.Kind == contentpb.Media_KIND_DOCUMENT && (m.Media.FileName != "catalogo.pdf" || m.Media.MimeType != "application/pdf") {
			t.Errorf("document %+v", m.Media)
		}
	}
	if len(want) != 0 {
		t.Errorf("missing %v", want)
	}

	// Ana sends a photo: the webhook names a media id the API serves.
	photo := filepath.Join(t.TempDir(), "receipt.png")
	if err := os.WriteFile(photo, cover.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := ana.c.SendFile(ctxT(t), ana.shop, photo, client.MediaOptions{Caption: "my receipt"})
	if err != nil {
		t.Fatal(err)
	}
	wamid := agent.WAMID(ana.ref(id))
	evs := s.waitHooks("the photo", func(evs []hookEvent) bool { return messageIndex(evs, wamid) >= 0 })
	m := evs[messageIndex(evs, wamid)].message
	mediaID := str(dig(m, "image", "id"))
	if m["type"] != "image" || dig(m, "image", "caption") != "my receipt" || dig(m, "image", "mime_type") != "image/png" || mediaID == "" {
		t.Fatalf("photo event %v", m)
	}
	req, _ = http.NewRequest(http.MethodGet, s.api.URL+"/v23.0/"+mediaID, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	_ = json.NewDecoder(res.Body).Decode(&meta)
	res.Body.Close()
	if res.StatusCode != 200 || meta["file_size"] != fmt.Sprint(cover.Len()) {
		t.Fatalf("media %s: %d %v", mediaID, res.StatusCode, meta)
	}
	res, err = http.Get(str(meta["url"]))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Equal(got, cover.Bytes()) {
		t.Errorf("the photo the API serves has %d bytes, not the %d Ana sent", len(got), cover.Len())
	}
}
