package tui

import (
	"context"
	"errors"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/types"
)

// Help lines, one per screen: every key the screen knows.
const (
	helpRegister     = "Tab/↑/↓ field · Enter request code · Ctrl+C quit"
	helpRegisterCode = "Enter register · Esc change number · Ctrl+C quit"
	helpList         = "↑/↓/Tab select · Enter open · n new chat · g new group · i join by invite link · p profile name · Ctrl+C quit"
	helpProfile      = "type the name others see with your number · Enter save · Esc back"
	helpNewChat      = "type a phone number · Enter start chat · Esc back · Ctrl+C quit"
	helpConv         = "Enter send · Tab select · Ctrl+T send a file · ↑/↓ PgUp/PgDn scroll · Esc back · Ctrl+C quit"
	helpGroupConv    = "Enter send · Tab select · Ctrl+T send a file · Ctrl+G group info · ↑/↓ PgUp/PgDn scroll · Esc back · Ctrl+C quit"
	helpReadOnly     = "Tab select · Ctrl+G group info · ↑/↓ PgUp/PgDn scroll · Esc back · Ctrl+C quit"
	helpConvChanged  = "Ctrl+O show the new safety number · Esc back · Ctrl+C quit"
	helpSafety       = "Enter acknowledge the new safety number · Esc not now · Ctrl+C quit"
	helpSelect       = "↑/↓ select · r react · q reply · e edit · d delete · s save file · i info · Esc done"
	helpInfo         = "Esc/i close"
	helpPick         = "1-6 react · 0 take back · Esc cancel"
	helpConfirm      = "y delete for everyone · n/Esc keep"
	helpEdit         = "Enter save the edit · Esc cancel"
	helpReply        = "Enter send the reply · Esc cancel"
)

// reactions are the emoji of the picker, WhatsApp's common six.
var reactions = []string{"👍", "❤️", "😂", "😮", "😢", "🙏"}

func (m *model) registerKey(k tea.KeyMsg) tea.Cmd {
	r := &m.reg
	if r.busy {
		return nil
	}
	fields := []*lineInput{&r.server, &r.phone, &r.code}
	switch k.Type {
	case tea.KeyTab, tea.KeyDown, tea.KeyShiftTab, tea.KeyUp:
		if !r.awaitingCode {
			r.focus = 1 - r.focus // server <-> phone
		}
		return nil
	case tea.KeyEsc:
		if r.awaitingCode {
			r.awaitingCode, r.focus, r.info, r.err = false, 1, "", ""
			r.code.set("")
		}
		return nil
	case tea.KeyEnter:
		server, phone, code := strings.TrimSpace(r.server.value()), strings.TrimSpace(r.phone.value()), strings.TrimSpace(r.code.value())
		if !r.awaitingCode {
			if r.focus == 0 && phone == "" {
				r.focus = 1
				return nil
			}
			if server == "" {
				r.err, r.focus = "enter the server's URL", 0
				return nil
			}
			if _, err := types.ParsePhone(phone); err != nil {
				r.err, r.focus = "enter your number in international form, e.g. +15551234567", 1
				return nil
			}
			r.busy, r.err, r.info = true, "", "Requesting a code…"
			c, base := m.c, m.ctx
			return func() tea.Msg {
				ctx, cancel := context.WithTimeout(base, callTimeout)
				defer cancel()
				return codeRequestedMsg{err: c.RequestCode(ctx, server, phone)}
			}
		}
		if code == "" {
			r.err = "enter the code you received"
			return nil
		}
		r.busy, r.err, r.info = true, "", "Registering…"
		c, base := m.c, m.ctx
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(base, callTimeout)
			defer cancel()
			return registeredMsg{err: c.Register(ctx, server, phone, code)}
		}
	}
	fields[r.focus].handle(k)
	return nil
}

func (m *model) listKey(k tea.KeyMsg) tea.Cmd {
	switch k.String() {
	case "up", "k", "shift+tab":
		if m.sel > 0 {
			m.sel--
		}
	case "down", "j", "tab":
		if m.sel < len(m.rows)-1 {
			m.sel++
		}
	case "home":
		m.sel = 0
	case "end":
		m.sel = max(0, len(m.rows)-1)
	case "enter":
		if m.sel < len(m.rows) {
			return m.open(m.rows[m.sel].chat())
		}
	case "n", "ctrl+n":
		m.screen, m.newChatErr = screenNewChat, ""
		m.newChat.set("")
	case "g":
		m.screen, m.newGroup = screenNewGroup, newGroupForm{name: m.newGroup.name, members: m.newGroup.members}
		m.newGroup.name.set("")
		m.newGroup.members.set("")
	case "i":
		m.screen, m.join = screenJoin, joinForm{link: m.join.link}
		m.join.link.set("")
	case "p":
		m.screen, m.profileErr = screenProfile, ""
		m.profile.set(m.c.ProfileName())
	}
	return nil
}

