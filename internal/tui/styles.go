package tui

import "github.com/charmbracelet/lipgloss"

// styles are the looks of the screens. They come from one lipgloss
// renderer bound to the program's output, so colours are used only when
// that output is a terminal that has them; the text alone always says
// everything (receipt states are words and ticks, not just colours).
type styles struct {
	title, dim, bold, selected, errText, banner, cursor             lipgloss.Style
	you, peer, sending, sent, delivered, read, unread, typing, meta lipgloss.Style
	// senders are the colours of group members' names (green is "You").
	senders []lipgloss.Style
}

func newStyles(r *lipgloss.Renderer) styles {
	s := r.NewStyle
	var senders []lipgloss.Style
	for _, c := range []string{"5", "6", "3", "4", "13", "14", "11", "12", "9"} {
		senders = append(senders, s().Bold(true).Foreground(lipgloss.Color(c)))
	}
	return styles{
		senders:   senders,
		title:     s().Bold(true).Foreground(lipgloss.Color("6")),
		dim:       s().Faint(true),
		bold:      s().Bold(true),
		selected:  s().Reverse(true),
		errText:   s().Foreground(lipgloss.Color("1")),
		banner:    s().Bold(true).Foreground(lipgloss.Color("0")).Background(lipgloss.Color("3")),
		cursor:    s().Reverse(true),
		you:       s().Bold(true).Foreground(lipgloss.Color("2")),
		peer:      s().Bold(true).Foreground(lipgloss.Color("5")),
		sending:   s().Faint(true),
		sent:      s().Faint(true),
		delivered: s(),
		read:      s().Bold(true).Foreground(lipgloss.Color("12")),
		unread:    s().Bold(true).Foreground(lipgloss.Color("2")),
		typing:    s().Italic(true).Foreground(lipgloss.Color("2")),
		meta:      s().Italic(true).Faint(true),
	}
}
