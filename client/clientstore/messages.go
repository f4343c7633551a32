package clientstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parley-im/parley/types"
)

// ConversationID is the local number of a conversation.
type ConversationID int64

// Conversation is one chat.
type Conversation struct {
	ID           ConversationID
	Peer         types.AccountID // the other account of a direct chat; zero for a group
	Group        types.GroupID   // the group of a group chat; zero for a direct one
	Timer        time.Duration   // disappearing-message timer; 0 off
	LastActivity time.Time       // the newest message's sent or received time
	Unread       int             // incoming messages after the read mark, not deleted
	// Last is the newest message (by arrival), with its receipts and
	// reactions, for a chat list's preview; nil if there is none. Only
	// Conversations fills it.
	Last *Message
}

// Direction says who wrote a message.
type Direction uint8

// Directions.
const (
	Incoming Direction = 1
	Outgoing Direction = 2
)

// Kind is the client's content kind (text, image, ...). The store does not
// interpret it; it is sealed with the content.
type Kind uint16

// Status is how far an outgoing message got with one recipient. It only
// moves forward.
type Status uint8

// Statuses.
const (
	StatusSent      Status = 1 // the server accepted it
	StatusDelivered Status = 2 // a device of the recipient decrypted it
	StatusRead      Status = 3 // the recipient read it
)

// MessageRef names a message: its sender's account and the id the sender
// chose. A resend, or the copy the sender's other devices get, has the same
// ref, and is stored once.
type MessageRef struct {
	Sender types.AccountID
	ID     types.MessageID
}

// Message is one stored message.
type Message struct {
	Seq          int64 // set by AddMessage; orders a conversation by arrival
	Conversation ConversationID
	ID           types.MessageID
	Sender       types.Address // the account and device that wrote it
	Direction    Direction
	Kind         Kind
	Content      []byte // the client's serialised content; nil once deleted
	SentAt       time.Time
	ReceivedAt   time.Time
	EditedAt     time.Time // last edit, or the deletion for everyone
	ExpiresAt    time.Time // when a disappearing message goes; zero never
	Deleted      bool      // deleted for everyone
	Receipts     []Receipt
	Reactions    []Reaction
}

// Ref returns the message's ref.
func (m *Message) Ref() MessageRef { return MessageRef{Sender: m.Sender.Account, ID: m.ID} }

// Receipt is the status of an outgoing message with one recipient.
type Receipt struct {
	Recipient types.AccountID
	Status    Status
	At        time.Time
}

// Reaction is one account's reaction to a message.
type Reaction struct {
	Reactor types.AccountID
	Emoji   string
	At      time.Time
}

// Limits on what a message row holds.
const (
	MaxContentSize  = 1 << 20 // one message's serialised content
	maxTimerSeconds = 1 << 31
)

func (s *Store) conversationHash(peer types.AccountID) []byte {
	return s.keys.hash(labelConversation, []byte("direct"), peer[:])
}

func (s *Store) groupConversationHash(g types.GroupID) []byte {
	return s.keys.hash(labelConversation, []byte("group"), g[:])
}

// peerHash is the peer_hash of c: its direct peer's or its group's.
func (s *Store) peerHash(c *Conversation) []byte {
	if !c.Group.IsZero() {
		return s.groupConversationHash(c.Group)
	}
	return s.conversationHash(c.Peer)
}

// DirectConversation returns the conversation with peer, creating it.
func (s *Store) DirectConversation(ctx context.Context, peer types.AccountID) (Conversation, error) {
	if peer.IsZero() {
		return Conversation{}, fmt.Errorf("%w: conversation with the zero account", ErrInvalid)
	}
	return s.conversationFor(ctx, Conversation{Peer: peer})
}

// GroupConversation returns the conversation of group g, creating it.
func (s *Store) GroupConversation(ctx context.Context, g types.GroupID) (Conversation, error) {
	if g.IsZero() {
		return Conversation{}, fmt.Errorf("%w: conversation of the zero group", ErrInvalid)
	}
	return s.conversationFor(ctx, Conversation{Group: g})
}

