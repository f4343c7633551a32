package client

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/e2ee/padding"
	"github.com/parley-im/parley/proto/contentpb"
	"github.com/parley-im/parley/types"
)

// Kinds of history entries, as the client files them in clientstore.
const (
	// KindText is a text message (possibly a reply).
	KindText clientstore.Kind = 1
	// KindTimer records a change of the disappearing-message timer.
	KindTimer clientstore.Kind = 2
	// KindUnknown is a content this version does not understand, from a
	// newer client. Its bytes are kept as they came, so a later version can
	// show it; Message.Text is the sender's fallback text.
	KindUnknown clientstore.Kind = 3
	// KindGroupEvent is a change of a group ("Ana added Ben"), kept in the
	// group's conversation; Message.GroupChange says what changed and
	// Message.Text describes it with short account ids.
	KindGroupEvent clientstore.Kind = 5
	// KindBusiness is a message between a customer and a business of a kind
	// the WhatsApp Cloud API defines (buttons, lists, products, a cart, an
	// order's details and status, a location, ...): Message.Business holds
	// its type and JSON, Message.Text a plain rendering (business.go).
	KindBusiness clientstore.Kind = 6
)

// MaxContentSize bounds a serialised content, before padding.
const MaxContentSize = clientstore.MaxContentSize

// ErrBadContent: a decrypted plaintext is not a Content (bad padding, bad
// protobuf, a missing or malformed id).
var ErrBadContent = errors.New("client: malformed content")

// marshalContent serialises c and pads it for encryption.
func marshalContent(c *contentpb.Content) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxContentSize {
		return nil, fmt.Errorf("%w: content of %d bytes exceeds %d", ErrInvalid, len(b), MaxContentSize)
	}
	return b, nil
}

// pad is the plaintext handed to the session cipher.
func pad(b []byte) []byte { return padding.Pad(b) }

// parsePlaintext undoes pad and parses the content. Unknown fields stay in
// the message (proto3 keeps them), which is how an unknown kind survives.
func parsePlaintext(pt []byte) (*contentpb.Content, []byte, error) {
	raw, err := padding.Unpad(pt)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadContent, err)
	}
	c, err := parseContent(raw)
	return c, raw, err
}

// parseContent parses a serialised (unpadded) content.
func parseContent(raw []byte) (*contentpb.Content, error) {
	c := new(contentpb.Content)
	if err := proto.Unmarshal(raw, c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadContent, err)
	}
	if len(c.MessageId) != 0 && len(c.MessageId) != 16 {
		return nil, fmt.Errorf("%w: message id of %d bytes", ErrBadContent, len(c.MessageId))
	}
	return c, nil
}

// IsUnknown reports whether c carries a kind this version does not know:
// no body it understands. Such a content is stored and shown, not dropped.
func IsUnknown(c *contentpb.Content) bool { return c.GetBody() == nil }

// ref converts a wire MessageRef; ok is false when it is malformed.
func ref(r *contentpb.MessageRef) (clientstore.MessageRef, bool) {
	if r == nil || len(r.Author) != 16 || len(r.MessageId) != 16 {
		return clientstore.MessageRef{}, false
	}
	return clientstore.MessageRef{Sender: types.AccountID(r.Author), ID: types.MessageID(r.MessageId)}, true
}

// wireRef converts a ref to its wire form.
func wireRef(r clientstore.MessageRef) *contentpb.MessageRef {
	return &contentpb.MessageRef{Author: r.Sender[:], MessageId: r.ID[:]}
}

// Content constructors for Send. The message id and time are filled in by
// Send.

// TextContent is a text message.
func TextContent(body string) *contentpb.Content {
	return &contentpb.Content{Body: &contentpb.Content_Text{Text: &contentpb.Text{Body: body}}}
}

// ReplyContent is a text message quoting target.
func ReplyContent(body string, target clientstore.MessageRef, excerpt string) *contentpb.Content {
	return &contentpb.Content{Body: &contentpb.Content_Text{Text: &contentpb.Text{Body: body,
		Quote: &contentpb.Quote{Target: wireRef(target), Excerpt: excerpt}}}}
}

// ReactionContent reacts to target with emoji; an empty emoji takes the
// reaction back.
func ReactionContent(target clientstore.MessageRef, emoji string) *contentpb.Content {
	return &contentpb.Content{Body: &contentpb.Content_Reaction{Reaction: &contentpb.Reaction{
		Target: wireRef(target), Emoji: emoji, Remove: emoji == ""}}}
}

// EditContent replaces the text of one of our own messages.
func EditContent(target clientstore.MessageRef, body string) *contentpb.Content {
	return &contentpb.Content{Body: &contentpb.Content_Edit{Edit: &contentpb.Edit{Target: wireRef(target), Body: body}}}
}

// DeleteContent deletes one of our own messages for everyone.
func DeleteContent(target clientstore.MessageRef) *contentpb.Content {
	return &contentpb.Content{Body: &contentpb.Content_Delete{Delete: &contentpb.Delete{Target: wireRef(target)}}}
}

// TimerContent sets the conversation's disappearing timer (whole seconds;
// 0 off).
func TimerContent(seconds uint32) *contentpb.Content {
	return &contentpb.Content{Body: &contentpb.Content_Timer{Timer: &contentpb.TimerUpdate{Seconds: seconds}}}
}