func (m *model) profileKey(k tea.KeyMsg) tea.Cmd {
	switch k.Type {
	case tea.KeyEsc:
		m.screen = screenList
		return nil
	case tea.KeyEnter:
		name, c, base := m.profile.value(), m.c, m.ctx
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(base, callTimeout)
			defer cancel()
			return profileMsg{err: c.SetProfileName(ctx, name)}
		}
	}
	m.profile.handle(k)
	return nil
}

func (m *model) newChatKey(k tea.KeyMsg) tea.Cmd {
	switch k.Type {
	case tea.KeyEsc:
		m.screen = screenList
		return nil
	case tea.KeyEnter:
		if m.lookingUp {
			return nil
		}
		m.lookingUp, m.newChatErr = true, ""
		phone, c, base := strings.TrimSpace(m.newChat.value()), m.c, m.ctx
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(base, callTimeout)
			defer cancel()
			peer, err := c.LookupPhone(ctx, phone)
			return lookupMsg{peer: peer, err: err}
		}
	}
	m.newChat.handle(k)
	return nil
}

func (m *model) convKey(k tea.KeyMsg) tea.Cmd {
	cv := m.conv
	switch {
	case cv.safety != nil:
		return m.safetyKey(k)
	case cv.prompt != nil:
		return m.convPromptKey(k)
	case cv.details:
		if k.Type == tea.KeyEsc || k.String() == "i" || k.Type == tea.KeyEnter {
			cv.details = false
		}
		return nil
	case cv.picking:
		return m.pickKey(k)
	case cv.confirmDelete:
		return m.confirmKey(k)
	case cv.selecting:
		return m.selectKey(k)
	}
	blocked := m.changed[cv.chat.peer] && !cv.chat.isGroup()
	switch k.Type {
	case tea.KeyTab:
		if len(cv.msgs) > 0 && !blocked {
			cv.selecting, cv.err, cv.note = true, "", ""
			m.selectIndex(len(cv.msgs) - 1)
		}
		return nil
	case tea.KeyEsc:
		if cv.editing != nil || cv.replying != nil {
			if cv.editing != nil {
				cv.composer.set("")
			}
			cv.editing, cv.replying = nil, nil
			return nil
		}
		var cmd tea.Cmd
		if cv.typingSent {
			cmd = m.typingCmd(cv.chat, false)
		}
		m.conv, m.screen, m.notice = nil, screenList, ""
		return tea.Batch(cmd, m.loadList())
	case tea.KeyCtrlG:
		if cv.chat.isGroup() {
			return m.openInfo(cv.chat.group)
		}
		return nil
	case tea.KeyCtrlT:
		if why := m.cannotSend(); why != "" {
			cv.err = why
			return nil
		}
		if blocked {
			cv.err = "not sent: " + m.name(cv.chat.peer) + "'s safety number changed; press Ctrl+O to see it first"
			return nil
		}
		cv.err, cv.note = "", ""
		cv.prompt = newPrompt(promptAttach, "File to send: ", "a path, e.g. ~/photo.jpg", "")
		return nil
	case tea.KeyEnter:
		text := strings.TrimSpace(cv.composer.value())
		if text == "" || cv.sending {
			return nil
		}
		if blocked {
			cv.err = "not sent: " + m.name(cv.chat.peer) + "'s safety number changed; press Ctrl+O to see it first"
			return nil
		}
		if why := m.cannotSend(); why != "" {
			cv.err = "not sent: " + why
			return nil
		}
		cv.composer.set("")
		cv.err, cv.note, cv.scroll, cv.sending = "", "", 0, true
		var cmds []tea.Cmd
		if cv.typingSent {
			cv.typingSent = false
			cmds = append(cmds, m.typingCmd(cv.chat, false))
		}
		ch, c, base := cv.chat, m.c, m.ctx
		switch {
		case cv.editing != nil:
			target := cv.editing.Ref
			cv.editing, cv.sending = nil, false
			cmds = append(cmds, m.action(ch, "edit", text, func(ctx context.Context) error {
				_, err := c.Edit(ctx, target, text)
				return err
			}))
		case cv.replying != nil:
			target := cv.replying.Ref
			cv.replying, cv.sending = nil, false
			cmds = append(cmds, m.action(ch, "reply", text, func(ctx context.Context) error {
				_, err := c.Reply(ctx, target, text)
				return err
			}))
		default:
			cmds = append(cmds, func() tea.Msg {
				ctx, cancel := context.WithTimeout(base, callTimeout)
				defer cancel()
				var err error
				if ch.isGroup() {
					_, err = c.SendGroupText(ctx, ch.group, text)
				} else {
					_, err = c.SendText(ctx, ch.peer, text)
				}
				return sendResultMsg{chat: ch, text: text, err: err}
			})
		}
		return tea.Batch(cmds...)
	case tea.KeyCtrlO:
		if !blocked {
			return nil
		}
		// Show the new safety number first; Enter there acknowledges.
		cv.safety = &safetyPanel{loading: true}
		peer, c, base := cv.chat.peer, m.c, m.ctx
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(base, callTimeout)
			defer cancel()
			sn, err := c.SafetyNumber(ctx, peer)
			return safetyMsg{peer: peer, sn: sn, err: err}
		}
	case tea.KeyUp:
		return m.scrollBy(1)
	case tea.KeyDown:
		return m.scrollBy(-1)
	case tea.KeyPgUp:
		return m.scrollBy(max(1, m.messageRows()-1))
	case tea.KeyPgDown:
		return m.scrollBy(-max(1, m.messageRows()-1))
	}
	if m.cannotSend() != "" {
		return nil // no composer in a group one cannot send to
	}
	if _, changed := cv.composer.handle(k); changed {
		return m.composerChanged()
	}
	return nil
}