// conversationFor returns the conversation with want's peer or group,
// creating it.
func (s *Store) conversationFor(ctx context.Context, want Conversation) (Conversation, error) {
	ph := s.peerHash(&want)
	var c Conversation
	err := s.write(ctx, func(q querier) error {
		sealed := s.keys.seal(encodeConversation(&want), labelConversation, ph)
		if _, err := q.ExecContext(ctx, `INSERT INTO conversations (peer_hash, sealed) VALUES (?, ?)
			ON CONFLICT (peer_hash) DO NOTHING`, ph, sealed); err != nil {
			return err
		}
		cs, err := s.conversations(ctx, q, `WHERE c.peer_hash = ?`, ph)
		if err == nil && len(cs) == 1 {
			c = cs[0]
		}
		return err
	})
	return c, err
}

// Conversation returns conversation id, or ErrNotFound.
func (s *Store) Conversation(ctx context.Context, id ConversationID) (Conversation, error) {
	cs, err := s.conversations(ctx, s.read(ctx), `WHERE c.id = ?`, id)
	if err != nil {
		return Conversation{}, err
	}
	if len(cs) == 0 {
		return Conversation{}, fmt.Errorf("%w: conversation %d", ErrNotFound, id)
	}
	return cs[0], nil
}

// Conversations returns every conversation, most recently active first,
// each with its newest message (Last): a chat list in three queries
// however many chats there are.
func (s *Store) Conversations(ctx context.Context) ([]Conversation, error) {
	var out []Conversation
	err := s.readTx(ctx, func(q querier) error {
		var err error
		if out, err = s.conversations(ctx, q, `ORDER BY c.last_activity DESC, c.id DESC`); err != nil || len(out) == 0 {
			return err
		}
		const newest = `(SELECT MAX(seq) FROM messages GROUP BY conversation_id)`
		rows, err := q.QueryContext(ctx, messageColumns+`WHERE seq IN `+newest)
		if err != nil {
			return fmt.Errorf("clientstore: read last messages: %w", err)
		}
		last, err := s.scanMessages(rows)
		if err != nil || len(last) == 0 {
			return err
		}
		if err := s.attach(ctx, q, last, `WHERE x.message_seq IN `+newest); err != nil {
			return err
		}
		byConv := make(map[ConversationID]*Message, len(last))
		for i := range last {
			byConv[last[i].Conversation] = &last[i]
		}
		for i := range out {
			out[i].Last = byConv[out[i].ID]
		}
		return nil
	})
	return out, err
}

func (s *Store) conversations(ctx context.Context, q querier, tail string, args ...any) ([]Conversation, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.id, c.peer_hash, c.last_activity, c.sealed,
		(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.direction = 1
			AND m.seq > c.last_read_seq AND NOT m.deleted)
		FROM conversations c `+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("clientstore: read conversations: %w", err)
	}
	defer rows.Close()
	var out []Conversation
	for rows.Next() {
		var c Conversation
		var ph, sealed []byte
		var last int64
		if err := rows.Scan(&c.ID, &ph, &last, &sealed, &c.Unread); err != nil {
			return nil, err
		}
		pt, err := s.keys.open(sealed, labelConversation, ph)
		if err != nil {
			return nil, err
		}
		if err := decodeConversation(pt, &c); err != nil {
			return nil, err
		}
		c.LastActivity = fromMS(last)
		out = append(out, c)
	}
	return out, rows.Err()
}

// SetTimer sets the disappearing-message timer of a conversation (0: off;
// whole seconds). The client applies it to new messages' ExpiresAt.
func (s *Store) SetTimer(ctx context.Context, id ConversationID, d time.Duration) error {
	if d < 0 || d/time.Second > maxTimerSeconds {
		return fmt.Errorf("%w: timer %s", ErrInvalid, d)
	}
	return s.write(ctx, func(q querier) error {
		cs, err := s.conversations(ctx, q, `WHERE c.id = ?`, id)
		if err != nil {
			return err
		}
		if len(cs) == 0 {
			return fmt.Errorf("%w: conversation %d", ErrNotFound, id)
		}
		c := cs[0]
		c.Timer = d.Truncate(time.Second)
		ph := s.peerHash(&c)
		_, err = q.ExecContext(ctx, `UPDATE conversations SET sealed = ? WHERE id = ?`,
			s.keys.seal(encodeConversation(&c), labelConversation, ph), id)
		return err
	})
}

// MarkRead moves the read mark of a conversation up to seq: incoming
// messages up to there no longer count as unread. It never moves back.
func (s *Store) MarkRead(ctx context.Context, id ConversationID, seq int64) error {
	return s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE conversations SET last_read_seq = MAX(last_read_seq, ?) WHERE id = ?`, seq, id)
		if err != nil {
			return err
		}
		return one(res, fmt.Sprintf("conversation %d", id))
	})
}

