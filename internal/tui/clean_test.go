package tui

import (
	"testing"
	"time"
)

func TestClean(t *testing.T) {
	for _, tc := range []struct {
		in        string
		multiline bool
		want      string
	}{
		{"plain text", false, "plain text"},
		{"a\tb", false, "a b"},
		{"two\nlines", true, "two\nlines"},
		{"two\nlines", false, "two lines"},
		{"crlf\r\n", true, "crlf \n"},
		{"\x1b[31mred\x1b[0m", false, "[31mred[0m"},
		{"title\x1b]0;x\x07", false, "title]0;x"},
		{"c1\u009b2J", false, "c12J"},
		{"del\x7f", false, "del"},
		{"\u202eevil\u2066", false, "evil"},
		{"emoji 👍 and ünïcode", false, "emoji 👍 and ünïcode"},
	} {
		if got := clean(tc.in, tc.multiline); got != tc.want {
			t.Errorf("clean(%q, %v) = %q, want %q", tc.in, tc.multiline, got, tc.want)
		}
	}
}

func FuzzClean(f *testing.F) {
	f.Add("hello\x1b[2J\u202e")
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range clean(s, true) {
			if r != '\n' && isControl(r) {
				t.Fatalf("clean(%q) kept %U", s, r)
			}
		}
	})
}

func TestHuman(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "1 hour", 8 * time.Hour: "8 hours", 7 * 24 * time.Hour: "1 week",
		90 * time.Second: "90 seconds", 30 * time.Second: "30 seconds", 1500 * time.Millisecond: "1.5s",
	} {
		if got := human(d); got != want {
			t.Errorf("human(%v) = %q, want %q", d, got, want)
		}
	}
}
