// Package tui is Parley's terminal chat (`parley chat`): a Bubble Tea
// program over the client SDK with a registration screen for a new
// profile, the chat list (direct and group chats, unread counts, newest
// first, new chats by phone number, new groups, joining by invite link), a
// conversation view (receipts, edits, deletes, reactions, typing
// indicators, group members' names and the group's history lines, the
// identity-change banner with the new safety number, a composer, files
// sent and saved with a progress bar, and a selection mode to react to,
// reply to, edit, delete or save a message) and a group's info screen
// (members, admins, settings, invite link, leaving).
//
// The model never blocks: every client call runs in a tea.Cmd and comes
// back as a message, and the client's event stream is forwarded into the
// program by Run. After any event that can change what is shown, the
// visible data is reloaded from the local store, which is the single
// source of truth (cheap at a chat's sizes, and it cannot drift from the
// history the way an incrementally patched copy could).
package tui

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/types"
)

// Options configure Run.
type Options struct {
	// In is the keyboard (default os.Stdin); put in raw mode if it is a
	// terminal.
	In io.Reader
	// Out is the screen (default os.Stdout).
	Out io.Writer
	// ServerURL prefills the registration screen.
	ServerURL string
}

const (
	typingPause   = 3 * time.Second  // "stopped typing" after this long without a key
	typingRefresh = 10 * time.Second // re-announce while still typing, before the peer's indicator expires
	typingTTL     = 15 * time.Second // a peer's indicator goes without news (a lost "stopped")
	callTimeout   = 30 * time.Second
)

// Run shows the chat on opts.Out until the user quits (Ctrl+C) or ctx
// ends. c must not be read by anyone else: Run consumes c.Events(). A
// registered client is connected at once; an unregistered one after the
// registration screen.
func Run(ctx context.Context, c *client.Client, opts Options) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in, out := opts.In, opts.Out
	if in == nil {
		in = os.Stdin
	}
	if out == nil {
		out = os.Stdout
	}
	m := newModel(ctx, c, opts.ServerURL, newStyles(lipgloss.NewRenderer(out)))
	if m.screen != screenRegister {
		if err := c.Connect(); err != nil {
			return err
		}
	}
	p := tea.NewProgram(m, tea.WithInput(in), tea.WithOutput(out), tea.WithContext(ctx), tea.WithAltScreen())
	go func() {
		for {
			select {
			case e, ok := <-c.Events():
				if !ok {
					p.Send(eventsClosedMsg{})
					return
				}
				p.Send(eventMsg{e})
			case <-ctx.Done():
				return
			}
		}
	}()
	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

type screen uint8

const (
	screenRegister screen = iota
	screenList
	screenNewChat
	screenConv
	screenProfile
	screenNewGroup
	screenJoin
	screenGroupInfo
)

// chat names a conversation: the peer of a direct one, or a group.
type chat struct {
	peer  types.AccountID
	group types.GroupID
}

func directChat(a types.AccountID) chat { return chat{peer: a} }
func groupChat(g types.GroupID) chat    { return chat{group: g} }
func (c chat) isGroup() bool            { return !c.group.IsZero() }

// chatOf is the conversation a message belongs to.
func chatOf(msg client.Message) chat {
	if !msg.Group.IsZero() {
		return groupChat(msg.Group)
	}
	return directChat(msg.Peer)
}

// typingKey is someone typing in a chat (a direct chat's peer, or one
// member of a group).
type typingKey struct {
	chat chat
	from types.AccountID
}

// Messages coming back into Update.
type (
	eventMsg        struct{ ev client.Event }
	eventsClosedMsg struct{}
	listMsg         struct {
		gen      int
		rows     []convRow
		contacts map[types.AccountID]clientstore.Contact
		changed  map[types.AccountID]bool
		err      error
	}
	convMsg struct {
		chat  chat
		gen   int
		msgs  []client.Message
		group *client.GroupInfo
		err   error
	}
	codeRequestedMsg struct{ err error }
	registeredMsg    struct{ err error }
	lookupMsg        struct {
		peer types.AccountID
		err  error
	}
	sendResultMsg struct {
		chat chat
		text string
		err  error
	}
	ackMsg struct {
		peer types.AccountID
		err  error
	}
	readMsg        struct{ err error }
	typingPauseMsg struct {
		chat chat
		at   time.Time
	}
	typingExpireMsg struct{}
	// actionMsg: a reaction, reply, edit or delete was queued (or not).
	actionMsg struct {
		chat chat
		what string // "reaction", "reply", "edit", "delete"
		text string // a reply's or edit's text, to keep on failure
		err  error
	}
	profileMsg struct{ err error }
	safetyMsg  struct {
		peer types.AccountID
		sn   client.SafetyNumber
		err  error
	}
)

