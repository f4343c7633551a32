package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/testserver"
)

// groupInfo runs group info --json as p.
func (p *person) groupInfo(group string) groupJSON {
	p.t.Helper()
	var g groupJSON
	out := p.must("group", "info", group, "--json")
	if err := json.Unmarshal([]byte(out), &g); err != nil {
		p.t.Fatalf("group info --json printed %q: %v", out, err)
	}
	return g
}

func memberPhones(g groupJSON) []string {
	var out []string
	for _, m := range g.Members {
		out = append(out, m.Phone)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

func TestGroupCommandsEndToEnd(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice, bob, carol, dave := newPerson(t), newPerson(t), newPerson(t), newPerson(t)
	ap, bp, cp, dp := testserver.NewPhone(), testserver.NewPhone(), testserver.NewPhone(), testserver.NewPhone()
	alice.register(srv, ap)
	bob.register(srv, bp)
	carol.register(srv, cp)
	dave.register(srv, dp)

	out := alice.must("group", "create", "Book club", "--member", bp, "--member", cp, "--description", "one book a month")
	if !strings.Contains(out, `Created group "Book club"`) || !strings.Contains(out, "with 3 members") {
		t.Fatalf("group create printed %q", out)
	}
	g := alice.groupInfo("Book club")
	if g.Role != "admin" || g.Description != "one book a month" || !slices.Equal(memberPhones(g), sorted(ap, bp, cp)) {
		t.Errorf("alice's group info: %+v", g)
	}
	// Bob's device learns of the group when it connects; the name works
	// there too.
	if bg := bob.groupInfo("book club"); bg.ID != g.ID || bg.Role != "member" || bg.Name != "Book club" {
		t.Errorf("bob's group info: %+v", bg)
	}
	if out := bob.must("group", "list"); !strings.Contains(out, g.ID) || !strings.Contains(out, "Book club") || !strings.Contains(out, "3 members") {
		t.Errorf("bob's group list: %q", out)
	}

	alice.must("send", "--group", "Book club", "--text", "first up: Middlemarch")
	bob.must("send", "--group", g.ID, "all 900 pages?")
	msgs := carol.recvJSON()
	var texts []string
	for i, m := range msgs {
		// The first line can come before the group's secret, which opens
		// its name.
		if m.Group != g.ID || (i > 0 && m.GroupName != "Book club") {
			t.Errorf("carol's recv: %+v is not marked as the group's", m)
		}
		texts = append(texts, m.Kind+": "+m.Text)
	}
	// The group's first line says who made it (the name comes with the
	// secret, which follows the server's notice).
	if len(texts) != 3 || !strings.HasPrefix(texts[0], "group-event: ") || !strings.Contains(texts[0], "created the group") ||
		texts[1] != "text: first up: Middlemarch" || texts[2] != "text: all 900 pages?" {
		t.Errorf("carol's recv printed %q", texts)
	}
	if out := carol.must("recv", "--timeout", "300ms"); out != "" {
		t.Errorf("a second recv printed %q", out)
	}

	// Members cannot change the group; the admin can.
	if code, _, errOut := bob.run("group", "rename", "Book club", "Bob's club"); code != exitFail || !strings.Contains(errOut, "only an admin") {
		t.Errorf("bob renaming: exit %d, %q", code, errOut)
	}
	alice.must("group", "rename", "Book club", "Slow readers")
	alice.must("group", "admin", "Slow readers", bp)
	if bg := bob.groupInfo("Slow readers"); bg.Role != "admin" {
		t.Errorf("bob after being made admin: %+v", bg)
	}

	// An invite link brings dave in.
	link := strings.TrimSpace(bob.must("group", "invite", "Slow readers"))
	if !strings.HasPrefix(link, "parley://join/"+g.ID+"/") {
		t.Fatalf("group invite printed %q", link)
	}
	if out := dave.must("group", "join", link); !strings.Contains(out, `Joined "Slow readers"`) || !strings.Contains(out, "4 members") {
		t.Errorf("group join printed %q", out)
	}
	bob.must("group", "invite", "Slow readers", "--revoke")
	if ag := alice.groupInfo(g.ID); ag.Invite || len(ag.Members) != 4 {
		t.Errorf("after the join and the revocation: %+v", ag)
	}

	// Carol is removed: her sends fail, and she reads nothing sent after.
	alice.must("group", "remove", "Slow readers", cp)
	if code, _, errOut := carol.run("send", "--group", g.ID, "--text", "wait"); code != exitFail || !strings.Contains(errOut, "not a member") {
		t.Errorf("carol sending after removal: exit %d, %q", code, errOut)
	}
	dave.must("send", "--group", "Slow readers", "--text", "hello all")
	for _, m := range carol.recvJSON() {
		if m.Kind == "text" {
			t.Errorf("carol received %+v after her removal", m)
		}
	}
	found := false
	for _, m := range bob.recvJSON() {
		found = found || (m.Text == "hello all" && m.From == dp)
	}
	if !found {
		t.Error("bob did not receive dave's message")
	}

	// A file goes to the group like a message.
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, []byte("chapter one, chapter two"), 0o600); err != nil {
		t.Fatal(err)
	}
	alice.must("send", "--group", "Slow readers", "--file", path, "--caption", "my notes")
	saveDir := t.TempDir()
	found = false
	for _, m := range bob.recvJSON("--save-media", saveDir) {
		if m.Kind == "media" && m.Group == g.ID && m.Text == "my notes" && m.Media != nil && m.Media.Saved != "" {
			b, err := os.ReadFile(m.Media.Saved)
			found = err == nil && string(b) == "chapter one, chapter two"
		}
	}
	if !found {
		t.Error("bob did not receive and save alice's file")
	}

	alice.must("group", "leave", g.ID)
	if ag := alice.groupInfo(g.ID); ag.Role != "left" || !ag.Left {
		t.Errorf("alice after leaving: %+v", ag)
	}
	if bg := bob.groupInfo(g.ID); len(bg.Members) != 2 || bg.Role != "admin" {
		t.Errorf("bob after alice left: %+v", bg)
	}
}
