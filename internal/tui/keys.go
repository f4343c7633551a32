package tui

import (
	"context"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/parley-im/parley/types"
)

// Help lines, one per screen: every key the screen knows.
const (
	helpRegister     = "Tab/↑/↓ field · Enter request code · Ctrl+C quit"
	helpRegisterCode = "Enter register · Esc change number · Ctrl+C quit"
	helpList         = "↑/↓/Tab select · Enter open · n new chat · Ctrl+C quit"
	helpNewChat      = "type a phone number · Enter start chat · Esc back · Ctrl+C quit"
	helpConv         = "Enter send · ↑/↓ PgUp/PgDn scroll · Esc back · Ctrl+C quit"
	helpConvChanged  = "Ctrl+O acknowledge new safety number · Esc back · Ctrl+C quit"
)

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
			return m.open(m.rows[m.sel].conv.Peer)
		}
	case "n", "ctrl+n":
		m.screen, m.newChatErr = screenNewChat, ""
		m.newChat.set("")
	}
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
	switch k.Type {
	case tea.KeyEsc:
		var cmd tea.Cmd
		if cv.typingSent {
			cmd = m.typingCmd(cv.peer, false)
		}
		m.conv, m.screen, m.notice = nil, screenList, ""
		return tea.Batch(cmd, m.loadList())
	case tea.KeyEnter:
		text := strings.TrimSpace(cv.composer.value())
		if text == "" || cv.sending {
			return nil
		}
		if m.changed[cv.peer] {
			cv.err = "not sent: " + m.name(cv.peer) + "'s safety number changed; press Ctrl+O to acknowledge first"
			return nil
		}
		cv.composer.set("")
		cv.err, cv.scroll, cv.sending = "", 0, true
		var cmds []tea.Cmd
		if cv.typingSent {
			cv.typingSent = false
			cmds = append(cmds, m.typingCmd(cv.peer, false))
		}
		peer, c, base := cv.peer, m.c, m.ctx
		cmds = append(cmds, func() tea.Msg {
			ctx, cancel := context.WithTimeout(base, callTimeout)
			defer cancel()
			_, err := c.SendText(ctx, peer, text)
			return sendResultMsg{peer: peer, text: text, err: err}
		})
		return tea.Batch(cmds...)
	case tea.KeyCtrlO:
		if !m.changed[cv.peer] {
			return nil
		}
		peer, c, base := cv.peer, m.c, m.ctx
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(base, callTimeout)
			defer cancel()
			return ackMsg{peer: peer, err: c.AcknowledgeIdentity(ctx, peer)}
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
	if m.changed[cv.peer] {
		return nil
	}
	now := m.now()
	if strings.TrimSpace(cv.composer.value()) == "" {
		if cv.typingSent {
			cv.typingSent = false
			return m.typingCmd(cv.peer, false)
		}
		return nil
	}
	cv.lastKey = now
	var cmds []tea.Cmd
	if !cv.typingSent || now.Sub(cv.typingStarted) >= typingRefresh {
		cv.typingSent, cv.typingStarted = true, now
		cmds = append(cmds, m.typingCmd(cv.peer, true))
	}
	peer := cv.peer
	cmds = append(cmds, tea.Tick(typingPause, func(time.Time) tea.Msg { return typingPauseMsg{peer: peer, at: now} }))
	return tea.Batch(cmds...)
}