// convRow is one line of the chat list.
type convRow struct {
	conv  clientstore.Conversation
	group *client.GroupInfo // a group chat's group; nil for a direct one
	last  *client.Message
}

func (r convRow) chat() chat {
	if r.group != nil {
		return groupChat(r.group.ID)
	}
	return directChat(r.conv.Peer)
}

type registerForm struct {
	server, phone, code lineInput
	focus               int // 0 server, 1 phone, 2 code
	awaitingCode        bool
	busy                bool
	info, err           string
}

// convView is the open conversation.
type convView struct {
	chat chat
	// group is a group chat's group as this device verified it (nil for
	// a direct chat, and until loaded).
	group    *client.GroupInfo
	msgs     []client.Message
	loaded   bool
	limit    int
	gen      int // last load requested
	applied  int // last load shown
	scroll   int // lines above the bottom
	composer lineInput
	err      string
	note     string // news that is not an error ("saved to ...")
	sending  bool
	// Our typing announcements to the chat.
	typingSent    bool
	typingStarted time.Time
	lastKey       time.Time

	// Selection mode (Tab): the selected message, by ref so that it
	// survives reloads; picking an emoji or confirming a delete for it.
	selecting     bool
	selRef        clientstore.MessageRef
	picking       bool
	confirmDelete bool
	details       bool // the selected message's receipts, per recipient
	// The composer edits or replies to this message (nil: a new one).
	editing  *client.Message
	replying *client.Message
	// The safety-number panel of a changed identity (nil: closed).
	safety *safetyPanel
	// A question at the bottom: the file to send, its caption, where to
	// save a file (nil: none).
	prompt *prompt
}

// safetyPanel shows the new safety number before the change is
// acknowledged.
type safetyPanel struct {
	loading bool
	sn      client.SafetyNumber
	err     error
}

type model struct {
	ctx context.Context
	c   *client.Client
	st  styles
	now func() time.Time

	width, height int
	screen        screen

	conn     client.ConnState
	synced   bool
	connErr  error
	notice   string
	fatal    bool
	closedEv bool

	reg registerForm

	rows        []convRow
	sel         int
	listGen     int
	listApplied int
	listLoaded  bool
	contacts    map[types.AccountID]clientstore.Contact
	newChat     lineInput
	newChatErr  string
	profile     lineInput // the profile name being edited (screenProfile)
	profileErr  string
	lookingUp   bool
	newGroup    newGroupForm
	join        joinForm

	conv     *convView
	info     *infoView // the group info screen (screenGroupInfo)
	pageSize int       // messages loaded at once; scrolling past the top loads more

	// Files being sent or saved, oldest first.
	transfers    []*transfer
	lastTransfer int
	// downloadDir is where files are saved unless the user says otherwise.
	downloadDir string

	typing  map[typingKey]time.Time  // who is typing where, until
	changed map[types.AccountID]bool // identity changed, not acknowledged
}

func newModel(ctx context.Context, c *client.Client, serverURL string, st styles) *model {
	m := &model{ctx: ctx, c: c, st: st, now: time.Now, width: 80, height: 24, pageSize: 200,
		contacts: map[types.AccountID]clientstore.Contact{}, downloadDir: defaultDownloadDir(),
		typing: map[typingKey]time.Time{}, changed: map[types.AccountID]bool{}}
	m.reg.server.set(serverURL)
	m.reg.phone.limit, m.reg.code.limit, m.newChat.limit, m.profile.limit = 20, 20, 20, 64
	m.newGroup.name.limit, m.newGroup.members.limit, m.join.link.limit = client.MaxGroupName, 2000, 400
	if c.Account().ID.IsZero() {
		m.screen = screenRegister
		if serverURL != "" {
			m.reg.focus = 1
		}
	} else {
		m.screen = screenList
		m.conn = client.Connecting
	}
	return m
}

func (m *model) Init() tea.Cmd {
	if m.screen == screenList {
		return m.loadList()
	}
	return nil
}

func (m *model) self() types.AccountID { return m.c.Account().ID }