func (s *Store) refHash(r MessageRef) []byte { return s.keys.hash(labelMessage, r.Sender[:], r.ID[:]) }

func messageAD(refHash []byte, conv ConversationID, dir Direction) [][]byte {
	return [][]byte{labelMessage, refHash, u64(int64(conv)), {byte(dir)}}
}

// AddMessage stores m in its conversation (m.Seq is ignored) and returns the
// seq it got. A message with the same ref is already there: ErrDuplicate,
// and nothing changes, so a redelivered envelope is shown once. The
// conversation's LastActivity moves to the message's time.
func (s *Store) AddMessage(ctx context.Context, m Message) (int64, error) {
	switch {
	case m.Direction != Incoming && m.Direction != Outgoing:
		return 0, fmt.Errorf("%w: message direction %d", ErrInvalid, m.Direction)
	case m.Sender.Account.IsZero() || m.ID == (types.MessageID{}):
		return 0, fmt.Errorf("%w: message without sender or id", ErrInvalid)
	case len(m.Content) > MaxContentSize:
		return 0, fmt.Errorf("%w: message content of %d bytes", ErrInvalid, len(m.Content))
	}
	rh := s.refHash(m.Ref())
	sealed := s.keys.seal(encodeMessage(&m), messageAD(rh, m.Conversation, m.Direction)...)
	activity := max(ms(m.SentAt), ms(m.ReceivedAt))
	var seq int64
	err := s.write(ctx, func(q querier) error {
		// Insert first: a duplicate must change nothing, even when the
		// caller's transaction goes on after ErrDuplicate.
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM conversations WHERE id = ?`, m.Conversation).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: conversation %d", ErrNotFound, m.Conversation)
		}
		err := q.QueryRowContext(ctx, `INSERT INTO messages (conversation_id, ref_hash, direction, sent_at, received_at, edited_at, expires_at, deleted, sealed)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
			m.Conversation, rh, m.Direction, ms(m.SentAt), ms(m.ReceivedAt), ms(m.EditedAt), ms(m.ExpiresAt), m.Deleted, sealed).Scan(&seq)
		if isUnique(err) {
			return fmt.Errorf("%w: message %s from %s", ErrDuplicate, m.ID, m.Sender.Account)
		}
		if err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `UPDATE conversations SET last_activity = MAX(last_activity, ?) WHERE id = ?`, activity, m.Conversation)
		return err
	})
	return seq, err
}

const messageColumns = `SELECT seq, conversation_id, ref_hash, direction, sent_at, received_at, edited_at, expires_at, deleted, sealed FROM messages `

// scanMessages opens the rows of a messageColumns query.
func (s *Store) scanMessages(rows *sql.Rows) ([]Message, error) {
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var rh, sealed []byte
		var sent, received, edited, expires int64
		if err := rows.Scan(&m.Seq, &m.Conversation, &rh, &m.Direction, &sent, &received, &edited, &expires, &m.Deleted, &sealed); err != nil {
			return nil, err
		}
		pt, err := s.keys.open(sealed, messageAD(rh, m.Conversation, m.Direction)...)
		if err != nil {
			return nil, err
		}
		if err := decodeMessage(pt, &m); err != nil {
			return nil, err
		}
		m.SentAt, m.ReceivedAt, m.EditedAt, m.ExpiresAt = fromMS(sent), fromMS(received), fromMS(edited), fromMS(expires)
		out = append(out, m)
	}
	return out, rows.Err()
}

// loadMessage reads one message without receipts and reactions.
func (s *Store) loadMessage(ctx context.Context, q querier, r MessageRef) (Message, error) {
	rows, err := q.QueryContext(ctx, messageColumns+`WHERE ref_hash = ?`, s.refHash(r))
	if err != nil {
		return Message{}, fmt.Errorf("clientstore: read message: %w", err)
	}
	ms, err := s.scanMessages(rows)
	if err != nil {
		return Message{}, err
	}
	if len(ms) == 0 || ms[0].Ref() != r {
		return Message{}, fmt.Errorf("%w: message %s from %s", ErrNotFound, r.ID, r.Sender)
	}
	return ms[0], nil
}

