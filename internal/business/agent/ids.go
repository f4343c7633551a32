package agent

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/types"
)

// Message ids: a Cloud API message id ("wamid.…") names a Parley message,
// which its author's account and the author's message id identify, so the
// id is "wamid." and the base64url (no padding) of the two, 16 bytes each.
// Nothing needs storing to map one to the other, either way.

const wamidPrefix = "wamid."

// WAMID is the Cloud API id of the message ref names.
func WAMID(ref clientstore.MessageRef) string {
	var b [32]byte
	copy(b[:16], ref.Sender[:])
	copy(b[16:], ref.ID[:])
	return wamidPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// errBadWAMID: a message id that is not one of ours.
var errBadWAMID = errors.New("agent: not a message id of this agent")

// ParseWAMID is the message a WAMID names.
func ParseWAMID(s string) (clientstore.MessageRef, error) {
	rest, ok := strings.CutPrefix(s, wamidPrefix)
	if !ok || len(rest) != 43 {
		return clientstore.MessageRef{}, errBadWAMID
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(b) != 32 {
		return clientstore.MessageRef{}, errBadWAMID
	}
	var r clientstore.MessageRef
	copy(r.Sender[:], b[:16])
	copy(r.ID[:], b[16:])
	if r.Sender.IsZero() {
		return clientstore.MessageRef{}, errBadWAMID
	}
	return r, nil
}

// waID is a phone number's wa_id: the E.164 digits without "+".
func waID(phone string) string { return strings.TrimPrefix(phone, "+") }

// phoneOf is the E.164 form of a wa_id, or "" when it is not one.
func phoneOf(wa string) string {
	p, err := types.ParsePhone("+" + wa)
	if err != nil {
		return ""
	}
	return p
}
