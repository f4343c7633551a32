package tui

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/types"
)

// Help lines of the group screens.
const (
	helpNewGroup    = "Tab/↑/↓ field · Enter create the group · Esc back · Ctrl+C quit"
	helpJoin        = "paste a parley://join/ link · Enter join · Esc back · Ctrl+C quit"
	helpInfoAdmin   = "↑/↓ select · a add member · r remove · m admin on/off · n rename · e description · o only admins send on/off · i invite link · x revoke link · l leave · Esc back"
	helpInfoMember  = "↑/↓ select · l leave the group · Esc back · Ctrl+C quit"
	helpInfoGone    = "Esc back · Ctrl+C quit"
	helpInfoConfirm = "y yes · n/Esc no"
)

// Results of group calls.
type (
	groupCreatedMsg struct {
		g   types.GroupID
		err error
	}
	joinedMsg struct {
		g   types.GroupID
		err error
	}
	groupInfoMsg struct {
		g    types.GroupID
		gen  int
		info client.GroupInfo
		err  error
	}
	// groupActionMsg: a change to a group was made (or not).
	groupActionMsg struct {
		g    types.GroupID
		done string // what to say when it worked: "Bob was added"
		err  error
	}
)

// newGroupForm is the new-group question under the chat list.
type newGroupForm struct {
	name, members lineInput
	focus         int // 0 name, 1 members
	busy          bool
	err           string
}

// joinForm asks for an invite link under the chat list.
type joinForm struct {
	link lineInput
	busy bool
	err  string
}

// infoView is the group info screen.
type infoView struct {
	group   types.GroupID
	g       *client.GroupInfo // nil until loaded
	gen     int
	applied int
	sel     int // the selected member, in members() order
	prompt  *prompt
	// confirm is a yes/no question before a change that cannot be taken
	// back at once ("" none); onYes makes the change.
	confirm string
	onYes   func() tea.Cmd
	busy    string // the change under way
	err     string
	note    string
}

// groupTitle is how a group is shown: its name, or, until the group
// secret opened its attributes, the start of its id.
func (m *model) groupTitle(g *client.GroupInfo) string {
	if g == nil {
		return "group"
	}
	if n := clean(strings.TrimSpace(g.Name), false); n != "" {
		return n
	}
	return "group " + g.ID.String()[:8]
}

// groupName names group g from the chat list ("a group" if not listed).
func (m *model) groupName(g types.GroupID) string {
	for _, r := range m.rows {
		if r.group != nil && r.group.ID == g {
			return m.groupTitle(r.group)
		}
	}
	if cv := m.conv; cv != nil && cv.group != nil && cv.group.ID == g {
		return m.groupTitle(cv.group)
	}
	return "a group"
}

// groupLine is a group history line for people: "Ana added Ben".
func (m *model) groupLine(msg client.Message) string {
	gc := msg.GroupChange
	if gc == nil {
		return clean(msg.Text, false)
	}
	self := m.self()
	s := gc.Describe(func(a types.AccountID) string {
		if a == self {
			return "you"
		}
		return m.name(a)
	})
	if gc.Actor.Account == self {
		s = "You" + strings.TrimPrefix(s, "you")
	}
	return clean(s, false)
}

// senderStyle is the colour of a group member's name, the same for one
// account everywhere.
func (m *model) senderStyle(a types.AccountID) lipgloss.Style {
	if len(m.st.senders) == 0 {
		return m.st.peer
	}
	h := fnv.New32a()
	h.Write(a[:])
	return m.st.senders[h.Sum32()%uint32(len(m.st.senders))]
}

// recipientsNow is who a message sent to g now goes to: its members but
// this account.
func recipientsNow(g *client.GroupInfo, self types.AccountID) map[types.AccountID]bool {
	out := make(map[types.AccountID]bool, len(g.Members))
	for _, mem := range g.Members {
		if mem.Account != self {
			out[mem.Account] = true
		}
	}
	return out
}

