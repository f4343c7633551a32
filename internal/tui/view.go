package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/types"
)

// Texts the user sees for states that have no text of their own.
const (
	textDeleted = "message deleted"
	textUnknown = "a message this version cannot show"
	textEdited  = "(edited)"
	textTyping  = "typing…"
)

func (m *model) View() string {
	var lines []string
	switch m.screen {
	case screenRegister:
		lines = m.registerView()
	case screenList, screenNewChat, screenProfile:
		lines = m.listView()
	case screenConv:
		lines = m.convView()
	}
	return m.fit(lines)
}

// fit cuts lines to the screen: each to the width, the list to the height
// (the last two lines, status and help, always stay).
func (m *model) fit(lines []string) string {
	w, h := max(m.width, 20), max(m.height, 5)
	if len(lines) > h {
		lines = append(lines[:h-2:h-2], lines[len(lines)-2:]...)
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, w, "…")
	}
	for len(lines) < h {
		// Pad above the status and help lines so they stay at the bottom.
		n := len(lines)
		if n >= 2 {
			lines = append(lines[:n-2], append([]string{""}, lines[n-2:]...)...)
		} else {
			lines = append(lines, "")
		}
	}
	return strings.Join(lines, "\n")
}

func (m *model) statusLine() string {
	var s string
	switch {
	case m.fatal:
		s = m.st.errText.Render("✗ this device can no longer connect: " + errString(m.connErr))
	case m.closedEv:
		s = m.st.errText.Render("✗ client closed")
	case m.conn == client.Connected && m.synced:
		s = "● connected"
	case m.conn == client.Connected:
		s = "● connected, syncing…"
	case m.conn == client.Connecting:
		s = "○ connecting…"
	default:
		s = "○ offline"
		if m.connErr != nil {
			s += " (" + m.connErr.Error() + ")"
		}
		s += ", retrying"
	}
	if a := m.c.Account(); a.Phone != "" {
		you := a.Phone
		if a.ProfileName != "" {
			you += " ~" + clean(a.ProfileName, false)
		}
		s += m.st.dim.Render(" · you are " + you)
	}
	if m.notice != "" {
		s += " · " + m.st.errText.Render(m.notice)
	}
	return s
}

func (m *model) help(h string) string { return m.st.dim.Render(h) }

func (m *model) registerView() []string {
	r := &m.reg
	w := max(m.width-12, 10)
	field := func(label string, l *lineInput, i int, placeholder string) string {
		p := "  "
		if r.focus == i {
			p = "▸ "
		}
		return p + fmt.Sprintf("%-7s", label) + l.view(w, r.focus == i && !r.busy, m.st.cursor.Render, m.st.dim.Render(placeholder))
	}
	lines := []string{
		m.st.title.Render("Parley · register this device"),
		"",
		"This profile has no account yet. Enter the server and your phone number;",
		"the server sends you a code to confirm the number.",
		"",
		field("Server", &r.server, 0, "https://parley.example"),
		field("Phone", &r.phone, 1, "+15551234567"),
	}
	if r.awaitingCode {
		lines = append(lines, field("Code", &r.code, 2, "123456"))
	}
	lines = append(lines, "")
	if r.info != "" {
		lines = append(lines, r.info)
	}
	if r.err != "" {
		lines = append(lines, m.st.errText.Render(r.err))
	}
	h := helpRegister
	if r.awaitingCode {
		h = helpRegisterCode
	}
	return append(lines, m.statusLine(), m.help(h))
}

