package tui

import (
	"fmt"
	"slices"
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
	var body, tail []string
	switch m.screen {
	case screenRegister:
		body, tail = m.registerView()
	case screenList, screenNewChat, screenProfile, screenNewGroup, screenJoin:
		body, tail = m.listView()
	case screenConv:
		body, tail = m.convView()
	case screenGroupInfo:
		body, tail = m.infoView()
	}
	return m.fit(body, tail)
}

// fit cuts lines to the screen: each to the width, and the body to the
// height left by tail, which stays at the bottom (prompts, status, help).
func (m *model) fit(body, tail []string) string {
	w, h := max(m.width, 20), max(m.height, 5)
	room := max(h-len(tail), 0)
	if len(body) > room {
		body = body[:room]
	}
	lines := make([]string, 0, h)
	lines = append(lines, body...)
	for len(lines) < room {
		lines = append(lines, "") // pad above the tail, which stays at the bottom
	}
	lines = append(lines, tail...)
	if len(lines) > h {
		lines = lines[len(lines)-h:]
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, w, "…")
	}
	return strings.Join(lines, "\n")
}

// footer is the status line and the help below it.
func (m *model) footer(help string) []string {
	return append([]string{m.statusLine()}, m.help(help)...)
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

// help is a screen's keys, broken between items (" · ") to fit the width.
func (m *model) help(h string) []string {
	w := max(m.width, 20)
	var lines []string
	cur := ""
	for _, item := range strings.Split(h, " · ") {
		switch {
		case cur == "":
			cur = item
		case ansi.StringWidth(cur)+3+ansi.StringWidth(item) <= w:
			cur += " · " + item
		default:
			lines = append(lines, m.st.dim.Render(cur))
			cur = item
		}
	}
	return append(lines, m.st.dim.Render(cur))
}

func (m *model) registerView() (body, tail []string) {
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
	return lines, m.footer(h)
}

func (m *model) listView() (body, tail []string) {
	lines := []string{m.st.title.Render("Parley · chats"), ""}
	footer := []string{}
	switch m.screen {
	case screenNewChat:
		footer = append(footer, "", "New chat with: "+m.newChat.view(max(m.width-16, 10), !m.lookingUp, m.st.cursor.Render, m.st.dim.Render("+15551234567")))
		if m.lookingUp {
			footer = append(footer, "Looking up…")
		}
		if m.newChatErr != "" {
			footer = append(footer, m.st.errText.Render(m.newChatErr))
		}
	case screenProfile:
		footer = append(footer, "", "Your profile name: "+m.profile.view(max(m.width-21, 10), true, m.st.cursor.Render, m.st.dim.Render("e.g. Alice")))
		if m.profileErr != "" {
			footer = append(footer, m.st.errText.Render(m.profileErr))
		}
	case screenNewGroup:
		footer = append(footer, m.newGroupLines()...)
	case screenJoin:
		footer = append(footer, m.joinLines()...)
	}
	help := helpList
	switch m.screen {
	case screenNewChat:
		help = helpNewChat
	case screenProfile:
		help = helpProfile
	case screenNewGroup:
		help = helpNewGroup
	case screenJoin:
		help = helpJoin
	}
	footer = append(footer, m.footer(help)...)

	var rows []string
	var selLine int
	switch {
	case !m.listLoaded:
		rows = []string{m.st.dim.Render("loading…")}
	case len(m.rows) == 0:
		rows = []string{"No chats yet. Press n to start one with a phone number, g to make a group."}
	}
	for i, r := range m.rows {
		if i == m.sel {
			selLine = len(rows)
		}
		rows = append(rows, m.rowLines(r, i == m.sel)...)
	}
	// Keep the selected chat visible.
	room := max(max(m.height, 5)-len(lines)-len(footer), 2)
	if len(rows) > room {
		start := min(max(0, selLine+2-room), len(rows)-room)
		rows = rows[start : start+room]
	}
	return append(lines, rows...), footer
}

func (m *model) rowLines(r convRow, selected bool) []string {
	ch := r.chat()
	var name string
	if r.group != nil {
		name = m.groupTitle(r.group)
	} else {
		name = m.title(ch.peer)
		if m.changed[ch.peer] {
			name += " ⚠"
		}
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
	case m.typingText(ch) != "":
		preview = m.st.typing.Render(m.typingText(ch))
	case r.last == nil:
		preview = m.st.dim.Render("no messages yet")
	case r.last.Kind == client.KindGroupEvent:
		preview = m.st.meta.Render(m.groupLine(*r.last))
	default:
		preview = m.bodyText(*r.last, false)
		switch {
		case r.last.Outgoing:
			rc := m.receipt(*r.last)
			if r.group != nil {
				rc = m.groupReceipt(*r.last, recipientsNow(r.group, m.self()))
			}
			preview = "You: " + preview + " " + rc
		case r.group != nil:
			preview = m.senderStyle(r.last.Sender.Account).Render(m.name(r.last.Sender.Account)) + ": " + preview
		}
	}
	if r.group != nil && (r.group.Left || r.group.Role == client.RoleNone) && m.typingText(ch) == "" {
		preview = m.st.dim.Render("(not a member) ") + preview
	}
	return []string{first, "    " + preview}
}

// typingText is who is typing in ch, for a header or a preview: "typing…"
// in a direct chat, "Ana is typing…" in a group ("" if nobody is).
func (m *model) typingText(ch chat) string {
	now := m.now()
	var who []types.AccountID
	for k, until := range m.typing {
		if k.chat == ch && now.Before(until) {
			who = append(who, k.from)
		}
	}
	switch {
	case len(who) == 0:
		return ""
	case !ch.isGroup():
		return textTyping
	case len(who) == 1:
		return m.name(who[0]) + " is typing…"
	case len(who) == 2:
		a, b := m.name(who[0]), m.name(who[1])
		if a > b {
			a, b = b, a // the map's order is random; the screen's is not
		}
		return a + " and " + b + " are typing…"
	}
	return fmt.Sprintf("%d people are typing…", len(who))
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
		// The file itself is fetched on demand (s in selection mode).
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
	return s + ", " + byteSize(int64(msg.Media.GetSize())) + "]"
}

// byteSize is a size as people read it: "999 B", "2.0 kB", "1.2 MB".
func byteSize(b int64) string {
	n := float64(b)
	switch {
	case n < 1e3:
		return fmt.Sprintf("%.0f B", n)
	case n < 1e6:
		return fmt.Sprintf("%.1f kB", n/1e3)
	case n < 1e9:
		return fmt.Sprintf("%.1f MB", n/1e6)
	}
	return fmt.Sprintf("%.1f GB", n/1e9)
}

func (m *model) convHeader() []string {
	cv := m.conv
	var title string
	if cv.chat.isGroup() {
		title = m.st.title.Render(m.groupTitle(cv.group))
		if g := cv.group; g != nil {
			title += m.st.dim.Render(fmt.Sprintf(" · %d members", len(g.Members)))
		}
	} else {
		title = m.st.title.Render(m.title(cv.chat.peer))
	}
	if t := m.typingText(cv.chat); t != "" {
		title += "  " + m.st.typing.Render(t)
	}
	lines := []string{title}
	banner := func(text string) {
		for _, l := range wrap(text, max(m.width, 20)) {
			lines = append(lines, m.st.banner.Render(l))
		}
	}
	if !cv.chat.isGroup() && m.changed[cv.chat.peer] {
		banner("⚠ " + m.name(cv.chat.peer) + "'s safety number changed (a new phone, a reinstall, or someone in between). Sending is blocked: press Ctrl+O to see the new safety number and acknowledge it.")
	}
	if g := cv.group; g != nil && notMember(g) {
		banner("You are no longer a member of this group (" + m.howLeft() + "). Its history stays here; you cannot send to it.")
	}
	if p := cv.safety; p != nil {
		lines = append(lines, m.safetyLines(p)...)
	}
	return lines
}

// notMember: this account left the group or was removed from it.
func notMember(g *client.GroupInfo) bool { return g.Left || g.Role == client.RoleNone }

// howLeft says how this account came to leave the open group, from its
// history lines: "you left", "removed by Ana".
func (m *model) howLeft() string {
	self := m.self()
	msgs := m.conv.msgs
	for i := len(msgs) - 1; i >= 0; i-- {
		gc := msgs[i].GroupChange
		if msgs[i].Kind != client.KindGroupEvent || gc == nil {
			continue
		}
		switch {
		case gc.Kind == client.GroupMemberLeft && gc.Actor.Account == self:
			return "you left"
		case gc.Kind == client.GroupMembersRemoved && slices.Contains(gc.Accounts, self):
			return "removed by " + m.name(gc.Actor.Account)
		}
	}
	return "you left or were removed"
}

// cannotSend says why the open conversation takes no messages ("" if it
// does): a group one is no longer in, or one where only admins send.
func (m *model) cannotSend() string {
	g := m.conv.group
	switch {
	case g == nil:
		return ""
	case notMember(g):
		return "you are no longer a member of this group"
	case g.AnnouncementOnly && g.Role != client.RoleAdmin:
		return "only admins can send messages in this group"
	}
	return ""
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
	who := m.name(m.conv.chat.peer)
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
	lines = append(lines, m.transferLines(cv.chat)...)
	h := helpConv
	if cv.chat.isGroup() {
		h = helpGroupConv
	}
	why := m.cannotSend()
	if why != "" {
		h = helpReadOnly
	}
	switch {
	case cv.safety != nil:
		h = helpSafety
	case !cv.chat.isGroup() && m.changed[cv.chat.peer]:
		h = helpConvChanged
	case cv.prompt != nil:
		h = cv.prompt.help()
	case cv.details:
		if i := m.selIndex(); i >= 0 {
			lines = append(lines, m.receiptLines(cv.msgs, i)...)
		}
		h = helpInfo
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
		who := m.name(m.author(*cv.replying))
		if cv.replying.Outgoing {
			who = "You"
		}
		lines = append(lines, m.st.dim.Render("↪ replying to "+who+": "+excerptLine(m.bodyText(*cv.replying, false), m.width-20)))
		h = helpReply
	}
	switch {
	case cv.prompt != nil:
		lines = append(lines, cv.prompt.lines(m)...)
	case why != "":
		lines = append(lines, m.st.dim.Render("✕ "+strings.ToUpper(why[:1])+why[1:]+"."))
	default:
		lines = append(lines, "> "+cv.composer.view(max(m.width-3, 10), !cv.selecting && !cv.picking && !cv.confirmDelete && cv.safety == nil,
			m.st.cursor.Render, m.st.dim.Render("type a message")))
	}
	for _, l := range wrap(cv.note, max(m.width, 20)) {
		lines = append(lines, m.st.dim.Render(l))
	}
	for _, l := range wrap(cv.err, max(m.width, 20)) {
		lines = append(lines, m.st.errText.Render(l))
	}
	return append(lines, m.footer(h)...)
}

// excerptLine cuts s to w cells.
func excerptLine(s string, w int) string { return ansi.Truncate(s, max(w, 10), "…") }

// messageRows is how many lines the messages get.
func (m *model) messageRows() int {
	return max(1, max(m.height, 5)-len(m.convHeader())-len(m.convFooter()))
}

func (m *model) convView() (body, tail []string) {
	cv := m.conv
	rows := m.messageRows()
	var msgs []string
	switch {
	case !cv.loaded:
		msgs = []string{m.st.dim.Render("loading…")}
	case len(cv.msgs) == 0:
		msgs = []string{m.st.dim.Render("No messages yet. Say hello!")}
	default:
		msgs = m.messageLines(cv.msgs, m.width)
		if cv.selecting {
			if i := m.selIndex(); i >= 0 {
				_, starts := m.layout(cv.msgs, m.width)
				at := starts[i]
				if cv.msgs[i].Quote != nil && !cv.msgs[i].Deleted {
					at++ // the message's own line, below the quote
				}
				msgs[at] = "▸ " + m.st.selected.Render(ansi.Strip(msgs[at]))
			}
		}
	}
	cv.scroll = min(cv.scroll, max(0, len(msgs)-rows))
	end := len(msgs) - cv.scroll
	start := max(0, end-rows)
	msgs = msgs[start:end]
	if cv.scroll > 0 && len(msgs) > 0 {
		msgs[len(msgs)-1] = m.st.dim.Render(fmt.Sprintf("↓ %d more lines below (PgDn)", cv.scroll))
	}
	for len(msgs) < rows {
		msgs = append([]string{""}, msgs...)
	}
	return append(m.convHeader(), msgs...), m.convFooter()
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

// author is the account that wrote msg.
func (m *model) author(msg client.Message) types.AccountID {
	switch {
	case msg.Outgoing:
		return m.self()
	case !msg.Group.IsZero():
		return msg.Sender.Account
	}
	return msg.Peer
}

// layout is messageLines, and the index of each message's first line.
func (m *model) layout(msgs []client.Message, w int) (out []string, starts []int) {
	w = max(w, 20)
	now := m.now()
	var groupReceipts []string
	if cv := m.conv; cv != nil && cv.group != nil && cv.chat.isGroup() {
		g := cv.group
		groupReceipts = m.groupReceipts(msgs, g)
	}
	for i, msg := range msgs {
		starts = append(starts, len(out))
		at := msg.SentAt
		if at.IsZero() {
			at = msg.ReceivedAt
		}
		if msg.Kind == client.KindGroupEvent {
			text := m.st.dim.Render(stamp(at, now)) + " " + m.st.meta.Render("· "+m.groupLine(msg))
			for j, l := range strings.Split(ansi.Wrap(text, w-2, ""), "\n") {
				if j > 0 {
					l = "  " + l
				}
				out = append(out, l)
			}
			continue
		}
		var who string
		switch {
		case msg.Outgoing:
			who = m.st.you.Render("You")
		case !msg.Group.IsZero():
			who = m.senderStyle(msg.Sender.Account).Render(m.name(msg.Sender.Account))
		default:
			who = m.st.peer.Render(m.name(msg.Peer))
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
			if groupReceipts != nil {
				text += "  " + groupReceipts[i]
			} else {
				text += "  " + m.receipt(msg)
			}
		}
		for j, l := range strings.Split(ansi.Wrap(text, w-2, ""), "\n") {
			if j > 0 {
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
