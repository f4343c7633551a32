package tui

import "strings"

// isControl reports runes that must never reach the terminal from
// someone else's text: C0 and C1 controls (escape sequences could move the
// cursor, retitle the window or forge what the screen shows) and the bidi
// overrides and isolates (they can make text read differently from what
// it is).
func isControl(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// clean makes untrusted text (message bodies, names, emoji) safe to print:
// tabs become spaces, line breaks stay if multiline, any other control
// character is dropped.
func clean(s string, multiline bool) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' && multiline:
			return r
		case r == '\n' || r == '\t' || r == '\r':
			return ' '
		case isControl(r):
			return -1
		}
		return r
	}, s)
}