// groupReceipts is the receipt of each outgoing message in msgs (oldest
// first), counted against the members the group had when it was sent:
// the membership now, with the history lines after the message undone.
func (m *model) groupReceipts(msgs []client.Message, g *client.GroupInfo) []string {
	out := make([]string, len(msgs))
	members := recipientsNow(g, m.self())
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Kind == client.KindGroupEvent {
			m.undoChange(members, msgs[i].GroupChange)
		} else if msgs[i].Outgoing {
			out[i] = m.groupReceipt(msgs[i], members)
		}
	}
	return out
}

// recipientsAt is who msgs[i] went to: the group's members then but us.
func (m *model) recipientsAt(msgs []client.Message, i int, g *client.GroupInfo) map[types.AccountID]bool {
	members := recipientsNow(g, m.self())
	for j := len(msgs) - 1; j > i; j-- {
		if msgs[j].Kind == client.KindGroupEvent {
			m.undoChange(members, msgs[j].GroupChange)
		}
	}
	return members
}

// undoChange turns the membership after a group change into the one
// before it.
func (m *model) undoChange(members map[types.AccountID]bool, gc *client.GroupChange) {
	if gc == nil {
		return
	}
	self := m.self()
	switch gc.Kind {
	case client.GroupMembersAdded, client.GroupCreated:
		for _, a := range gc.Accounts {
			delete(members, a)
		}
	case client.GroupMemberJoined:
		delete(members, gc.Actor.Account)
	case client.GroupMembersRemoved:
		for _, a := range gc.Accounts {
			if a != self {
				members[a] = true
			}
		}
	case client.GroupMemberLeft:
		if gc.Actor.Account != self {
			members[gc.Actor.Account] = true
		}
	}
}

// receiptLines is the message info panel of an own message: each
// recipient and how far the message got with them.
func (m *model) receiptLines(msgs []client.Message, i int) []string {
	cv := m.conv
	msg := msgs[i]
	var recipients map[types.AccountID]bool
	if g := cv.group; g != nil && cv.chat.isGroup() {
		recipients = m.recipientsAt(msgs, i, g)
	} else {
		recipients = map[types.AccountID]bool{cv.chat.peer: true}
	}
	got := map[types.AccountID]clientstore.Receipt{}
	for _, r := range msg.Receipts {
		if old, ok := got[r.Recipient]; !ok || r.Status > old.Status {
			got[r.Recipient] = r
		}
	}
	type row struct {
		name string
		r    clientstore.Receipt
	}
	var rows []row
	for a := range recipients {
		rows = append(rows, row{m.name(a), got[a]})
	}
	slices.SortFunc(rows, func(a, b row) int {
		if a.r.Status != b.r.Status {
			return int(b.r.Status) - int(a.r.Status)
		}
		return strings.Compare(a.name, b.name)
	})
	lines := []string{m.st.bold.Render("Message info: ") + excerptLine(m.bodyText(msg, false), m.width-16)}
	now := m.now()
	nameW := 0
	for _, r := range rows {
		nameW = max(nameW, ansi.StringWidth(r.name))
	}
	nameW = min(nameW, max(m.width/2, 10))
	// A big group's list must leave the conversation some room.
	more := 0
	if limit := max(3, max(m.height, 5)/2-2); len(rows) > limit {
		more, rows = len(rows)-limit, rows[:limit]
	}
	for _, r := range rows {
		when := ""
		if !r.r.At.IsZero() {
			when = " " + stamp(r.r.At, now)
		}
		state := m.st.sent.Render("✓ not delivered yet")
		switch {
		case r.r.Status >= clientstore.StatusRead:
			state = m.st.read.Render("✓✓ read" + when)
		case r.r.Status >= clientstore.StatusDelivered:
			state = m.st.delivered.Render("✓✓ delivered" + when)
		case len(msg.Receipts) == 0:
			state = m.st.sending.Render("… not sent yet")
		}
		name := ansi.Truncate(r.name, nameW, "…")
		lines = append(lines, "  "+name+strings.Repeat(" ", nameW-ansi.StringWidth(name)+2)+state)
	}
	if more > 0 {
		lines = append(lines, m.st.dim.Render(fmt.Sprintf("  … and %d more", more)))
	}
	if len(rows) == 0 {
		lines = append(lines, m.st.dim.Render("  nobody else was in the group"))
	}
	return lines
}

