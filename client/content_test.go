package client_test

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/proto/contentpb"
)

// pollFieldNumber is a body kind from a "newer" client: a poll, field 20
// of Content, whose field 1 is the question.
const pollFieldNumber = 20

// newerClientContent is what a newer client sends: a body this version
// does not know, and the fallback text it should show instead.
func newerClientContent(t testing.TB, fallback string) *contentpb.Content {
	var poll []byte
	poll = protowire.AppendTag(poll, 1, protowire.BytesType)
	poll = protowire.AppendString(poll, "Which day?")
	var raw []byte
	raw = protowire.AppendTag(raw, pollFieldNumber, protowire.BytesType)
	raw = protowire.AppendBytes(raw, poll)
	c := &contentpb.Content{FallbackText: fallback}
	c.ProtoReflect().SetUnknown(raw)
	return c
}

// pollField reads the poll's question back from a serialised content, as
// the newer client would.
func pollField(t testing.TB, raw []byte) string {
	t.Helper()
	for len(raw) > 0 {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		raw = raw[n:]
		if num == pollFieldNumber && typ == protowire.BytesType {
			poll, _ := protowire.ConsumeBytes(raw)
			_, _, n := protowire.ConsumeTag(poll)
			q, _ := protowire.ConsumeString(poll[n:])
			return q
		}
		n = protowire.ConsumeFieldValue(num, typ, raw)
		raw = raw[n:]
	}
	return ""
}

func TestUnknownKindSurvivesParsing(t *testing.T) {
	b, err := proto.Marshal(newerClientContent(t, "fallback"))
	if err != nil {
		t.Fatal(err)
	}
	var c contentpb.Content
	if err := proto.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if !client.IsUnknown(&c) || c.FallbackText != "fallback" {
		t.Fatalf("parsed: %v", &c)
	}
	again, err := proto.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	if got := pollField(t, again); got != "Which day?" {
		t.Errorf("unknown field after a round trip: %q", got)
	}
	// A known kind is not unknown.
	if client.IsUnknown(client.TextContent("x")) {
		t.Error("a text is reported unknown")
	}
}