func (m *model) listView() []string {
	lines := []string{m.st.title.Render("Parley · chats"), ""}
	footer := []string{}
	if m.screen == screenNewChat {
		footer = append(footer, "", "New chat with: "+m.newChat.view(max(m.width-16, 10), !m.lookingUp, m.st.cursor.Render, m.st.dim.Render("+15551234567")))
		if m.lookingUp {
			footer = append(footer, "Looking up…")
		}
		if m.newChatErr != "" {
			footer = append(footer, m.st.errText.Render(m.newChatErr))
		}
	}
	if m.screen == screenProfile {
		footer = append(footer, "", "Your profile name: "+m.profile.view(max(m.width-21, 10), true, m.st.cursor.Render, m.st.dim.Render("e.g. Alice")))
		if m.profileErr != "" {
			footer = append(footer, m.st.errText.Render(m.profileErr))
		}
	}
	help := helpList
	switch m.screen {
	case screenNewChat:
		help = helpNewChat
	case screenProfile:
		help = helpProfile
	}
	footer = append(footer, m.statusLine(), m.help(help))

	var body []string
	var selLine int
	switch {
	case !m.listLoaded:
		body = []string{m.st.dim.Render("loading…")}
	case len(m.rows) == 0:
		body = []string{"No chats yet. Press n to start one with a phone number."}
	}
	for i, r := range m.rows {
		if i == m.sel {
			selLine = len(body)
		}
		body = append(body, m.rowLines(r, i == m.sel)...)
	}
	// Keep the selected chat visible.
	room := max(m.height-len(lines)-len(footer), 2)
	if len(body) > room {
		start := min(max(0, selLine+2-room), len(body)-room)
		body = body[start : start+room]
	}
	return append(append(lines, body...), footer...)
}

func (m *model) rowLines(r convRow, selected bool) []string {
	peer := r.conv.Peer
	name := m.title(peer)
	if m.changed[peer] {
		name += " ⚠"
	}
	right := ""
	if !r.conv.LastActivity.IsZero() {
		right = stamp(r.conv.LastActivity, m.now())
	}
	if r.conv.Unread > 0 {
		right += "  " + m.st.unread.Render(fmt.Sprintf("%d unread", r.conv.Unread))
	}
	gap := max(1, m.width-2-ansi.StringWidth(name)-ansi.StringWidth(right))
	first := name + strings.Repeat(" ", gap) + right
	if selected {
		first = "▸ " + m.st.selected.Render(name) + strings.Repeat(" ", gap) + right
	} else {
		first = "  " + first
	}
	var preview string
	switch {
	case m.typingNow(peer):
		preview = m.st.typing.Render(textTyping)
	case r.last == nil:
		preview = m.st.dim.Render("no messages yet")
	default:
		preview = m.bodyText(*r.last, false)
		if r.last.Outgoing {
			preview = "You: " + preview + " " + m.receipt(*r.last)
		}
	}
	return []string{first, "    " + preview}
}

// typingNow reports whether peer is typing (and the news is fresh).
func (m *model) typingNow(peer types.AccountID) bool {
	until, ok := m.typing[peer]
	return ok && m.now().Before(until)
}

// stamp is a message time: the clock today, the day otherwise.
func stamp(t, now time.Time) string {
	t = t.Local()
	y1, m1, d1 := t.Date()
	y2, m2, d2 := now.Local().Date()
	switch {
	case y1 == y2 && m1 == m2 && d1 == d2:
		return t.Format("15:04")
	case y1 == y2:
		return t.Format("Jan 2 15:04")
	}
	return t.Format("2006-01-02 15:04")
}

// human is a timer's length as people say it: "1 week", "8 hours".
func human(d time.Duration) string {
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{7 * 24 * time.Hour, "week"}, {24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}} {
		if d >= u.d && d%u.d == 0 {
			n := int64(d / u.d)
			if n == 1 {
				return "1 " + u.name
			}
			return fmt.Sprintf("%d %ss", n, u.name)
		}
	}
	return d.String()
}

// receipt is an own message's state, in words as well as ticks so it reads
// without colours.
func (m *model) receipt(msg client.Message) string {
	switch msg.Status() {
	case clientstore.StatusRead:
		return m.st.read.Render("✓✓ read")
	case clientstore.StatusDelivered:
		return m.st.delivered.Render("✓✓ delivered")
	case clientstore.StatusSent:
		return m.st.sent.Render("✓ sent")
	}
	return m.st.sending.Render("… sending")
}

// bodyText is what a message says, on one line or several.
func (m *model) bodyText(msg client.Message, multiline bool) string {
	switch {
	case msg.Deleted:
		return m.st.meta.Render(textDeleted)
	case msg.Kind == client.KindTimer:
		if msg.Timer == 0 {
			return m.st.meta.Render("disappearing messages turned off")
		}
		return m.st.meta.Render("disappearing messages set to " + human(msg.Timer))
	case msg.Kind == client.KindMedia && msg.Media != nil:
		// The file itself is fetched with `parley recv --save-media`.
		s := m.st.meta.Render(mediaLabel(msg))
		if t := clean(msg.Text, multiline); t != "" {
			s += " " + t
		}
		return s
	case msg.Kind == client.KindUnknown:
		s := m.st.meta.Render(textUnknown)
		if t := clean(msg.Text, false); t != "" {
			s += ": " + t
		}
		return s
	}
	s := clean(msg.Text, multiline)
	if !msg.EditedAt.IsZero() {
		s += " " + m.st.meta.Render(textEdited)
	}
	return s
}