// groupReceipt is an own group message's state: sent to the server, then
// delivered to and read by how many of the recipients.
func (m *model) groupReceipt(msg client.Message, recipients map[types.AccountID]bool) string {
	sent := false
	got := map[types.AccountID]clientstore.Status{}
	for _, r := range msg.Receipts {
		if r.Recipient.IsZero() {
			sent = true // the server took it for every member device
			continue
		}
		got[r.Recipient] = max(got[r.Recipient], r.Status)
	}
	if !sent && len(got) == 0 {
		return m.st.sending.Render("… sending")
	}
	n, delivered, read := len(recipients), 0, 0
	for a := range recipients {
		if got[a] >= clientstore.StatusDelivered {
			delivered++
		}
		if got[a] >= clientstore.StatusRead {
			read++
		}
	}
	switch {
	case n == 0:
		return m.st.sent.Render("✓ sent")
	case read == n:
		return m.st.read.Render("✓✓ read by all")
	case delivered == n && read > 0:
		return m.st.delivered.Render(fmt.Sprintf("✓✓ delivered to all, read by %d of %d", read, n))
	case delivered == n:
		return m.st.delivered.Render("✓✓ delivered to all")
	case delivered > 0:
		return m.st.sent.Render(fmt.Sprintf("✓ sent, delivered to %d of %d", delivered, n))
	}
	return m.st.sent.Render("✓ sent")
}

// groupError says what went wrong with a group call, in the user's terms.
func groupError(err error) string {
	switch {
	case errors.Is(err, client.ErrNotAdmin):
		return "only admins of the group can do that"
	case errors.Is(err, client.ErrNotMember):
		return "you are no longer a member of this group"
	case errors.Is(err, client.ErrBadInvite):
		return "this invite link does not work (it may have been revoked or replaced): " + err.Error()
	case errors.Is(err, client.ErrUnknownPhone):
		return "nobody uses Parley with that number"
	case errors.Is(err, client.ErrNotConnected):
		return "not connected to the server; try again when connected"
	}
	return err.Error()
}

// New group, from the chat list (g).

func (m *model) newGroupLines() []string {
	f := &m.newGroup
	w := max(m.width-14, 10)
	field := func(label string, l *lineInput, i int, placeholder string) string {
		p := "  "
		if f.focus == i {
			p = "▸ "
		}
		return p + fmt.Sprintf("%-9s", label) + l.view(w, f.focus == i && !f.busy, m.st.cursor.Render, m.st.dim.Render(placeholder))
	}
	lines := []string{"", m.st.bold.Render("New group"),
		field("Name", &f.name, 0, "e.g. Lunch club"),
		field("Members", &f.members, 1, "phone numbers, e.g. +15551234567, +15557654321"),
	}
	if f.busy {
		lines = append(lines, "Creating the group…")
	}
	if f.err != "" {
		lines = append(lines, wrap(m.st.errText.Render(f.err), max(m.width, 20))...)
	}
	return lines
}

