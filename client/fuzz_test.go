package client

import (
	"testing"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/e2ee/padding"
	"github.com/parley-im/parley/proto/contentpb"
)

// FuzzParsePlaintext: whatever a peer encrypts, parsing it gives a content
// or ErrBadContent, never a panic, and toMessage renders any stored bytes.
func FuzzParsePlaintext(f *testing.F) {
	for _, c := range []*contentpb.Content{TextContent("hi"), TimerContent(60), {FallbackText: "x"},
		BusinessContent("interactive", []byte(`{"type":"button","body":{"text":"?"}}`))} {
		b, _ := marshalContent(c)
		f.Add(pad(b))
	}
	f.Add([]byte{})
	f.Add([]byte{0x80})
	f.Add(padding.Pad([]byte{0x0a, 0x01, 0x00}))
	f.Fuzz(func(t *testing.T, pt []byte) {
		c, raw, err := parsePlaintext(pt)
		if err != nil {
			return
		}
		if c == nil {
			t.Fatal("nil content without an error")
		}
		_ = IsUnknown(c)
		_ = toMessage(messageOf(raw), clientstore.Conversation{Peer: [16]byte{1}})
	})
}
