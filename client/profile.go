package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/proto/contentpb"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// Profiles: who is writing.
//
// Like WhatsApp, every message a user sees (texts, replies, reactions,
// edits, deletes, timer changes; not receipts or typing) carries the
// sender's phone number and profile name inside the encrypted content
// (Content.sender_profile), so a receiver who does not have the sender as
// a contact can show who it is. It goes with every such message rather
// than with the first of each conversation because that needs no state
// about who has seen which version of the profile (per recipient device,
// including devices linked later), a changed name reaches everyone with
// the next message, and it costs some 15 to 150 bytes of plaintext that
// the 160-byte padding usually absorbs.
//
// The receiver believes the name as the sender's own (front ends show it
// as "~name", and it never replaces a name the user gave the contact), but
// not the number: a number it does not have for the sender yet is looked
// up in the server's directory, and saved only if the directory maps it
// to the sender's account. So nobody can pose as another number; a claim
// that fails is not asked about again for claimRecheck.

// ContactEvent: what is known about Account changed (a profile name, or
// a phone number the directory confirmed). Front ends reload the contact.
type ContactEvent struct{ Account types.AccountID }

func (ContactEvent) event() {}

const (
	claimRecheck  = time.Hour        // after the directory said no
	claimRetry    = time.Minute      // after the directory could not be asked
	claimDeadline = 10 * time.Second // one directory lookup while receiving
)

// profileClaim is a phone number a sender claims and we do not have yet.
type profileClaim struct {
	account types.AccountID
	phone   string
}

// claimState remembers a claim that failed, so it is not asked about
// with every message.
type claimState struct {
	phone   string
	retryAt time.Time
}

// SetProfileName sets the name this account shows to the people it
// writes to (with its phone number); "" removes it. It is sent with the
// following messages. A name longer than clientstore.MaxProfileName bytes
// or with control characters is ErrInvalid.
func (c *Client) SetProfileName(ctx context.Context, name string) error {
	name = strings.TrimSpace(name)
	if len(name) > clientstore.MaxProfileName || !utf8.ValidString(name) ||
		strings.ContainsFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) }) {
		return fmt.Errorf("%w: profile name of at most %d bytes of printable text", ErrInvalid, clientstore.MaxProfileName)
	}
	if _, err := c.account(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.acct
	a.ProfileName = name
	if err := c.st.SaveAccount(ctx, a); err != nil {
		return err
	}
	c.acct = a
	return nil
}

// ProfileName is the name set by SetProfileName.
func (c *Client) ProfileName() string { return c.Account().ProfileName }

// ownProfile is what goes with a message, nil if there is nothing to say.
func (c *Client) ownProfile(acct clientstore.Account) *contentpb.SenderProfile {
	if acct.Phone == "" && acct.ProfileName == "" {
		return nil
	}
	return &contentpb.SenderProfile{Phone: acct.Phone, Name: acct.ProfileName}
}

// carriesProfile reports whether a content of this kind gets the sender's
// profile: the kinds a user sees.
func carriesProfile(content *contentpb.Content) bool {
	switch content.Body.(type) {
	case *contentpb.Content_Receipt, *contentpb.Content_Typing, *contentpb.Content_Sync:
		return false
	}
	return true
}

// noteProfile records, in ctx's transaction, the profile name a peer sent
// and returns the phone number it claims if that is news (for
// verifyClaim after the commit). changed says whether the contact changed.
func (c *Client) noteProfile(ctx context.Context, peer types.AccountID, p *contentpb.SenderProfile) (claim *profileClaim, changed bool, _ error) {
	if p == nil {
		return nil, false, nil
	}
	ct, err := c.st.Contact(ctx, peer)
	switch {
	case errors.Is(err, clientstore.ErrNotFound):
		ct = clientstore.Contact{Account: peer}
	case err != nil:
		return nil, false, err
	}
	if name := truncateUTF8(strings.TrimSpace(p.Name), clientstore.MaxProfileName); name != ct.ProfileName {
		ct.ProfileName = name
		if err := c.st.SaveContact(ctx, ct); err != nil {
			return nil, false, err
		}
		changed = true
	}
	if phone, err := types.ParsePhone(p.Phone); err == nil && phone != ct.Phone {
		claim = &profileClaim{account: peer, phone: phone}
	}
	return claim, changed, nil
}

// verifyClaim asks the directory (over conn, within claimDeadline) whether
// the claimed number is the sender's, and saves it if so. It reports
// whether the contact changed.
func (c *Client) verifyClaim(ctx context.Context, conn *transport.Conn, cl profileClaim) bool {
	now := c.o.Now()
	c.mu.Lock()
	if st, ok := c.claims[cl.account]; ok && st.phone == cl.phone && now.Before(st.retryAt) {
		c.mu.Unlock()
		return false
	}
	c.mu.Unlock()
	lctx, cancel := context.WithTimeout(ctx, claimDeadline)
	defer cancel()
	res, err := conn.Call(lctx, lookupFrame(cl.phone))
	var id types.AccountID
	if err == nil {
		id, err = lookupResult(res, cl.phone)
	}
	retry := now.Add(claimRetry)
	switch {
	case err == nil && id == cl.account:
		err = c.st.InTx(ctx, func(ctx context.Context) error {
			ct, err := c.st.Contact(ctx, cl.account)
			if err != nil && !errors.Is(err, clientstore.ErrNotFound) {
				return err
			}
			ct.Account, ct.Phone = cl.account, cl.phone
			return c.st.SaveContact(ctx, ct)
		})
		if err == nil {
			c.mu.Lock()
			delete(c.claims, cl.account)
			c.mu.Unlock()
			return true
		}
	case err == nil || errors.Is(err, ErrUnknownPhone):
		c.log.Warn("a sender claimed a phone number the directory gives to someone else; not saved", "account_id", cl.account.String())
		retry = now.Add(claimRecheck)
	}
	if err != nil && !errors.Is(err, ErrUnknownPhone) {
		c.log.Info("sender's phone number not checked yet", "account_id", cl.account.String(), "err", err)
	}
	c.mu.Lock()
	c.claims[cl.account] = claimState{phone: cl.phone, retryAt: retry}
	c.mu.Unlock()
	return false
}

func lookupFrame(phone string) *wirepb.ClientFrame {
	return &wirepb.ClientFrame{Body: &wirepb.ClientFrame_LookupPhone{LookupPhone: &wirepb.LookupPhone{Phones: []string{phone}}}}
}

// lookupResult is the account the directory's answer gives phone, or
// ErrUnknownPhone.
func lookupResult(res *wirepb.Response, phone string) (types.AccountID, error) {
	for _, m := range res.GetLookup().GetMatches() {
		id, err := types.AccountIDFromBytes(m.AccountId)
		if m.Phone != phone || err != nil || id.IsZero() {
			continue
		}
		return id, nil
	}
	return types.AccountID{}, ErrUnknownPhone
}

// truncateUTF8 cuts s to at most n bytes at a rune boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