// scrollBy moves the view n lines up (negative: down); at the top it loads
// older messages.
func (m *model) scrollBy(n int) tea.Cmd {
	cv := m.conv
	total := len(m.messageLines(cv.msgs, m.width))
	top := max(0, total-m.messageRows())
	cv.scroll = min(max(0, cv.scroll+n), top)
	if n > 0 && cv.scroll == top && len(cv.msgs) >= cv.limit {
		cv.limit += m.pageSize
		return m.loadConv()
	}
	return nil
}

// composerChanged announces typing: "started" at the first key (and again
// every typingRefresh while it goes on), "stopped" after typingPause
// without a key, when the text is emptied, sent, or the chat left.
func (m *model) composerChanged() tea.Cmd {
	cv := m.conv
	if m.changed[cv.chat.peer] && !cv.chat.isGroup() {
		return nil
	}
	now := m.now()
	if strings.TrimSpace(cv.composer.value()) == "" {
		if cv.typingSent {
			cv.typingSent = false
			return m.typingCmd(cv.chat, false)
		}
		return nil
	}
	cv.lastKey = now
	var cmds []tea.Cmd
	if !cv.typingSent || now.Sub(cv.typingStarted) >= typingRefresh {
		cv.typingSent, cv.typingStarted = true, now
		cmds = append(cmds, m.typingCmd(cv.chat, true))
	}
	ch := cv.chat
	cmds = append(cmds, tea.Tick(typingPause, func(time.Time) tea.Msg { return typingPauseMsg{chat: ch, at: now} }))
	return tea.Batch(cmds...)
}

// safetyKey: the safety-number panel is open.
func (m *model) safetyKey(k tea.KeyMsg) tea.Cmd {
	cv := m.conv
	switch k.Type {
	case tea.KeyEsc:
		cv.safety = nil
	case tea.KeyEnter, tea.KeyCtrlO:
		if cv.safety.loading {
			return nil
		}
		peer, c, base := cv.chat.peer, m.c, m.ctx
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(base, callTimeout)
			defer cancel()
			return ackMsg{peer: peer, err: c.AcknowledgeIdentity(ctx, peer)}
		}
	}
	return nil
}

// selectKey: a message is selected (Tab).
func (m *model) selectKey(k tea.KeyMsg) tea.Cmd {
	cv := m.conv
	i := m.selIndex()
	if i < 0 {
		cv.selecting = false
		return nil
	}
	sel := cv.msgs[i]
	switch k.String() {
	case "esc", "tab":
		cv.selecting = false
	case "up", "k":
		if i > 0 {
			m.selectIndex(i - 1)
		} else if len(cv.msgs) >= cv.limit {
			cv.limit += m.pageSize // older messages above: load them
			return m.loadConv()
		}
	case "down", "j":
		if i < len(cv.msgs)-1 {
			m.selectIndex(i + 1)
		}
	case "r":
		if m.actionable(sel, false) {
			cv.picking = true
		}
	case "q":
		if m.actionable(sel, false) {
			cv.replying, cv.editing, cv.selecting = &sel, nil, false
		}
	case "e":
		if m.actionable(sel, true) {
			if sel.Kind != client.KindText {
				cv.err = "only text messages can be edited"
				return nil
			}
			cv.editing, cv.replying, cv.selecting = &sel, nil, false
			cv.composer.set(sel.Text)
		}
	case "d":
		if m.actionable(sel, true) {
			cv.confirmDelete = true
		}
	case "i":
		cv.err = ""
		if !sel.Outgoing || sel.Kind == client.KindGroupEvent || sel.Kind == client.KindTimer {
			cv.err = "message info is for your own messages: who got them and read them"
			return nil
		}
		cv.details = true
	case "s":
		cv.err, cv.note = "", ""
		if sel.Kind != client.KindMedia || sel.Media == nil || sel.Deleted {
			cv.err = "only files can be saved"
			return nil
		}
		cv.selecting = false
		cv.prompt = newPrompt(promptSave, "Save to: ", "", m.savePath(sel.Media))
		cv.prompt.ref, cv.prompt.media = sel.Ref, sel.Media
	}
	return nil
}