func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m, nil
	case tea.KeyMsg:
		if msg.Type == tea.KeyCtrlC {
			if cv := m.conv; cv != nil && cv.typingSent {
				cv.typingSent = false
				return m, tea.Sequence(m.typingCmd(cv.chat, false), tea.Quit)
			}
			return m, tea.Quit
		}
		switch m.screen {
		case screenRegister:
			return m, m.registerKey(msg)
		case screenList:
			return m, m.listKey(msg)
		case screenNewChat:
			return m, m.newChatKey(msg)
		case screenProfile:
			return m, m.profileKey(msg)
		case screenConv:
			return m, m.convKey(msg)
		case screenNewGroup:
			return m, m.newGroupKey(msg)
		case screenJoin:
			return m, m.joinKey(msg)
		case screenGroupInfo:
			return m, m.infoKey(msg)
		}
	case eventMsg:
		return m, m.onEvent(msg.ev)
	case eventsClosedMsg:
		m.closedEv = true
		m.conn = client.Disconnected
		return m, nil
	case listMsg:
		if msg.gen <= m.listApplied {
			return m, nil
		}
		m.listApplied = msg.gen
		if msg.err != nil {
			m.notice = "cannot load chats: " + msg.err.Error()
			return m, nil
		}
		var selChat chat
		if m.sel < len(m.rows) {
			selChat = m.rows[m.sel].chat()
		}
		m.rows, m.contacts, m.changed, m.listLoaded = msg.rows, msg.contacts, msg.changed, true
		m.sel = 0
		for i, r := range m.rows {
			if r.chat() == selChat {
				m.sel = i
			}
		}
		return m, nil
	case convMsg:
		cv := m.conv
		if cv == nil || cv.chat != msg.chat || msg.gen <= cv.applied {
			return m, nil
		}
		cv.applied = msg.gen
		if msg.err != nil {
			cv.err = "cannot load messages: " + msg.err.Error()
			return m, nil
		}
		cv.msgs, cv.loaded = msg.msgs, true
		if msg.group != nil {
			cv.group = msg.group
		}
		if cv.selecting && m.selIndex() < 0 {
			m.selectIndex(len(cv.msgs) - 1) // the selected message went (deleted for me, expired)
		}
		return m, nil
	case codeRequestedMsg:
		m.reg.busy = false
		if msg.err != nil {
			m.reg.err = "could not request a code: " + msg.err.Error()
			return m, nil
		}
		m.reg.awaitingCode, m.reg.focus, m.reg.err = true, 2, ""
		m.reg.info = "A code was sent to " + m.reg.phone.value() + ". Enter it below."
		return m, nil
	case registeredMsg:
		m.reg.busy = false
		if msg.err != nil {
			m.reg.err = "registration failed: " + msg.err.Error()
			return m, nil
		}
		m.screen, m.conn = screenList, client.Connecting
		if err := m.c.Connect(); err != nil {
			m.notice = "cannot connect: " + err.Error()
		}
		return m, m.loadList()
	case lookupMsg:
		m.lookingUp = false
		if m.screen != screenNewChat {
			return m, nil
		}
		if msg.err != nil {
			if errors.Is(msg.err, client.ErrInvalid) {
				m.newChatErr = "not a phone number; use the international form, e.g. +15551234567"
			} else {
				m.newChatErr = "no chat possible with " + m.newChat.value() + ": " + msg.err.Error()
			}
			return m, nil
		}
		return m, m.open(directChat(msg.peer))
	case sendResultMsg:
		cv := m.conv
		if cv != nil && cv.chat == msg.chat {
			cv.sending = false
		}
		if msg.err == nil {
			return m, nil
		}
		if errors.Is(msg.err, client.ErrIdentityChanged) {
			m.changed[msg.chat.peer] = true
		}
		if cv != nil && cv.chat == msg.chat {
			if cv.composer.value() == "" {
				cv.composer.set(msg.text) // nothing was queued: keep the text to send again
			}
			cv.err = "not sent: " + m.sendError(msg.chat, msg.err)
		}
		return m, nil
	case actionMsg:
		return m, m.onAction(msg)
	case profileMsg:
		if msg.err != nil {
			m.profileErr = "not saved: " + msg.err.Error()
			return m, nil
		}
		if m.screen == screenProfile {
			m.screen = screenList
		}
		return m, nil
	case safetyMsg:
		if cv := m.conv; cv != nil && cv.chat == directChat(msg.peer) && cv.safety != nil {
			cv.safety.loading, cv.safety.sn, cv.safety.err = false, msg.sn, msg.err
		}
		return m, nil
	case ackMsg:
		if msg.err != nil {
			m.notice = "cannot acknowledge: " + msg.err.Error()
			return m, nil
		}
		delete(m.changed, msg.peer)
		if m.conv != nil && m.conv.chat == directChat(msg.peer) {
			m.conv.err, m.conv.safety = "", nil
		}
		return m, m.loadList()
	case readMsg:
		if msg.err != nil {
			m.notice = "cannot mark read: " + msg.err.Error()
		}
		return m, m.loadList()
	case typingPauseMsg:
		cv := m.conv
		if cv != nil && cv.chat == msg.chat && cv.typingSent && cv.lastKey.Equal(msg.at) {
			cv.typingSent = false
			return m, m.typingCmd(cv.chat, false)
		}
		return m, nil
	case typingExpireMsg:
		now := m.now()
		for k, until := range m.typing {
			if !now.Before(until) {
				delete(m.typing, k)
			}
		}
		return m, nil
	case groupCreatedMsg:
		return m, m.onGroupCreated(msg)
	case joinedMsg:
		return m, m.onJoined(msg)
	case groupInfoMsg:
		m.onGroupInfo(msg)
		return m, nil
	case groupActionMsg:
		return m, m.onGroupAction(msg)
	case transferMsg:
		return m, m.onTransfer(msg)
	case transferDoneMsg:
		return m, m.onTransferDone(msg)
	}
	return m, nil
}