// Message returns the message r names, with its receipts and reactions.
func (s *Store) Message(ctx context.Context, r MessageRef) (Message, error) {
	var m Message
	err := s.readTx(ctx, func(q querier) error {
		var err error
		if m, err = s.loadMessage(ctx, q, r); err != nil {
			return err
		}
		page := []Message{m}
		err = s.attach(ctx, q, page, `WHERE x.message_seq = ?`, m.Seq)
		m = page[0]
		return err
	})
	return m, err
}

// Messages returns up to limit messages of a conversation that came before
// seq before (0: the newest), oldest first: a page of the history. Pass the
// first returned Seq as before to get the page above it.
func (s *Store) Messages(ctx context.Context, conv ConversationID, before int64, limit int) ([]Message, error) {
	if limit < 1 {
		return nil, fmt.Errorf("%w: limit %d", ErrInvalid, limit)
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	var out []Message
	err := s.readTx(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, messageColumns+`WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`, conv, before, limit)
		if err != nil {
			return fmt.Errorf("clientstore: read messages: %w", err)
		}
		if out, err = s.scanMessages(rows); err != nil || len(out) == 0 {
			return err
		}
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return s.attach(ctx, q, out, `JOIN messages m ON m.seq = x.message_seq WHERE m.conversation_id = ? AND x.message_seq BETWEEN ? AND ?`,
			conv, out[0].Seq, out[len(out)-1].Seq)
	})
	return out, err
}

