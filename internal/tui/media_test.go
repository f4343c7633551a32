package tui

import (
	"testing"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/proto/contentpb"
)

func TestMediaBody(t *testing.T) {
	m := &model{st: plainStyles()}
	for _, tc := range []struct {
		msg  client.Message
		want string
	}{
		{client.Message{Kind: client.KindMedia, Text: "look", Media: &contentpb.Media{Kind: contentpb.Media_KIND_IMAGE, FileName: "cat.jpg", Size: 1_234_567}},
			"[image cat.jpg, 1.2 MB] look"},
		{client.Message{Kind: client.KindMedia, Media: &contentpb.Media{Kind: contentpb.Media_KIND_AUDIO, VoiceNote: true, Size: 999}},
			"[voice, 999 B]"},
		{client.Message{Kind: client.KindMedia, Media: &contentpb.Media{Kind: contentpb.Media_KIND_DOCUMENT, FileName: "a\x1b[31m.pdf", Size: 2048}},
			"[document a[31m.pdf, 2.0 kB]"},
	} {
		if got := m.bodyText(tc.msg, false); got != tc.want {
			t.Errorf("bodyText = %q, want %q", got, tc.want)
		}
	}
}