func (m *model) newGroupKey(k tea.KeyMsg) tea.Cmd {
	f := &m.newGroup
	if f.busy {
		return nil
	}
	switch k.Type {
	case tea.KeyEsc:
		m.screen = screenList
		return nil
	case tea.KeyTab, tea.KeyShiftTab, tea.KeyUp, tea.KeyDown:
		f.focus = 1 - f.focus
		return nil
	case tea.KeyEnter:
		name := strings.TrimSpace(f.name.value())
		if name == "" {
			f.err, f.focus = "give the group a name", 0
			return nil
		}
		if f.focus == 0 && strings.TrimSpace(f.members.value()) == "" {
			f.focus = 1
			return nil
		}
		// Numbers are written with spaces ("+1 555 123 4567"): only commas
		// and semicolons separate them.
		var phones []string
		for _, p := range strings.FieldsFunc(f.members.value(), func(r rune) bool { return r == ',' || r == ';' }) {
			if p = strings.TrimSpace(p); p != "" {
				phones = append(phones, p)
			}
		}
		f.busy, f.err = true, ""
		c, base := m.c, m.ctx
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(base, callTimeout)
			defer cancel()
			var members []types.AccountID
			for _, p := range phones {
				a, err := c.LookupPhone(ctx, p)
				if err != nil {
					if errors.Is(err, client.ErrInvalid) {
						return groupCreatedMsg{err: fmt.Errorf("%q is not a phone number; use the international form, e.g. +15551234567", p)}
					}
					return groupCreatedMsg{err: fmt.Errorf("%s: %s", p, groupError(err))}
				}
				members = append(members, a)
			}
			g, err := c.CreateGroup(ctx, name, members)
			return groupCreatedMsg{g: g, err: err}
		}
	}
	if f.focus == 0 {
		f.name.handle(k)
	} else {
		f.members.handle(k)
	}
	return nil
}

func (m *model) onGroupCreated(msg groupCreatedMsg) tea.Cmd {
	m.newGroup.busy = false
	if msg.err != nil {
		m.newGroup.err = "no group made: " + groupError(msg.err)
		return nil
	}
	if m.screen != screenNewGroup {
		return m.loadList()
	}
	return m.open(groupChat(msg.g))
}

// Joining by invite link, from the chat list (j).

func (m *model) joinLines() []string {
	f := &m.join
	lines := []string{"", "Invite link: " + f.link.view(max(m.width-14, 10), !f.busy, m.st.cursor.Render, m.st.dim.Render("parley://join/…"))}
	if f.busy {
		lines = append(lines, "Joining…")
	}
	if f.err != "" {
		lines = append(lines, wrap(m.st.errText.Render(f.err), max(m.width, 20))...)
	}
	return lines
}

func (m *model) joinKey(k tea.KeyMsg) tea.Cmd {
	f := &m.join
	if f.busy {
		return nil
	}
	switch k.Type {
	case tea.KeyEsc:
		m.screen = screenList
		return nil
	case tea.KeyEnter:
		link := strings.TrimSpace(f.link.value())
		if link == "" {
			return nil
		}
		f.busy, f.err = true, ""
		c, base := m.c, m.ctx
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(base, callTimeout)
			defer cancel()
			g, err := c.JoinInvite(ctx, link)
			return joinedMsg{g: g, err: err}
		}
	}
	f.link.handle(k)
	return nil
}

func (m *model) onJoined(msg joinedMsg) tea.Cmd {
	m.join.busy = false
	if msg.err != nil {
		m.join.err = "not joined: " + groupError(msg.err)
		return nil
	}
	if m.screen != screenJoin {
		return m.loadList()
	}
	return m.open(groupChat(msg.g))
}

// The group info screen (Ctrl+G in a group conversation).

func (m *model) openInfo(g types.GroupID) tea.Cmd {
	m.info = &infoView{group: g}
	if cv := m.conv; cv != nil && cv.group != nil && cv.group.ID == g {
		m.info.g = cv.group
	}
	m.screen = screenGroupInfo
	return m.loadInfo()
}

func (m *model) loadInfo() tea.Cmd {
	iv := m.info
	if iv == nil {
		return nil
	}
	iv.gen++
	gen, g, c, base := iv.gen, iv.group, m.c, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, callTimeout)
		defer cancel()
		info, err := c.Group(ctx, g)
		return groupInfoMsg{g: g, gen: gen, info: info, err: err}
	}
}

