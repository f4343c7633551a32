package tui

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

func TestLineInput(t *testing.T) {
	runes := func(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }
	key := func(k tea.KeyType) tea.KeyMsg { return tea.KeyMsg{Type: k} }
	for _, tc := range []struct {
		name  string
		limit int
		keys  []tea.KeyMsg
		want  string
		pos   int
	}{
		{"typing", 0, []tea.KeyMsg{runes("héllo"), key(tea.KeySpace), runes("👍")}, "héllo 👍", 7},
		{"backspace", 0, []tea.KeyMsg{runes("abc"), key(tea.KeyBackspace)}, "ab", 2},
		{"backspace at start", 0, []tea.KeyMsg{key(tea.KeyBackspace)}, "", 0},
		{"insert in the middle", 0, []tea.KeyMsg{runes("ac"), key(tea.KeyLeft), runes("b")}, "abc", 2},
		{"home and delete", 0, []tea.KeyMsg{runes("xabc"), key(tea.KeyHome), key(tea.KeyDelete)}, "abc", 0},
		{"ctrl+w deletes a word", 0, []tea.KeyMsg{runes("hello big world"), key(tea.KeyCtrlW)}, "hello big ", 10},
		{"ctrl+u clears before", 0, []tea.KeyMsg{runes("abc def"), key(tea.KeyLeft), key(tea.KeyCtrlU)}, "f", 0},
		{"ctrl+k clears after", 0, []tea.KeyMsg{runes("abc def"), key(tea.KeyHome), key(tea.KeyRight), key(tea.KeyCtrlK)}, "a", 1},
		{"pasted controls", 0, []tea.KeyMsg{runes("a\x1b[2Jb\nc\u202e")}, "a[2Jb c", 7},
		{"limit", 4, []tea.KeyMsg{runes("+12345")}, "+123", 4},
		{"right past the end", 0, []tea.KeyMsg{runes("a"), key(tea.KeyRight), key(tea.KeyRight)}, "a", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := lineInput{limit: tc.limit}
			for _, k := range tc.keys {
				l.handle(k)
			}
			if l.value() != tc.want || l.pos != tc.pos {
				t.Errorf("got %q at %d, want %q at %d", l.value(), l.pos, tc.want, tc.pos)
			}
		})
	}
}

func TestLineInputViewKeepsCursorVisible(t *testing.T) {
	var l lineInput
	l.set("0123456789abcdefghij")
	cursor := func(s ...string) string { return "\x1b[7m" + s[0] + "\x1b[0m" }
	if got := l.view(10, true, cursor, ""); got != "bcdefghij\x1b[7m \x1b[0m" {
		t.Errorf("end of a long line: %q", got)
	}
	l.pos = 0
	if got := ansi.Strip(l.view(10, true, cursor, "")); got != "0123456789" {
		t.Errorf("start of a long line: %q", got)
	}
}