// mediaLabel is "[image photo.jpg, 1.2 MB]".
func mediaLabel(msg client.Message) string {
	kind := strings.ToLower(strings.TrimPrefix(msg.Media.GetKind().String(), "KIND_"))
	if msg.Media.GetVoiceNote() {
		kind = "voice"
	}
	s := "[" + kind
	if name := clean(msg.Media.GetFileName(), false); name != "" {
		s += " " + name
	}
	n := float64(msg.Media.GetSize())
	switch {
	case n < 1e3:
		s += fmt.Sprintf(", %.0f B]", n)
	case n < 1e6:
		s += fmt.Sprintf(", %.1f kB]", n/1e3)
	default:
		s += fmt.Sprintf(", %.1f MB]", n/1e6)
	}
	return s
}

func (m *model) convHeader() []string {
	cv := m.conv
	title := m.st.title.Render(m.title(cv.peer))
	if m.typingNow(cv.peer) {
		title += "  " + m.st.typing.Render(textTyping)
	}
	lines := []string{title}
	if m.changed[cv.peer] {
		text := "⚠ " + m.name(cv.peer) + "'s safety number changed (a new phone, a reinstall, or someone in between). Sending is blocked: press Ctrl+O to see the new safety number and acknowledge it."
		for _, l := range wrap(text, max(m.width, 20)) {
			lines = append(lines, m.st.banner.Render(l))
		}
	}
	if p := cv.safety; p != nil {
		lines = append(lines, m.safetyLines(p)...)
	}
	return lines
}

// safetyLines is the safety-number panel: 12 groups of five digits in
// three rows, to compare with the peer's screen before acknowledging.
func (m *model) safetyLines(p *safetyPanel) []string {
	w := max(m.width, 20)
	switch {
	case p.loading:
		return []string{m.st.dim.Render("computing the safety number…")}
	case p.err != nil:
		return wrap(m.st.errText.Render("cannot show the safety number: "+p.err.Error()+"; Enter acknowledges anyway"), w)
	}
	who := m.name(m.conv.peer)
	lines := wrap("Your new safety number with "+who+". Compare it with the one on "+who+"'s phone, in person or over a call you trust:", w)
	var g []string // from Digits, so any 60 digits show the same way
	for d := p.sn.Digits; len(d) >= 5; d = d[5:] {
		g = append(g, d[:5])
	}
	for i := 0; i+4 <= len(g); i += 4 {
		lines = append(lines, "    "+m.st.bold.Render(strings.Join(g[i:i+4], " ")))
	}
	return lines
}

func (m *model) convFooter() []string {
	cv := m.conv
	lines := []string{m.st.dim.Render(strings.Repeat("─", max(m.width, 20)))}
	h := helpConv
	switch {
	case cv.safety != nil:
		h = helpSafety
	case m.changed[cv.peer]:
		h = helpConvChanged
	case cv.picking:
		var opts []string
		for i, e := range reactions {
			opts = append(opts, fmt.Sprintf("%d %s", i+1, e))
		}
		lines = append(lines, "React with: "+strings.Join(opts, "  ")+"  0 take back")
		h = helpPick
	case cv.confirmDelete:
		lines = append(lines, m.st.errText.Render("Delete this message for everyone? y/n"))
		h = helpConfirm
	case cv.selecting:
		h = helpSelect
	case cv.editing != nil:
		lines = append(lines, m.st.dim.Render("✎ editing your message: "+excerptLine(m.bodyText(*cv.editing, false), m.width-26)))
		h = helpEdit
	case cv.replying != nil:
		who := m.name(cv.replying.Peer)
		if cv.replying.Outgoing {
			who = "You"
		}
		lines = append(lines, m.st.dim.Render("↪ replying to "+who+": "+excerptLine(m.bodyText(*cv.replying, false), m.width-20)))
		h = helpReply
	}
	lines = append(lines, "> "+cv.composer.view(max(m.width-3, 10), !cv.selecting && !cv.picking && !cv.confirmDelete && cv.safety == nil,
		m.st.cursor.Render, m.st.dim.Render("type a message")))
	for _, l := range wrap(cv.err, max(m.width, 20)) {
		lines = append(lines, m.st.errText.Render(l))
	}
	return append(lines, m.statusLine(), m.help(h))
}

