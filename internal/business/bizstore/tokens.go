package bizstore

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/parley-im/parley/internal/business/cloudapi"
)

// scopes are the token scopes a grant may name.
var scopes = []cloudapi.Scope{cloudapi.ScopeMessages, cloudapi.ScopeMedia, cloudapi.ScopeProfile,
	cloudapi.ScopeTemplates, cloudapi.ScopeCatalog, cloudapi.ScopeAdmin}

// TokenInfo describes an issued token without being it: the grant, a
// label for people, and an id to revoke it by.
type TokenInfo struct {
	ID      string // the first 8 bytes of the token's SHA-256, in hex
	Label   string
	Grant   cloudapi.Token
	Created time.Time
}

// IssueToken makes a new access token with grant g and returns it; only its
// SHA-256 is stored, so this is the one time anyone sees it. Unknown scopes
// are refused, so that a typo grants an error rather than nothing.
func (s *Store) IssueToken(ctx context.Context, g cloudapi.Token, label string) (token string, info TokenInfo, err error) {
	if g.WABAID == "" || len(g.Scopes) == 0 {
		return "", TokenInfo{}, fmt.Errorf("bizstore: a token needs a business and at least one scope")
	}
	names := make([]string, len(g.Scopes))
	for i, sc := range g.Scopes {
		if !slices.Contains(scopes, sc) {
			return "", TokenInfo{}, fmt.Errorf("bizstore: unknown token scope %q", sc)
		}
		names[i] = string(sc)
	}
	token, hash := cloudapi.NewToken()
	info = TokenInfo{ID: tokenID(hash), Label: label, Grant: g, Created: time.Now().UTC().Truncate(time.Millisecond)}
	info.Grant.Scopes = slices.Clone(g.Scopes)
	info.Grant.Expires = fromMS(ms(g.Expires))
	err = s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO access_tokens (hash, id, waba_id, scopes, label, expires_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, hash[:], info.ID, g.WABAID, joinList(names), label, ms(g.Expires), ms(info.Created))
		return err
	})
	if err != nil {
		return "", TokenInfo{}, fmt.Errorf("bizstore: issue token: %w", err)
	}
	return token, info, nil
}

func tokenID(hash [32]byte) string { return hex.EncodeToString(hash[:8]) }

// Token implements cloudapi.TokenStore. An expired token is returned with
// its expiry, so that the handler can say it expired.
func (s *Store) Token(ctx context.Context, hash [32]byte) (cloudapi.Token, error) {
	var (
		t       cloudapi.Token
		list    string
		expires int64
	)
	err := s.read(ctx).QueryRowContext(ctx, `SELECT waba_id, scopes, expires_at FROM access_tokens WHERE hash = ?`, hash[:]).Scan(
		&t.WABAID, &list, &expires)
	if err != nil {
		return cloudapi.Token{}, noRow(err, "token")
	}
	for _, sc := range splitList(list) {
		t.Scopes = append(t.Scopes, cloudapi.Scope(sc))
	}
	t.Expires = fromMS(expires)
	return t, nil
}

// Tokens lists the issued tokens, oldest first.
func (s *Store) Tokens(ctx context.Context) ([]TokenInfo, error) {
	rows, err := s.read(ctx).QueryContext(ctx, `SELECT id, label, waba_id, scopes, expires_at, created_at
		FROM access_tokens ORDER BY created_at, rowid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TokenInfo
	for rows.Next() {
		var (
			ti               TokenInfo
			list             string
			expires, created int64
		)
		if err := rows.Scan(&ti.ID, &ti.Label, &ti.Grant.WABAID, &list, &expires, &created); err != nil {
			return nil, err
		}
		for _, sc := range splitList(list) {
			ti.Grant.Scopes = append(ti.Grant.Scopes, cloudapi.Scope(sc))
		}
		ti.Grant.Expires, ti.Created = fromMS(expires), fromMS(created)
		out = append(out, ti)
	}
	return out, rows.Err()
}

// RevokeToken deletes a token by its id (TokenInfo.ID); ErrNotFound if
// there is none.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	return s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM access_tokens WHERE id = ?`, id)
		return one(res, err, "token %s", id)
	})
}

// RevokeTokenValue deletes a token given the token itself.
func (s *Store) RevokeTokenValue(ctx context.Context, token string) error {
	return s.RevokeToken(ctx, tokenID(cloudapi.HashToken(token)))
}

// DeleteExpiredTokens deletes the tokens that expired before t (they only
// serve to tell a caller that its token expired).
func (s *Store) DeleteExpiredTokens(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM access_tokens WHERE expires_at <> 0 AND expires_at < ?`, ms(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
