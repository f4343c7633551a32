package cli

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/testserver"
)

// safetyJSON runs safety-number --json with peer.
func (p *person) safetyJSON(peer string) safetyJSON {
	p.t.Helper()
	out := p.must("safety-number", "--with", peer, "--json")
	var s safetyJSON
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		p.t.Fatalf("safety-number --json printed %q: %v", out, err)
	}
	return s
}

// digitsRE is the number as safety-number shows it: three lines of four
// groups of five digits.
var digitsRE = regexp.MustCompile(`(?m)^(\d{5} \d{5} \d{5} \d{5}\n){3}`)

func TestSafetyNumberCommand(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice, bob, carol := newPerson(t), newPerson(t), newPerson(t)
	alicePhone, bobPhone := testserver.NewPhone(), testserver.NewPhone()
	alice.register(srv, alicePhone)
	bob.register(srv, bobPhone)
	carol.register(srv, testserver.NewPhone())

	// Both sides show the same 60 digits, not verified yet.
	sa, sb := alice.safetyJSON(bobPhone), bob.safetyJSON(alice.account)
	if len(sa.Digits) != 60 || strings.Trim(sa.Digits, "0123456789") != "" || sa.Digits != sb.Digits {
		t.Fatalf("alice sees %q, bob %q", sa.Digits, sb.Digits)
	}
	if sa.Verified || sa.Changed || sa.Account != bob.account || sa.With != bobPhone || sa.Code == sb.Code {
		t.Errorf("alice's view: %+v (bob's code %q)", sa, sb.Code)
	}
	out := alice.must("safety-number", "--with", bobPhone)
	if m := digitsRE.FindString(out); strings.ReplaceAll(strings.ReplaceAll(m, " ", ""), "\n", "") != sa.Digits {
		t.Errorf("safety-number printed %q, want the digits %s in twelve groups of five", out, sa.Digits)
	}
	pic, err := qrHalfBlocks(mustBase64(t, sa.Code))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{pic, "Code (for --compare on the other side): " + sa.Code + "\n", "Not verified"} {
		if !strings.Contains(out, want) {
			t.Errorf("safety-number printed %q, want %q in it", out, want)
		}
	}

	// Alice compares Bob's code: it matches; Carol's code (of her number
	// with Alice) and Alice's own do not, and a mismatch verifies nothing.
	sc := carol.safetyJSON(alice.account)
	for _, tt := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"bob's code", []string{"--compare", sb.Code}, exitOK, "match"},
		{"bob's code, URL-safe and unpadded", []string{"--compare", strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(sb.Code), "=")}, exitOK, "match"},
		{"carol's code", []string{"--compare", sc.Code}, exitFail, "do NOT match"},
		{"alice's own code", []string{"--compare", sa.Code}, exitFail, "do NOT match"},
		{"carol's code, verify", []string{"--compare", sc.Code, "--verify"}, exitFail, "Not marked verified"},
		{"not a code", []string{"--compare", "aGVsbG8="}, exitUsage, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := alice.run(append([]string{"safety-number", "--with", bobPhone}, tt.args...)...)
			if code != tt.code || !strings.Contains(out, tt.out) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", code, out, errOut, tt.code, tt.out)
			}
		})
	}
	if alice.safetyJSON(bobPhone).Verified {
		t.Fatal("verified after a mismatch")
	}
	out = alice.must("safety-number", "--with", bobPhone, "--compare", sb.Code, "--verify")
	if !strings.Contains(out, "match") || !strings.Contains(out, "verified") || !digitsRE.MatchString(out) {
		t.Errorf("--compare --verify printed %q", out)
	}
	if s := alice.safetyJSON(bobPhone); !s.Verified || s.Digits != sa.Digits {
		t.Errorf("after --verify: %+v", s)
	}
	if out := alice.must("safety-number", "--with", bobPhone); !strings.Contains(out, "Verified") {
		t.Errorf("a verified number shows %q", out)
	}
	alice.must("send", "--to", bobPhone, "--text", "before the reinstall")
	if msgs := bob.recvJSON(); len(msgs) != 1 {
		t.Fatalf("bob received %+v", msgs)
	}

	// Bob reinstalls: the same number and account, new keys. Alice's
	// send finds out and holds the message; the next one is refused at
	// once; both say why and what to do.
	bob2 := newPerson(t)
	bob2.register(srv, bobPhone)
	if bob2.account != bob.account {
		t.Fatalf("re-registering gave account %s, was %s", bob2.account, bob.account)
	}
	for _, text := range []string{"held", "refused"} {
		code, _, errOut := alice.run("send", "--to", bobPhone, "--text", text, "--timeout", "15s")
		if code != exitFail || !strings.Contains(errOut, "safety number with "+bobPhone+" changed") ||
			!strings.Contains(errOut, "parley safety-number --with "+bobPhone) {
			t.Fatalf("send %q after bob's reinstall: exit %d, stderr %q", text, code, errOut)
		}
		t.Logf("send %q: %s", text, errOut)
	}
	s2 := alice.safetyJSON(bobPhone)
	if s2.Digits == sa.Digits || s2.Verified || !s2.Changed {
		t.Errorf("after bob's reinstall alice sees %+v (before: %s)", s2, sa.Digits)
	}
	if out := alice.must("safety-number", "--with", bobPhone); !strings.Contains(out, "CHANGED") {
		t.Errorf("a changed number shows %q", out)
	}
	if s := bob2.safetyJSON(alice.account); s.Digits != s2.Digits {
		t.Errorf("bob's new number %s, alice's %s", s.Digits, s2.Digits)
	}
	if code, _, _ := alice.run("safety-number", "--with", bobPhone, "--compare", sb.Code); code != exitFail {
		t.Errorf("bob's old code matches his new keys")
	}

	// Alice compares the digits with Bob and marks them verified: sending
	// works again, and the held message goes out too.
	out = alice.must("safety-number", "--with", bobPhone, "--verify")
	if !strings.Contains(out, "verified") || !digitsRE.MatchString(out) {
		t.Errorf("--verify printed %q", out)
	}
	if s := alice.safetyJSON(bobPhone); !s.Verified || s.Changed {
		t.Errorf("after --verify: %+v", s)
	}
	alice.must("send", "--to", bobPhone, "--text", "after verifying")
	var texts []string
	for range 20 {
		for _, m := range bob2.recvJSON() {
			texts = append(texts, m.Text)
		}
		if len(texts) >= 2 {
			break
		}
	}
	if strings.Join(texts, "|") != "held|after verifying" && strings.Join(texts, "|") != "after verifying|held" {
		t.Errorf("bob's new profile received %q, want the held message and the new one, once each", texts)
	}
}

func mustBase64(t *testing.T, s string) []byte {
	t.Helper()
	b, ok := decodeBase64(s)
	if !ok {
		t.Fatalf("%q is not base64", s)
	}
	return b
}
