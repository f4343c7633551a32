package client

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/grouplog"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// FuzzGroupState: a stored group state decodes to a state that encodes
// back to the same value, or fails; never a panic.
func FuzzGroupState(f *testing.F) {
	a, b := types.NewAccountID(), types.NewAccountID()
	if bytes.Compare(a[:], b[:]) > 0 {
		a, b = b, a
	}
	f.Add(encodeGroupState(&grouplog.State{Group: types.NewGroupID(), Seq: 3, Head: [32]byte{1},
		Members:          []grouplog.Member{{Account: a, Admin: true, Since: 1}, {Account: b, Since: 3}},
		AnnouncementOnly: true, InviteHash: make([]byte, 32), SealedAttributes: []byte("sealed"), AttributesSeq: 1}))
	f.Add([]byte{})
	f.Add([]byte{0x22, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeGroupState(b)
		if err != nil {
			return
		}
		again, err := decodeGroupState(encodeGroupState(s))
		if err != nil || again.Group != s.Group || again.Seq != s.Seq || again.Head != s.Head ||
			!slices.Equal(again.Members, s.Members) || again.AnnouncementOnly != s.AnnouncementOnly ||
			!bytes.Equal(again.InviteHash, s.InviteHash) || !bytes.Equal(again.SealedAttributes, s.SealedAttributes) ||
			again.AttributesSeq != s.AttributesSeq {
			t.Fatalf("state does not round-trip: %+v %+v %v", s, again, err)
		}
		for i := 1; i < len(s.Members); i++ {
			if bytes.Compare(s.Members[i-1].Account[:], s.Members[i].Account[:]) >= 0 {
				t.Fatal("members not sorted")
			}
		}
	})
}

// FuzzGroupLine: a stored history line of a group change renders or fails,
// never panics.
func FuzzGroupLine(f *testing.F) {
	kp, err := curve.GenerateKeyPair(nil)
	if err != nil {
		f.Fatal(err)
	}
	g, actor := types.NewGroupID(), types.NewAccountID()
	ev, err := grouplog.Sign(&wirepb.GroupEventBody{GroupId: g[:], Seq: 1, ActorAccount: actor[:], ActorDevice: 1,
		ActorIdentityKey: kp.Public.Bytes(), Change: &wirepb.GroupEventBody_Create{Create: &wirepb.GroupCreate{}}}, kp.Private)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(encodeGroupLine(ev.Raw, []byte{0x0a, 0x01, 'x'}, ChangedName))
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		if gc, err := decodeGroupLine(b); err == nil {
			_ = gc.Describe(shortName)
		}
	})
}

// FuzzInviteLink: any text parses to a well-formed link or ErrBadInvite,
// and a parsed link formats back to one that parses the same.
func FuzzInviteLink(f *testing.F) {
	f.Add(InviteLink(types.NewGroupID(), make([]byte, 16), make([]byte, 32)))
	f.Add("parley://join/x/y#z")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		g, tok, sec, err := ParseInviteLink(s)
		if err != nil {
			return
		}
		g2, tok2, sec2, err := ParseInviteLink(InviteLink(g, tok, sec))
		if err != nil || g2 != g || !bytes.Equal(tok, tok2) || !bytes.Equal(sec, sec2) || !strings.HasPrefix(InviteLink(g, tok, sec), inviteScheme) {
			t.Fatalf("link does not round-trip: %v", err)
		}
	})
}
