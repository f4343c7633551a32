package media

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

// Purpose says what a token allows.
type Purpose byte

// Purposes of tokens.
const (
	PurposeUpload   Purpose = 1 // HEAD and PATCH of the blob
	PurposeDownload Purpose = 2 // GET (and HEAD) of the blob
)

// Token is what a bearer token grants: Purpose on one blob to one device,
// until Expires.
type Token struct {
	Purpose Purpose
	Media   store.MediaID
	Device  types.Address
	Expires time.Time
}

// A token is base64url (no padding) of
//
//	version 1 ‖ purpose 1 ‖ media id 16 ‖ account 16 ‖ device 4 ‖ expiry ms 8 ‖ HMAC-SHA256 32
//
// where the HMAC, keyed with the token key, covers tokenLabel and every
// byte before it. Integers are big-endian.
const (
	tokenVersion = 1
	tokenBody    = 1 + 1 + 16 + 16 + 4 + 8
	tokenLen     = tokenBody + sha256.Size
	tokenLabel   = "parley-media-token-v1"
)

var errBadToken = errors.New("media: bad token")

// tokenKey derives the HMAC key from a configured secret or the stored
// random key, so that neither is used directly.
func tokenKey(secret []byte) []byte {
	k := sha256.Sum256(append([]byte(tokenLabel+"\x00"), secret...))
	return k[:]
}

func mac(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(tokenLabel))
	m.Write(body)
	return m.Sum(nil)
}

// sign encodes t.
func sign(key []byte, t Token) string {
	b := make([]byte, 0, tokenLen)
	b = append(b, tokenVersion, byte(t.Purpose))
	b = append(b, t.Media[:]...)
	b = append(b, t.Device.Account[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(t.Device.Device))
	b = binary.BigEndian.AppendUint64(b, uint64(t.Expires.UnixMilli()))
	b = append(b, mac(key, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// verify decodes s and checks its MAC and expiry at now.
func verify(key []byte, s string, now time.Time) (Token, error) {
	if base64.RawURLEncoding.DecodedLen(len(s)) != tokenLen {
		return Token{}, errBadToken
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != tokenLen || b[0] != tokenVersion {
		return Token{}, errBadToken
	}
	if !hmac.Equal(b[tokenBody:], mac(key, b[:tokenBody])) {
		return Token{}, errBadToken
	}
	var t Token
	t.Purpose = Purpose(b[1])
	copy(t.Media[:], b[2:18])
	copy(t.Device.Account[:], b[18:34])
	t.Device.Device = types.DeviceID(binary.BigEndian.Uint32(b[34:38]))
	t.Expires = time.UnixMilli(int64(binary.BigEndian.Uint64(b[38:46])))
	if !now.Before(t.Expires) {
		return Token{}, errBadToken
	}
	return t, nil
}