// sendError says why a message to ch was not sent, in the user's terms.
func (m *model) sendError(ch chat, err error) string {
	switch {
	case errors.Is(err, client.ErrIdentityChanged):
		return m.name(ch.peer) + "'s safety number changed; press Ctrl+O to see it first"
	case errors.Is(err, client.ErrNotMember):
		return "you are no longer a member of this group"
	case errors.Is(err, client.ErrNotAdmin):
		return "only admins can send messages in this group"
	}
	return err.Error()
}

func (m *model) onEvent(ev client.Event) tea.Cmd {
	switch e := ev.(type) {
	case client.ConnectionEvent:
		m.conn, m.connErr = e.State, e.Err
		m.synced = e.Synced || (m.synced && e.State == client.Connected)
		if errors.Is(e.Err, client.ErrDeviceGone) || errors.Is(e.Err, client.ErrReplaced) {
			m.fatal = true
		}
		return nil
	case client.TypingEvent:
		if e.From.Account == m.self() {
			return nil
		}
		k := typingKey{chat: directChat(e.From.Account), from: e.From.Account}
		if !e.Group.IsZero() {
			k.chat = groupChat(e.Group)
		}
		if !e.Started {
			delete(m.typing, k)
			return nil
		}
		m.typing[k] = m.now().Add(typingTTL)
		return tea.Tick(typingTTL+50*time.Millisecond, func(time.Time) tea.Msg { return typingExpireMsg{} })
	case client.MessageEvent:
		msg := e.Message
		ch := chatOf(msg)
		if !msg.Outgoing {
			delete(m.typing, typingKey{chat: ch, from: msg.Sender.Account}) // a message ends its sender's typing
			if !ch.isGroup() {
				delete(m.typing, typingKey{chat: ch, from: msg.Peer})
			}
		}
		cmds := []tea.Cmd{m.loadList()}
		if m.conv != nil && m.conv.chat == ch {
			cmds = append(cmds, m.loadConv())
			if !msg.Outgoing {
				cmds = append(cmds, m.markRead(ch))
			}
		}
		return tea.Batch(cmds...)
	case client.SendFailedEvent:
		to := m.name(e.To)
		if !e.Group.IsZero() {
			to = m.groupName(e.Group)
		}
		m.notice = "a message to " + to + " was refused: " + errString(e.Err)
	case client.IdentityChangedEvent:
		m.changed[e.Account] = true
	case client.UndecryptableEvent:
		m.notice = "a message from " + m.name(e.From.Account) + " could not be decrypted"
		return nil
	case client.GroupRejectedEvent:
		m.notice = "a change to " + m.groupName(e.Group) + " was refused: it does not verify"
		return nil
	case client.GroupEvent:
		return tea.Batch(m.loadList(), m.loadConv(), m.loadInfo())
	case client.UpdateEvent, client.ReceiptEvent, client.SentEvent, client.ContactEvent:
	default:
		return nil
	}
	return tea.Batch(m.loadList(), m.loadConv())
}

