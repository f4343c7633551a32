package tui

import (
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// lineInput is a one-line text editor: the composer, the phone and code
// fields. (bubbles/textinput would do the same with a second dependency;
// this is all the editing a chat line needs.)
type lineInput struct {
	runes []rune
	pos   int
	limit int // maximum runes; 0 unlimited
}

func (l *lineInput) value() string { return string(l.runes) }

func (l *lineInput) set(s string) {
	l.runes = []rune(s)
	l.pos = len(l.runes)
}

func (l *lineInput) insert(rs []rune) {
	var clean []rune
	for _, r := range rs {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			clean = append(clean, ' ')
		case isControl(r):
		default:
			clean = append(clean, r)
		}
	}
	if l.limit > 0 && len(l.runes)+len(clean) > l.limit {
		clean = clean[:max(0, l.limit-len(l.runes))]
	}
	l.runes = append(l.runes[:l.pos], append(clean, l.runes[l.pos:]...)...)
	l.pos += len(clean)
}

// handle applies an editing key and reports whether the text changed.
// Keys that are not editing keys are left to the caller (handled false).
func (l *lineInput) handle(k tea.KeyMsg) (handled, changed bool) {
	before := string(l.runes)
	switch k.Type {
	case tea.KeyRunes:
		l.insert(k.Runes)
	case tea.KeySpace:
		l.insert([]rune{' '})
	case tea.KeyBackspace:
		if l.pos > 0 {
			l.runes = append(l.runes[:l.pos-1], l.runes[l.pos:]...)
			l.pos--
		}
	case tea.KeyDelete, tea.KeyCtrlD:
		if l.pos < len(l.runes) {
			l.runes = append(l.runes[:l.pos], l.runes[l.pos+1:]...)
		}
	case tea.KeyLeft, tea.KeyCtrlB:
		l.pos = max(0, l.pos-1)
	case tea.KeyRight, tea.KeyCtrlF:
		l.pos = min(len(l.runes), l.pos+1)
	case tea.KeyHome, tea.KeyCtrlA:
		l.pos = 0
	case tea.KeyEnd, tea.KeyCtrlE:
		l.pos = len(l.runes)
	case tea.KeyCtrlU:
		l.runes = l.runes[l.pos:]
		l.pos = 0
	case tea.KeyCtrlK:
		l.runes = l.runes[:l.pos]
	case tea.KeyCtrlW:
		i := l.pos
		for i > 0 && l.runes[i-1] == ' ' {
			i--
		}
		for i > 0 && l.runes[i-1] != ' ' {
			i--
		}
		l.runes = append(l.runes[:i], l.runes[l.pos:]...)
		l.pos = i
	default:
		return false, false
	}
	return true, string(l.runes) != before
}

// view renders the text in width cells with the cursor shown by cursor
// (a style's Render) when focused, scrolled so the cursor is visible.
func (l *lineInput) view(width int, focused bool, cursor func(...string) string, placeholder string) string {
	if width < 2 {
		width = 2
	}
	if len(l.runes) == 0 && !focused {
		return placeholder
	}
	// Show a window of runes that ends at or after the cursor.
	start := 0
	for ansi.StringWidth(string(l.runes[start:l.pos])) > width-1 {
		start++
	}
	var b strings.Builder
	b.WriteString(string(l.runes[start:l.pos]))
	if focused {
		c := " "
		if l.pos < len(l.runes) {
			c = string(l.runes[l.pos])
		}
		b.WriteString(cursor(c))
		if l.pos < len(l.runes) {
			b.WriteString(string(l.runes[l.pos+1:]))
		}
	} else {
		b.WriteString(string(l.runes[l.pos:]))
	}
	if len(l.runes) == 0 && placeholder != "" {
		return b.String() + placeholder
	}
	return ansi.Truncate(b.String(), width, "")
}