// attach loads the receipts and reactions of page (ordered by seq) with one
// query each; where selects them (its table alias is x).
func (s *Store) attach(ctx context.Context, q querier, page []Message, where string, args ...any) error {
	bySeq := make(map[int64]*Message, len(page))
	for i := range page {
		bySeq[page[i].Seq] = &page[i]
	}
	rows, err := q.QueryContext(ctx, `SELECT x.message_seq, x.recipient_hash, x.status, x.updated_at, x.sealed FROM receipts x `+where+` ORDER BY x.message_seq, x.updated_at`, args...)
	if err != nil {
		return fmt.Errorf("clientstore: read receipts: %w", err)
	}
	err = eachRow(rows, func() error {
		var seq, at int64
		var h, sealed []byte
		var r Receipt
		if err := rows.Scan(&seq, &h, &r.Status, &at, &sealed); err != nil {
			return err
		}
		pt, err := s.keys.open(sealed, labelReceipt, u64(seq), h)
		if err != nil {
			return err
		}
		if r.Recipient, _, err = decodeAccountAndText(pt, "receipt"); err != nil {
			return err
		}
		r.At = fromMS(at)
		if m := bySeq[seq]; m != nil {
			m.Receipts = append(m.Receipts, r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	rows, err = q.QueryContext(ctx, `SELECT x.message_seq, x.reactor_hash, x.reacted_at, x.sealed FROM reactions x `+where+` ORDER BY x.message_seq, x.reacted_at`, args...)
	if err != nil {
		return fmt.Errorf("clientstore: read reactions: %w", err)
	}
	return eachRow(rows, func() error {
		var seq, at int64
		var h, sealed []byte
		var r Reaction
		if err := rows.Scan(&seq, &h, &at, &sealed); err != nil {
			return err
		}
		pt, err := s.keys.open(sealed, labelReaction, u64(seq), h)
		if err != nil {
			return err
		}
		if r.Reactor, r.Emoji, err = decodeAccountAndText(pt, "reaction"); err != nil {
			return err
		}
		if r.Emoji == "" {
			return nil // a removal (see SetReaction)
		}
		r.At = fromMS(at)
		if m := bySeq[seq]; m != nil {
			m.Reactions = append(m.Reactions, r)
		}
		return nil
	})
}

func eachRow(rows *sql.Rows, fn func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(); err != nil {
			return err
		}
	}
	return rows.Err()
}

// reseal writes m's sealed fields and edit time back.
func (s *Store) reseal(ctx context.Context, q querier, m *Message) error {
	rh := s.refHash(m.Ref())
	sealed := s.keys.seal(encodeMessage(m), messageAD(rh, m.Conversation, m.Direction)...)
	_, err := q.ExecContext(ctx, `UPDATE messages SET sealed = ?, edited_at = ?, deleted = ? WHERE seq = ?`,
		sealed, ms(m.EditedAt), m.Deleted, m.Seq)
	return err
}

// EditMessage replaces the content of the message r names, as of at. Edits
// can arrive out of order: one not newer than the last edit changes
// nothing, and neither does an edit of a message deleted for everyone.
func (s *Store) EditMessage(ctx context.Context, r MessageRef, content []byte, at time.Time) error {
	if len(content) > MaxContentSize {
		return fmt.Errorf("%w: message content of %d bytes", ErrInvalid, len(content))
	}
	return s.write(ctx, func(q querier) error {
		m, err := s.loadMessage(ctx, q, r)
		if err != nil {
			return err
		}
		if m.Deleted || (!m.EditedAt.IsZero() && !at.After(m.EditedAt)) {
			return nil
		}
		m.Content, m.EditedAt = content, at
		return s.reseal(ctx, q, &m)
	})
}

// DeleteForEveryone erases the content and reactions of the message r
// names and marks it deleted (the row stays, so the chat can say "this
// message was deleted"); EditedAt becomes at.
func (s *Store) DeleteForEveryone(ctx context.Context, r MessageRef, at time.Time) error {
	return s.write(ctx, func(q querier) error {
		m, err := s.loadMessage(ctx, q, r)
		if err != nil || m.Deleted {
			return err
		}
		m.Content, m.Deleted, m.EditedAt = nil, true, at
		if err := s.reseal(ctx, q, &m); err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `DELETE FROM reactions WHERE message_seq = ?`, m.Seq)
		return err
	})
}

// DeleteMessage removes the message r names from this device ("delete for
// me"), with its receipts and reactions.
func (s *Store) DeleteMessage(ctx context.Context, r MessageRef) error {
	return s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM messages WHERE ref_hash = ?`, s.refHash(r))
		if err != nil {
			return err
		}
		return one(res, fmt.Sprintf("message %s", r.ID))
	})
}

// DeleteExpired removes the disappearing messages whose time has come and
// returns how many.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM messages WHERE expires_at > 0 AND expires_at <= ?`, ms(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// SetReceipt records that the message r names reached status with
// recipient. A status not beyond the one on record changes nothing.
func (s *Store) SetReceipt(ctx context.Context, r MessageRef, recipient types.AccountID, status Status, at time.Time) error {
	if status < StatusSent || status > StatusRead {
		return fmt.Errorf("%w: status %d", ErrInvalid, status)
	}
	return s.write(ctx, func(q querier) error {
		m, err := s.loadMessage(ctx, q, r)
		if err != nil {
			return err
		}
		h := s.keys.hash(labelReceipt, recipient[:])
		sealed := s.keys.seal(encodeAccountAndText(recipient, ""), labelReceipt, u64(m.Seq), h)
		_, err = q.ExecContext(ctx, `INSERT INTO receipts (message_seq, recipient_hash, status, updated_at, sealed) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (message_seq, recipient_hash) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at
			WHERE excluded.status > receipts.status`, m.Seq, h, status, ms(at), sealed)
		return err
	})
}

// SetReaction records reactor's reaction to the message r names; an empty
// emoji removes it. Reactions can arrive out of order: one older than the
// reactor's reaction on record changes nothing. A message deleted for
// everyone takes no reactions.
func (s *Store) SetReaction(ctx context.Context, r MessageRef, reactor types.AccountID, emoji string, at time.Time) error {
	if len(emoji) > maxShortText {
		return fmt.Errorf("%w: reaction of %d bytes", ErrInvalid, len(emoji))
	}
	return s.write(ctx, func(q querier) error {
		m, err := s.loadMessage(ctx, q, r)
		if err != nil || m.Deleted {
			return err
		}
		h := s.keys.hash(labelReaction, reactor[:])
		var prev int64
		err = q.QueryRowContext(ctx, `SELECT reacted_at FROM reactions WHERE message_seq = ? AND reactor_hash = ?`, m.Seq, h).Scan(&prev)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case ms(at) < prev:
			return nil
		}
		// A removal is kept as a row with no emoji, so that the reaction it
		// takes back, should it arrive after it, is recognised as older.
		sealed := s.keys.seal(encodeAccountAndText(reactor, emoji), labelReaction, u64(m.Seq), h)
		_, err = q.ExecContext(ctx, `INSERT INTO reactions (message_seq, reactor_hash, reacted_at, sealed) VALUES (?, ?, ?, ?)
			ON CONFLICT (message_seq, reactor_hash) DO UPDATE SET reacted_at = excluded.reacted_at, sealed = excluded.sealed`,
			m.Seq, h, ms(at), sealed)
		return err
	})
}
