package client

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/proto/contentpb"
	"github.com/parley-im/parley/types"
)

// Chat is one line of a chat list: the conversation, what is known about
// the peer or the group, and the newest message.
type Chat struct {
	clientstore.Conversation
	// Contact is the peer's contact (Account set, the rest empty if there
	// is none); empty for a group.
	Contact clientstore.Contact
	// Group is the group of a group chat (nil for a direct one): its name,
	// members and this account's role.
	Group *GroupInfo
	// Last is the newest message, nil if there is none.
	Last *Message
}

// Chats lists the chats, most recently active first, each with its
// contact and newest message: what a chat list shows, in a fixed number of
// store queries however many chats there are.
func (c *Client) Chats(ctx context.Context) ([]Chat, error) {
	convs, err := c.st.Conversations(ctx)
	if err != nil {
		return nil, err
	}
	cts, err := c.st.Contacts(ctx)
	if err != nil {
		return nil, err
	}
	byAccount := make(map[types.AccountID]clientstore.Contact, len(cts))
	for _, ct := range cts {
		byAccount[ct.Account] = ct
	}
	groups, err := c.Groups(ctx)
	if err != nil {
		return nil, err
	}
	byGroup := make(map[types.GroupID]*GroupInfo, len(groups))
	for i := range groups {
		byGroup[groups[i].ID] = &groups[i]
	}
	out := make([]Chat, 0, len(convs))
	for _, cv := range convs {
		ch := Chat{Conversation: cv}
		if !cv.Group.IsZero() {
			if ch.Group = byGroup[cv.Group]; ch.Group == nil {
				continue // not verified yet
			}
		} else {
			ch.Contact = byAccount[cv.Peer]
			ch.Contact.Account = cv.Peer
		}
		if cv.Last != nil {
			m := toMessage(*cv.Last, cv)
			ch.Last = &m
		}
		out = append(out, ch)
	}
	return out, nil
}

// ErrNotOwnMessage: only the author of a message can edit it or delete it
// for everyone.
var ErrNotOwnMessage = errors.New("client: not one of this account's messages")

// maxEmoji bounds a reaction (one emoji, possibly with modifiers).
const maxEmoji = 64

// excerptRunes is how much of a quoted message a reply carries.
const excerptRunes = 100

// target loads the message a reaction, reply, edit or delete names; one
// deleted for everyone takes none of them.
func (c *Client) target(ctx context.Context, r clientstore.MessageRef) (Message, error) {
	m, err := c.Message(ctx, r)
	if err != nil {
		return Message{}, err
	}
	if m.Deleted {
		return Message{}, fmt.Errorf("%w: the message was deleted", ErrInvalid)
	}
	return m, nil
}

// React reacts to the message target with emoji ("" takes this account's
// reaction back) in the conversation it belongs to, and returns the
// reaction's message id. A message not in the history is
// clientstore.ErrNotFound.
func (c *Client) React(ctx context.Context, target clientstore.MessageRef, emoji string) (types.MessageID, error) {
	if len(emoji) > maxEmoji || !utf8.ValidString(emoji) {
		return types.MessageID{}, fmt.Errorf("%w: reaction of more than %d bytes", ErrInvalid, maxEmoji)
	}
	m, err := c.target(ctx, target)
	if err != nil {
		return types.MessageID{}, err
	}
	return c.sendTo(ctx, m, ReactionContent(target, emoji))
}

// Reply sends text quoting the message target (with an excerpt of it, for
// receivers that do not have it).
func (c *Client) Reply(ctx context.Context, target clientstore.MessageRef, text string) (types.MessageID, error) {
	m, err := c.target(ctx, target)
	if err != nil {
		return types.MessageID{}, err
	}
	return c.sendTo(ctx, m, ReplyContent(text, target, excerpt(m.Text)))
}

// Edit replaces the text of target, a text message this account wrote.
func (c *Client) Edit(ctx context.Context, target clientstore.MessageRef, text string) (types.MessageID, error) {
	m, err := c.own(ctx, target)
	if err != nil {
		return types.MessageID{}, err
	}
	if m.Kind != KindText {
		return types.MessageID{}, fmt.Errorf("%w: only text messages can be edited", ErrInvalid)
	}
	if len(text) > MaxTextSize {
		return types.MessageID{}, fmt.Errorf("%w: text of %d bytes exceeds %d", ErrInvalid, len(text), MaxTextSize)
	}
	return c.sendTo(ctx, m, EditContent(target, text))
}

// DeleteForEveryone deletes target, a message this account wrote, on
// every device of the conversation.
func (c *Client) DeleteForEveryone(ctx context.Context, target clientstore.MessageRef) (types.MessageID, error) {
	m, err := c.own(ctx, target)
	if err != nil {
		return types.MessageID{}, err
	}
	return c.sendTo(ctx, m, DeleteContent(target))
}

// sendTo sends content to the conversation m is in: its group, or its peer.
func (c *Client) sendTo(ctx context.Context, m Message, content *contentpb.Content) (types.MessageID, error) {
	if !m.Group.IsZero() {
		return c.SendGroup(ctx, m.Group, content)
	}
	return c.Send(ctx, m.Peer, content)
}

func (c *Client) own(ctx context.Context, r clientstore.MessageRef) (Message, error) {
	a, err := c.account()
	if err != nil {
		return Message{}, err
	}
	if r.Sender != a.ID {
		return Message{}, ErrNotOwnMessage
	}
	return c.target(ctx, r)
}

// excerpt is the start of text, at most excerptRunes runes.
func excerpt(text string) string {
	n := 0
	for i := range text {
		if n == excerptRunes {
			return text[:i] + "…"
		}
		n++
	}
	return text
}