// actionable says whether msg can be reacted to, replied to (own false)
// or edited and deleted (own true), and says why not on the screen.
func (m *model) actionable(msg client.Message, own bool) bool {
	cv := m.conv
	cv.err = ""
	switch {
	case msg.Deleted:
		cv.err = "this message was deleted"
	case msg.Kind == client.KindTimer || msg.Kind == client.KindGroupEvent:
		cv.err = "this is a notice, not a message"
	case m.cannotSend() != "":
		cv.err = m.cannotSend()
	case own && !msg.Outgoing:
		cv.err = "only your own messages can be edited or deleted for everyone"
	default:
		return true
	}
	return false
}

// pickKey: the emoji picker is open for the selected message.
func (m *model) pickKey(k tea.KeyMsg) tea.Cmd {
	cv := m.conv
	if k.Type == tea.KeyEsc {
		cv.picking = false
		return nil
	}
	s := k.String()
	if len(s) != 1 || s[0] < '0' || s[0] > '0'+byte(len(reactions)) {
		return nil
	}
	i := m.selIndex()
	cv.picking, cv.selecting = false, false // done with this message
	if i < 0 {
		return nil
	}
	sel := cv.msgs[i]
	emoji := ""
	if s != "0" {
		emoji = reactions[s[0]-'1']
	}
	for _, r := range sel.Reactions {
		if r.Reactor == m.self() && r.Emoji == emoji {
			emoji = "" // the same again takes it back, as WhatsApp does
		}
	}
	c, target := m.c, sel.Ref
	return m.action(cv.chat, "reaction", "", func(ctx context.Context) error {
		_, err := c.React(ctx, target, emoji)
		return err
	})
}

// confirmKey: "delete for everyone?" is asked.
func (m *model) confirmKey(k tea.KeyMsg) tea.Cmd {
	cv := m.conv
	switch k.String() {
	case "y", "Y", "enter":
		cv.confirmDelete, cv.selecting = false, false
		i := m.selIndex()
		if i < 0 {
			return nil
		}
		c, target := m.c, cv.msgs[i].Ref
		return m.action(cv.chat, "delete", "", func(ctx context.Context) error {
			_, err := c.DeleteForEveryone(ctx, target)
			return err
		})
	case "n", "N", "esc":
		cv.confirmDelete = false
	}
	return nil
}

// action runs one client call for the conversation ch.
func (m *model) action(ch chat, what, text string, call func(context.Context) error) tea.Cmd {
	base := m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, callTimeout)
		defer cancel()
		return actionMsg{chat: ch, what: what, text: text, err: call(ctx)}
	}
}

func (m *model) onAction(msg actionMsg) tea.Cmd {
	if msg.err == nil {
		return nil
	}
	if errors.Is(msg.err, client.ErrIdentityChanged) {
		m.changed[msg.chat.peer] = true
	}
	cv := m.conv
	if cv == nil || cv.chat != msg.chat {
		m.notice = "the " + msg.what + " was not sent: " + msg.err.Error()
		return nil
	}
	if msg.text != "" && cv.composer.value() == "" {
		cv.composer.set(msg.text) // nothing was queued: keep the text
	}
	cv.err = "the " + msg.what + " was not sent: " + m.sendError(msg.chat, msg.err)
	if errors.Is(msg.err, client.ErrIdentityChanged) {
		cv.err = "not sent: " + m.sendError(msg.chat, msg.err)
	}
	return nil
}

// selIndex is the index of the selected message in the loaded page, or -1.
func (m *model) selIndex() int {
	cv := m.conv
	for i := len(cv.msgs) - 1; i >= 0; i-- {
		if cv.msgs[i].Ref == cv.selRef {
			return i
		}
	}
	return -1
}

// selectIndex selects message i and scrolls it into view.
func (m *model) selectIndex(i int) {
	cv := m.conv
	if i < 0 || i >= len(cv.msgs) {
		cv.selecting = false
		return
	}
	cv.selRef = cv.msgs[i].Ref
	lines, starts := m.layout(cv.msgs, m.width)
	total, rows := len(lines), m.messageRows()
	start, end := starts[i], total
	if i+1 < len(starts) {
		end = starts[i+1]
	}
	if top := total - cv.scroll - rows; start < top {
		cv.scroll = total - rows - start
	}
	if bottom := total - cv.scroll; end > bottom {
		cv.scroll = total - end
	}
	cv.scroll = min(max(0, cv.scroll), max(0, total-rows))
}