// excerptLine cuts s to w cells.
func excerptLine(s string, w int) string { return ansi.Truncate(s, max(w, 10), "…") }

// messageRows is how many lines the messages get.
func (m *model) messageRows() int {
	return max(1, max(m.height, 5)-len(m.convHeader())-len(m.convFooter()))
}

func (m *model) convView() []string {
	cv := m.conv
	rows := m.messageRows()
	var body []string
	switch {
	case !cv.loaded:
		body = []string{m.st.dim.Render("loading…")}
	case len(cv.msgs) == 0:
		body = []string{m.st.dim.Render("No messages yet. Say hello!")}
	default:
		body = m.messageLines(cv.msgs, m.width)
		if cv.selecting {
			if i := m.selIndex(); i >= 0 {
				_, starts := m.layout(cv.msgs, m.width)
				at := starts[i]
				if cv.msgs[i].Quote != nil && !cv.msgs[i].Deleted {
					at++ // the message's own line, below the quote
				}
				body[at] = "▸ " + m.st.selected.Render(ansi.Strip(body[at]))
			}
		}
	}
	cv.scroll = min(cv.scroll, max(0, len(body)-rows))
	end := len(body) - cv.scroll
	start := max(0, end-rows)
	body = body[start:end]
	if cv.scroll > 0 && len(body) > 0 {
		body[len(body)-1] = m.st.dim.Render(fmt.Sprintf("↓ %d more lines below (PgDn)", cv.scroll))
	}
	for len(body) < rows {
		body = append([]string{""}, body...)
	}
	out := append(m.convHeader(), body...)
	return append(out, m.convFooter()...)
}

// wrap breaks s into lines of at most w cells (none for "").
func wrap(s string, w int) []string {
	if s == "" {
		return nil
	}
	return strings.Split(ansi.Wrap(s, w, ""), "\n")
}

// messageLines lays out the messages for width w, one or more lines each.
func (m *model) messageLines(msgs []client.Message, w int) []string {
	lines, _ := m.layout(msgs, w)
	return lines
}

// layout is messageLines, and the index of each message's first line.
func (m *model) layout(msgs []client.Message, w int) (out []string, starts []int) {
	w = max(w, 20)
	now := m.now()
	for _, msg := range msgs {
		starts = append(starts, len(out))
		who := m.st.peer.Render(m.name(msg.Peer))
		if msg.Outgoing {
			who = m.st.you.Render("You")
		}
		at := msg.SentAt
		if at.IsZero() {
			at = msg.ReceivedAt
		}
		if q := msg.Quote; q != nil && !msg.Deleted {
			quoted := ""
			if a, err := types.AccountIDFromBytes(q.GetTarget().GetAuthor()); err == nil {
				quoted = m.name(a) + ": "
				if a == m.self() {
					quoted = "You: "
				}
			}
			out = append(out, m.st.dim.Render("      ↪ reply to "+quoted+clean(q.Excerpt, false)))
		}
		text := m.st.dim.Render(stamp(at, now)) + " " + who + ": " + m.bodyText(msg, true)
		if msg.Outgoing && msg.Kind != client.KindTimer {
			text += "  " + m.receipt(msg)
		}
		for i, l := range strings.Split(ansi.Wrap(text, w-2, ""), "\n") {
			if i > 0 {
				l = "  " + l
			}
			out = append(out, l)
		}
		if len(msg.Reactions) > 0 && !msg.Deleted {
			var rs []string
			for _, r := range msg.Reactions {
				who := m.name(r.Reactor)
				if r.Reactor == m.self() {
					who = "You"
				}
				rs = append(rs, clean(r.Emoji, false)+" "+who)
			}
			out = append(out, "      ["+strings.Join(rs, ", ")+"]")
		}
	}
	return out, starts
}