func (m *model) onGroupInfo(msg groupInfoMsg) {
	iv := m.info
	if iv == nil || iv.group != msg.g || msg.gen <= iv.applied {
		return
	}
	iv.applied = msg.gen
	if msg.err != nil {
		iv.err = "cannot load the group: " + msg.err.Error()
		return
	}
	iv.g = &msg.info
	iv.sel = min(iv.sel, max(0, len(iv.g.Members)-1))
}

// members is the info screen's member list: you first, then the admins,
// then everyone else, by name.
func (m *model) members(g *client.GroupInfo) []client.GroupMember {
	self := m.self()
	out := slices.Clone(g.Members)
	rank := func(x client.GroupMember) int {
		switch {
		case x.Account == self:
			return 0
		case x.Admin:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(out, func(a, b client.GroupMember) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(strings.ToLower(m.name(a.Account)), strings.ToLower(m.name(b.Account)))
	})
	return out
}

func (m *model) infoView() (body, tail []string) {
	iv := m.info
	w := max(m.width, 20)
	g := iv.g
	if g == nil {
		return []string{m.st.title.Render("Group info"), "", m.st.dim.Render("loading…")}, m.footer(helpInfoGone)
	}
	lines := []string{m.st.title.Render(m.groupTitle(g)) + m.st.dim.Render(" · group info"), ""}
	if d := clean(strings.TrimSpace(g.Description), true); d != "" {
		for _, l := range strings.Split(d, "\n") {
			lines = append(lines, wrap(l, w)...)
		}
		lines = append(lines, "")
	}
	role := "You are a member"
	switch {
	case notMember(g):
		role = "You are no longer a member"
	case g.Role == client.RoleAdmin:
		role = "You are an admin"
	}
	send := "every member can send"
	if g.AnnouncementOnly {
		send = "only admins can send"
	}
	lines = append(lines, fmt.Sprintf("%s · %d members · %s", role, len(g.Members), send))
	switch {
	case g.InviteLink != "":
		lines = append(lines, "Invite link (anyone who has it can join):")
		for _, l := range strings.Split(ansi.Hardwrap(g.InviteLink, w-2, false), "\n") {
			lines = append(lines, "  "+l)
		}
	case g.Invite && g.Role == client.RoleAdmin:
		lines = append(lines, wrap("Invite link: on, made on another device (i makes a new one here)", w)...)
	case g.Invite:
		lines = append(lines, "Invite link: on")
	case g.Role == client.RoleAdmin:
		lines = append(lines, "Invite link: none (i makes one)")
	default:
		lines = append(lines, "Invite link: none")
	}
	lines = append(lines, "", m.st.bold.Render("Members"))
	self := m.self()
	for i, mem := range m.members(g) {
		name := m.title(mem.Account)
		if mem.Account == self {
			name = "You"
		}
		right := ""
		if mem.Admin {
			right = "admin"
		}
		gap := ""
		if right != "" {
			gap = strings.Repeat(" ", max(1, w-2-ansi.StringWidth(name)-len(right)))
		}
		if i == iv.sel && !notMember(g) {
			lines = append(lines, "▸ "+m.st.selected.Render(name)+gap+right)
		} else {
			lines = append(lines, "  "+name+gap+right)
		}
	}
	var foot []string
	h := helpInfoMember
	switch {
	case notMember(g):
		h = helpInfoGone
	case g.Role == client.RoleAdmin:
		h = helpInfoAdmin
	}
	switch {
	case iv.prompt != nil:
		foot = append(foot, iv.prompt.lines(m)...)
		h = iv.prompt.help()
	case iv.confirm != "":
		foot = append(foot, wrap(m.st.errText.Render(iv.confirm+" y/n"), w)...)
		h = helpInfoConfirm
	}
	if iv.busy != "" {
		foot = append(foot, iv.busy)
	}
	for _, l := range wrap(iv.note, w) {
		foot = append(foot, m.st.dim.Render(l))
	}
	for _, l := range wrap(iv.err, w) {
		foot = append(foot, m.st.errText.Render(l))
	}
	foot = append(foot, m.footer(h)...)
	// Keep the selected member on the screen.
	room := max(max(m.height, 5)-len(foot), 1)
	if len(lines) > room {
		at := len(lines) - len(g.Members) + iv.sel
		start := min(max(0, at+1-room), len(lines)-room)
		lines = lines[start:]
	}
	return lines, foot
}

func (m *model) infoKey(k tea.KeyMsg) tea.Cmd {
	iv := m.info
	if iv.prompt != nil {
		return m.infoPromptKey(k)
	}
	if iv.confirm != "" {
		switch k.String() {
		case "y", "Y":
			iv.confirm = ""
			return iv.onYes()
		case "n", "N", "esc":
			iv.confirm = ""
		}
		return nil
	}
	if k.Type == tea.KeyEsc {
		m.info, m.screen = nil, screenConv
		if m.conv == nil {
			m.screen = screenList
		}
		return tea.Batch(m.loadConv(), m.loadList())
	}
	g := iv.g
	if g == nil || iv.busy != "" || notMember(g) {
		return nil
	}
	members := m.members(g)
	var sel client.GroupMember
	if iv.sel < len(members) {
		sel = members[iv.sel]
	}
	admin := g.Role == client.RoleAdmin
	id, self := g.ID, m.self()
	key := k.String()
	if !admin && strings.Contains("armneoix", key) && len(key) == 1 {
		iv.err = "only admins of the group can do that"
		return nil
	}
	iv.err, iv.note = "", ""
	switch key {
	case "up", "k":
		iv.sel = max(0, iv.sel-1)
	case "down", "j":
		iv.sel = min(len(members)-1, iv.sel+1)
	case "a":
		iv.prompt = newPrompt(promptAddMember, "Add member: ", "phone number, e.g. +15551234567", "")
	case "n":
		iv.prompt = newPrompt(promptRename, "Group name: ", "e.g. Lunch club", clean(g.Name, false))
		iv.prompt.input.limit = client.MaxGroupName
	case "e":
		iv.prompt = newPrompt(promptDescribe, "Description: ", "what the group is about", clean(g.Description, false))
		iv.prompt.input.limit = client.MaxGroupDescription
	case "r":
		if sel.Account == self {
			iv.err = "to leave the group, press l"
			return nil
		}
		who := m.name(sel.Account)
		iv.confirm = "Remove " + who + " from the group?"
		iv.onYes = func() tea.Cmd {
			return m.groupAction(id, "Removing "+who+"…", who+" was removed", func(ctx context.Context, c *client.Client) error {
				return c.RemoveMembers(ctx, id, []types.AccountID{sel.Account})
			})
		}
	case "m":
		who, to := m.name(sel.Account), !sel.Admin
		if sel.Account == self {
			who = "you"
		}
		done := who + " is now an admin"
		if !to {
			done = who + " is no longer an admin"
		}
		return m.groupAction(id, "Changing admins…", done, func(ctx context.Context, c *client.Client) error {
			return c.SetAdmins(ctx, id, []types.AccountID{sel.Account}, to)
		})
	case "o":
		on := !g.AnnouncementOnly
		done := "Only admins can send now"
		if !on {
			done = "Every member can send now"
		}
		return m.groupAction(id, "Changing who can send…", done, func(ctx context.Context, c *client.Client) error {
			return c.SetAnnouncementOnly(ctx, id, on)
		})
	case "i":
		makeLink := func() tea.Cmd {
			return m.groupAction(id, "Making an invite link…", "The invite link is on: share it with whoever should join", func(ctx context.Context, c *client.Client) error {
				_, err := c.CreateInvite(ctx, id)
				return err
			})
		}
		if g.Invite {
			iv.confirm, iv.onYes = "Make a new invite link? The current one stops working.", makeLink
			return nil
		}
		return makeLink()
	case "x":
		if !g.Invite {
			iv.err = "there is no invite link to revoke"
			return nil
		}
		iv.confirm = "Revoke the invite link? Nobody can join with it any more."
		iv.onYes = func() tea.Cmd {
			return m.groupAction(id, "Revoking the invite link…", "The invite link no longer works", func(ctx context.Context, c *client.Client) error {
				return c.RevokeInvite(ctx, id)
			})
		}
	case "l":
		iv.confirm = "Leave " + m.groupTitle(g) + "? You can no longer send or read new messages there."
		iv.onYes = func() tea.Cmd {
			return m.groupAction(id, "Leaving…", "You left the group", func(ctx context.Context, c *client.Client) error {
				return c.Leave(ctx, id)
			})
		}
	}
	return nil
}

// infoPromptKey: a question of the info screen is open.
func (m *model) infoPromptKey(k tea.KeyMsg) tea.Cmd {
	iv := m.info
	p := iv.prompt
	switch k.Type {
	case tea.KeyEsc:
		iv.prompt = nil
		return nil
	case tea.KeyEnter:
	default:
		p.input.handle(k)
		return nil
	}
	id, value := iv.group, strings.TrimSpace(p.input.value())
	switch p.kind {
	case promptAddMember:
		if value == "" {
			return nil
		}
		iv.prompt = nil
		return m.groupAction(id, "Adding "+value+"…", value+" was added", func(ctx context.Context, c *client.Client) error {
			a, err := c.LookupPhone(ctx, value)
			if errors.Is(err, client.ErrInvalid) {
				return fmt.Errorf("%q is not a phone number; use the international form, e.g. +15551234567", value)
			}
			if err != nil {
				return err
			}
			return c.AddMembers(ctx, id, []types.AccountID{a})
		})
	case promptRename:
		if value == "" {
			p.err = "a group needs a name"
			return nil
		}
		iv.prompt = nil
		return m.groupAction(id, "Renaming…", "The group is now called "+clean(value, false), func(ctx context.Context, c *client.Client) error {
			return c.RenameGroup(ctx, id, value)
		})
	case promptDescribe:
		iv.prompt = nil
		return m.groupAction(id, "Changing the description…", "The description changed", func(ctx context.Context, c *client.Client) error {
			g, err := c.Group(ctx, id)
			if err != nil {
				return err
			}
			return c.SetGroupAttributes(ctx, id, client.GroupAttributes{Name: g.Name, Description: value, Picture: g.Picture})
		})
	}
	return nil
}

// groupAction runs one change of group g, showing busy meanwhile and done
// when it worked.
func (m *model) groupAction(g types.GroupID, busy, done string, call func(context.Context, *client.Client) error) tea.Cmd {
	if iv := m.info; iv != nil && iv.group == g {
		iv.busy, iv.err, iv.note = busy, "", ""
	}
	c, base := m.c, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, callTimeout)
		defer cancel()
		return groupActionMsg{g: g, done: done, err: call(ctx, c)}
	}
}

func (m *model) onGroupAction(msg groupActionMsg) tea.Cmd {
	iv := m.info
	if iv == nil || iv.group != msg.g {
		if msg.err != nil {
			m.notice = "a change to " + m.groupName(msg.g) + " failed: " + groupError(msg.err)
		}
		return tea.Batch(m.loadList(), m.loadConv())
	}
	iv.busy = ""
	if msg.err != nil {
		iv.err = "not done: " + groupError(msg.err)
	} else {
		iv.note = msg.done
	}
	return tea.Batch(m.loadInfo(), m.loadList(), m.loadConv())
}