func errString(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}

// Commands. Each captures what it needs; none touches the model.

func (m *model) callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(m.ctx, callTimeout)
}

func (m *model) loadList() tea.Cmd {
	m.listGen++
	gen, c, base := m.listGen, m.c, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, callTimeout)
		defer cancel()
		out := listMsg{gen: gen, contacts: map[types.AccountID]clientstore.Contact{}, changed: map[types.AccountID]bool{}}
		chats, err := c.Chats(ctx) // with each chat's newest message: no query per chat
		if err != nil {
			out.err = err
			return out
		}
		for _, ch := range chats {
			out.rows = append(out.rows, convRow{conv: ch.Conversation, group: ch.Group, last: ch.Last})
		}
		cts, err := c.Store().Contacts(ctx)
		if err != nil {
			out.err = err
			return out
		}
		for _, ct := range cts {
			out.contacts[ct.Account] = ct
		}
		ids, err := c.ChangedIdentities(ctx)
		if err != nil {
			out.err = err
			return out
		}
		for _, id := range ids {
			if a, err := types.ParseAccountID(id.Address.Name); err == nil {
				out.changed[a] = true
			}
		}
		return out
	}
}

// loadConv reloads the open conversation (and a group's members and
// settings with it).
func (m *model) loadConv() tea.Cmd {
	cv := m.conv
	if cv == nil {
		return nil
	}
	cv.gen++
	gen, ch, limit, c, base := cv.gen, cv.chat, cv.limit, m.c, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, callTimeout)
		defer cancel()
		if !ch.isGroup() {
			msgs, err := c.Messages(ctx, ch.peer, 0, limit)
			return convMsg{chat: ch, gen: gen, msgs: msgs, err: err}
		}
		info, err := c.Group(ctx, ch.group)
		if err != nil {
			return convMsg{chat: ch, gen: gen, err: err}
		}
		msgs, err := c.GroupMessages(ctx, ch.group, 0, limit)
		return convMsg{chat: ch, gen: gen, msgs: msgs, group: &info, err: err}
	}
}

func (m *model) markRead(ch chat) tea.Cmd {
	c, base := m.c, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, callTimeout)
		defer cancel()
		if ch.isGroup() {
			return readMsg{err: c.MarkReadGroup(ctx, ch.group)}
		}
		return readMsg{err: c.MarkRead(ctx, ch.peer)}
	}
}

func (m *model) typingCmd(ch chat, started bool) tea.Cmd {
	c, base := m.c, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, 5*time.Second)
		defer cancel()
		// Best effort: typing is ephemeral, offline or blocked peers
		// simply do not see it.
		if ch.isGroup() {
			_ = c.TypingGroup(ctx, ch.group, started)
		} else {
			_ = c.Typing(ctx, ch.peer, started)
		}
		return nil
	}
}

// open shows the conversation ch and marks it read.
func (m *model) open(ch chat) tea.Cmd {
	m.conv = &convView{chat: ch, limit: m.pageSize}
	m.screen, m.notice = screenConv, ""
	for _, r := range m.rows {
		if r.group != nil && r.chat() == ch {
			m.conv.group = r.group // shown until the conversation's own load
		}
	}
	return tea.Batch(m.loadConv(), m.markRead(ch), m.loadList())
}

// name is how an account is shown: the name the user gave the contact;
// else its number (confirmed by the directory) with the name the contact
// chose as "~name", as WhatsApp does; else that name with the start of
// the account id, as the number is not known.
func (m *model) name(a types.AccountID) string {
	if a.IsZero() {
		return "your devices"
	}
	ct, ok := m.contacts[a]
	profile := ""
	if p := clean(strings.TrimSpace(ct.ProfileName), false); ok && p != "" {
		profile = "~" + p
	}
	switch {
	case ok && strings.TrimSpace(ct.Name) != "":
		return clean(ct.Name, false)
	case ok && ct.Phone != "" && profile != "":
		return ct.Phone + " " + profile
	case ok && ct.Phone != "":
		return ct.Phone
	case profile != "":
		return profile + " (" + a.String()[:8] + ")"
	}
	return "unknown contact " + a.String()[:8]
}

// title adds the number to a contact the user named.
func (m *model) title(a types.AccountID) string {
	n := m.name(a)
	if ct, ok := m.contacts[a]; ok && ct.Phone != "" && !strings.Contains(n, ct.Phone) {
		return n + " (" + ct.Phone + ")"
	}
	return n
}
