package grouplog

import (
	"testing"

	"github.com/parley-im/parley/types"
)

// FuzzParseApply feeds arbitrary bytes to Parse and, when they parse, to
// Apply after a real group's state: neither may panic, and a state Apply
// returns must keep its invariants.
func FuzzParseApply(f *testing.F) {
	w := &world{g: types.NewGroupID(), ann: newActor(f), ben: newActor(f), cat: newActor(f), dan: newActor(f), eve: newActor(f)}
	first := w.ann.event(f, w.g, nil, create(members(false, w.ben, w.cat)...))
	w.s, _ = (*State)(nil).Apply(first, 0)
	f.Add(first.Raw)
	f.Add(w.ann.event(f, w.g, w.s, add(members(true, w.dan)...)).Raw)
	f.Add(w.ann.event(f, w.g, w.s, remove(w.cat)).Raw)
	f.Add(w.ben.event(f, w.g, w.s, leave).Raw)
	f.Add(w.ann.event(f, w.g, w.s, setInvite(TokenHash([]byte("t")))).Raw)
	f.Add(w.eve.event(f, w.g, w.s, join(TokenHash([]byte("t")))).Raw)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := Parse(raw)
		if err != nil {
			return
		}
		for _, s := range []*State{nil, w.s} {
			n, err := s.Apply(ev, 3)
			if err != nil {
				continue
			}
			if len(n.Members) > 3 || n.Seq != ev.Body.Seq || n.Head != ev.Hash {
				t.Fatalf("state after a fuzzed event: %+v", n)
			}
			if len(n.Members) > 0 && !hasAdmin(n) {
				t.Fatal("a group with members and no admin")
			}
		}
	})
}

func hasAdmin(s *State) bool {
	for _, m := range s.Members {
		if m.Admin {
			return true
		}
	}
	return false
}
