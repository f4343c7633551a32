package client

import (
	"context"
	"time"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/proto/contentpb"
	"github.com/parley-im/parley/types"
)

// Message is one history entry as a front end shows it.
type Message struct {
	Ref          clientstore.MessageRef
	Seq          int64 // order in the conversation
	Conversation clientstore.ConversationID
	Peer         types.AccountID // the other account of a direct conversation; zero in a group
	Group        types.GroupID   // the group of a group conversation; zero in a direct one
	Sender       types.Address
	Outgoing     bool
	Kind         clientstore.Kind // KindText, KindTimer, KindMedia, KindBusiness, KindUnknown
	// Text is the message's text; a media message's caption; for
	// KindUnknown the sender's fallback text (possibly empty).
	Text string
	// Media is the attachment of a KindMedia message (SaveMedia fetches it).
	Media *contentpb.Media
	// Quote is what a reply quotes, or nil.
	Quote *contentpb.Quote
	// Timer is the new timer of a KindTimer entry.
	Timer time.Duration
	// GroupChange is what a KindGroupEvent entry says.
	GroupChange *GroupChange
	// Business is a KindBusiness message's Cloud API type and JSON.
	Business *contentpb.BusinessMessage
	// Content is the parsed content (for KindUnknown without a body; its
	// unknown fields are kept). Raw is the content as it came.
	Content    *contentpb.Content
	Raw        []byte
	SentAt     time.Time
	ReceivedAt time.Time
	EditedAt   time.Time
	ExpiresAt  time.Time
	Deleted    bool
	Receipts   []clientstore.Receipt
	Reactions  []clientstore.Reaction
}

// Status is the best status of an outgoing message across its recipients
// (0 while it waits in the outbox).
func (m *Message) Status() clientstore.Status {
	var s clientstore.Status
	for _, r := range m.Receipts {
		s = max(s, r.Status)
	}
	return s
}

func toMessage(m clientstore.Message, conv clientstore.Conversation) Message {
	out := Message{
		Ref: m.Ref(), Seq: m.Seq, Conversation: m.Conversation, Peer: conv.Peer, Group: conv.Group, Sender: m.Sender,
		Outgoing: m.Direction == clientstore.Outgoing, Kind: m.Kind, Raw: m.Content,
		SentAt: m.SentAt, ReceivedAt: m.ReceivedAt, EditedAt: m.EditedAt, ExpiresAt: m.ExpiresAt,
		Deleted: m.Deleted, Receipts: m.Receipts, Reactions: m.Reactions,
	}
	if m.Deleted || len(m.Content) == 0 {
		return out
	}
	if m.Kind == KindGroupEvent {
		if gc, err := decodeGroupLine(m.Content); err == nil {
			out.GroupChange, out.Text = gc, gc.Describe(shortName)
		}
		return out
	}
	c, err := parseContent(m.Content)
	if err != nil {
		return out
	}
	out.Content = c
	switch b := c.Body.(type) {
	case *contentpb.Content_Text:
		out.Text, out.Quote = b.Text.Body, b.Text.Quote
	case *contentpb.Content_Timer:
		out.Timer = time.Duration(b.Timer.Seconds) * time.Second
	case *contentpb.Content_Media:
		out.Media, out.Text, out.Quote = b.Media, b.Media.GetCaption(), b.Media.GetQuote()
	case *contentpb.Content_Business:
		out.Business, out.Quote = b.Business, b.Business.GetQuote()
		out.Text = BusinessText(b.Business, c.FallbackText)
	case nil:
		out.Text = c.FallbackText
	}
	return out
}

// Messages returns a page of the conversation with peer: up to limit
// messages before seq before (0: the newest), oldest first.
func (c *Client) Messages(ctx context.Context, peer types.AccountID, before int64, limit int) ([]Message, error) {
	conv, err := c.st.DirectConversation(ctx, peer)
	if err != nil {
		return nil, err
	}
	return c.page(ctx, conv, before, limit)
}

// GroupMessages returns a page of group g's conversation, as Messages.
func (c *Client) GroupMessages(ctx context.Context, g types.GroupID, before int64, limit int) ([]Message, error) {
	conv, err := c.st.GroupConversation(ctx, g)
	if err != nil {
		return nil, err
	}
	return c.page(ctx, conv, before, limit)
}

// ConversationMessages returns a page of conversation id, direct or group.
func (c *Client) ConversationMessages(ctx context.Context, id clientstore.ConversationID, before int64, limit int) ([]Message, error) {
	conv, err := c.st.Conversation(ctx, id)
	if err != nil {
		return nil, err
	}
	return c.page(ctx, conv, before, limit)
}

func (c *Client) page(ctx context.Context, conv clientstore.Conversation, before int64, limit int) ([]Message, error) {
	page, err := c.st.Messages(ctx, conv.ID, before, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Message, len(page))
	for i, m := range page {
		out[i] = toMessage(m, conv)
	}
	return out, nil
}

// Message returns one message.
func (c *Client) Message(ctx context.Context, r clientstore.MessageRef) (Message, error) {
	m, err := c.st.Message(ctx, r)
	if err != nil {
		return Message{}, err
	}
	conv, err := c.st.Conversation(ctx, m.Conversation)
	if err != nil {
		return Message{}, err
	}
	return toMessage(m, conv), nil
}

// Conversations lists the chats, direct and group, most recently active
// first.
func (c *Client) Conversations(ctx context.Context) ([]clientstore.Conversation, error) {
	return c.st.Conversations(ctx)
}
