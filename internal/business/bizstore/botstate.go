package bizstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parley-im/parley/internal/business/bot"
)

var _ bot.StateStore = (*BotStates)(nil)

// BotStates keeps the bot's conversations (bot.StateStore) in the business
// database (migration 005). A Save given the ctx of an InTx commits with
// the rest of it, so an order the bot places and the conversation that
// remembers it are stored together.
type BotStates struct{ s *Store }

// BotStates returns the bot's conversation store.
func (s *Store) BotStates() *BotStates { return &BotStates{s: s} }

// Load implements bot.StateStore: a new conversation (version 0) for a
// customer never saved.
func (b *BotStates) Load(ctx context.Context, customer string) (*bot.Conversation, error) {
	var (
		state   []byte
		version int64
	)
	err := b.s.read(ctx).QueryRowContext(ctx, `SELECT state, version FROM bot_conversations WHERE customer = ?`, customer).Scan(&state, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return &bot.Conversation{Customer: customer}, nil
	}
	if err != nil {
		return nil, err
	}
	c := new(bot.Conversation)
	if err := json.Unmarshal(state, c); err != nil {
		return nil, fmt.Errorf("bizstore: conversation of a customer: %w", err)
	}
	c.Customer, c.Version = customer, version
	return c, nil
}

// Save implements bot.StateStore: it stores c if nobody saved the
// customer's conversation since c was loaded, and increments c.Version;
// otherwise it returns bot.ErrConflict and changes nothing.
func (b *BotStates) Save(ctx context.Context, c *bot.Conversation) error {
	if c.Customer == "" {
		return fmt.Errorf("bizstore: conversation without a customer")
	}
	loaded := c.Version
	c.Version = loaded + 1
	state, err := json.Marshal(c)
	c.Version = loaded
	if err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	err = b.s.write(ctx, func(q querier) error {
		if loaded == 0 {
			_, err := q.ExecContext(ctx, `INSERT INTO bot_conversations (customer, state, version, updated_at) VALUES (?, ?, 1, ?)`,
				c.Customer, state, now)
			if isUnique(err) {
				return bot.ErrConflict
			}
			return err
		}
		res, err := q.ExecContext(ctx, `UPDATE bot_conversations SET state = ?, version = version + 1, updated_at = ?
			WHERE customer = ? AND version = ?`, state, now, c.Customer, loaded)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = bot.ErrConflict
			}
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.Version = loaded + 1
	return nil
}

// DeleteIdle deletes the conversations last saved before t, and with them
// their transcripts; it returns how many.
func (b *BotStates) DeleteIdle(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := b.s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM bot_conversations WHERE updated_at < ?`, ms(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
