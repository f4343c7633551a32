package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/types"
)

var recvCmd = &command{
	name:    "recv",
	args:    "[--timeout 5s] [--json] [--all] [--save-media DIR] [flags]",
	summary: "print received messages",
	help: "Recv connects, prints the messages received since the last recv (also those " +
		"that arrived while another command was connected), then each message as it " +
		"arrives, and exits 0 once the server has delivered everything it held and " +
		"nothing more arrived for --timeout; with --timeout 0 it runs until interrupted. " +
		"Delivery receipts for what it received are sent before it exits.\n\n" +
		"With --json each message is one JSON object on a line: id, from (the phone " +
		"number if known, else the account id), account, device, kind (text, timer, " +
		"media, group-event, business or unknown), text, sent and received (RFC 3339), " +
		"for media a media object (kind, file_name, mime_type, size, and saved or " +
		"save_error), for a group message group (its id) and group_name, and for a " +
		"business message (buttons, an order, its payment and status, from a business) " +
		"business_type and business, its WhatsApp Cloud API type and object. Receipts, typing, edits, " +
		"deletions and reactions are printed only with --all, with their own kind. " +
		"Without --json each message is one line for people (a group message as GROUP / " +
		"SENDER: text); a file shows as [kind name, size] caption.\n\n" +
		"--save-media DIR fetches every received file, checks it (a file the server or " +
		"anyone on the way changed is refused) and saves it in DIR under the sender's " +
		"file name (never replacing a file there: \"name (1).ext\"), with a progress bar " +
		"on standard error when that is a terminal. Files the server no longer has (30 " +
		"days by default) or that fail the check are reported, the others saved, and " +
		"recv exits 1.\n\n" + profileHelp,
	run: runRecv,
}

// recvCursorFile, in the profile, remembers per conversation the last
// message recv printed, so that messages stored while another command was
// connected (send, chat) are printed by the next recv, and none twice. It
// holds local conversation numbers and counters, nothing of the content.
const recvCursorFile = "recv-cursor.json"

func runRecv(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("recv")
	timeout := fs.Duration("timeout", 5*time.Second, "exit once idle for `duration`; 0 runs until interrupted")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	all := fs.Bool("all", false, "print receipts, typing, edits, deletions and reactions too")
	saveMedia := fs.String("save-media", "", "save received files in `directory`")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	if *timeout < 0 {
		return e.usageError("recv", "--timeout must not be negative")
	}
	if *saveMedia != "" {
		if st, err := os.Stat(*saveMedia); err != nil || !st.IsDir() {
			return e.usageError("recv", "--save-media %s is not a directory", *saveMedia)
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	c, dir, err := e.openRegistered(ctx, *profile)
	if err != nil {
		return e.fail("recv", err)
	}
	defer c.Close()
	p := &printer{e: e, c: c, json: *asJSON, all: *all, saveDir: *saveMedia, cursorPath: filepath.Join(dir, recvCursorFile)}
	if err := p.loadCursor(); err != nil {
		return e.fail("recv", err)
	}
	// What other commands received (send, too, receives while it is
	// connected) is printed before connecting: once connected, the receive
	// loop stores messages before it has checked their senders' numbers, and
	// announces them only after, so new messages are printed from its events.
	if err := p.backlog(ctx); err != nil {
		return e.fail("recv", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	early, err := connect(cctx, c, 0)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return exitOK
		}
		return e.fail("recv", connectTimeout(c, err, 30*time.Second))
	}
	idle := time.NewTimer(max(*timeout, time.Second))
	if *timeout == 0 {
		idle.Stop()
	}
	defer idle.Stop()
	synced := false
	status := exitOK
	// handle prints one event; it reports false when recv must stop.
	handle := func(ev client.Event) bool {
		if ce, ok := ev.(client.ConnectionEvent); ok {
			if ce.Synced {
				synced = true
			}
			if errors.Is(ce.Err, client.ErrDeviceGone) || errors.Is(ce.Err, client.ErrReplaced) {
				status = e.fail("recv", connectError(c, ce.Err))
				return false
			}
			if ce.State != client.Connected {
				synced = false
			}
		}
		if err := p.event(ctx, ev); err != nil {
			status = e.fail("recv", err)
			return false
		}
		if *timeout > 0 {
			idle.Reset(*timeout)
		}
		return true
	}
	for _, ev := range early {
		if !handle(ev) {
			return status
		}
	}
loop:
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok || !handle(ev) {
				break loop
			}
		case <-idle.C:
			if synced {
				break loop
			}
			idle.Reset(*timeout)
		case <-ctx.Done():
			break loop
		}
	}
	// The delivery receipts of what was printed go out before the exit;
	// what does not make it stays in the outbox for the next connection.
	wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.WaitIdle(wctx)
	if status == exitOK && p.saveFailed {
		status = exitFail
	}
	return status
}

// printer prints what recv receives and keeps the cursor.
type printer struct {
	e          *env
	c          *client.Client
	json, all  bool
	saveDir    string // --save-media
	saveFailed bool
	cursorPath string
	cursor     map[clientstore.ConversationID]int64
	phones     map[types.AccountID]string
	groups     map[types.GroupID]string
}

func (p *printer) loadCursor() error {
	p.cursor = map[clientstore.ConversationID]int64{}
	b, err := os.ReadFile(p.cursorPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var raw map[string]int64
	if err := json.Unmarshal(b, &raw); err != nil {
		// A damaged cursor only means some messages are printed again.
		fmt.Fprintf(p.e.stderr, "parley recv: %s is damaged; starting from the beginning\n", p.cursorPath)
		return nil
	}
	for k, v := range raw {
		if id, err := strconv.ParseInt(k, 10, 64); err == nil {
			p.cursor[clientstore.ConversationID(id)] = v
		}
	}
	return nil
}

func (p *printer) saveCursor() error {
	raw := make(map[string]int64, len(p.cursor))
	for k, v := range p.cursor {
		raw[strconv.FormatInt(int64(k), 10)] = v
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return err
	}
	tmp := p.cursorPath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p.cursorPath)
}

// backlog prints the incoming messages stored after the cursor.
func (p *printer) backlog(ctx context.Context) error {
	convs, err := p.c.Conversations(ctx)
	if err != nil {
		return err
	}
	var pending []client.Message
	for _, conv := range convs {
		after := p.cursor[conv.ID]
		var before int64
		for {
			page, err := p.c.ConversationMessages(ctx, conv.ID, before, 200)
			if err != nil {
				return err
			}
			for _, m := range page {
				if m.Seq > after {
					pending = append(pending, m)
				}
			}
			if len(page) < 200 || page[0].Seq <= after {
				break
			}
			before = page[0].Seq
		}
	}
	// Conversations are interleaved by time, but each one is printed in
	// seq order: the cursor is a seq, and times need not follow it (Send
	// stamps its message before it waits for a receive's transaction, and
	// clocks go back), so a message stamped earlier but stored later would
	// move the cursor past one not printed yet, which is then never shown.
	slices.SortStableFunc(pending, func(a, b client.Message) int { return a.ReceivedAt.Compare(b.ReceivedAt) })
	slots := map[clientstore.ConversationID][]int{}
	for i, m := range pending {
		slots[m.Conversation] = append(slots[m.Conversation], i)
	}
	for _, idx := range slots {
		msgs := make([]client.Message, len(idx))
		for j, i := range idx {
			msgs[j] = pending[i]
		}
		slices.SortFunc(msgs, func(a, b client.Message) int { return cmp.Compare(a.Seq, b.Seq) })
		for j, i := range idx {
			pending[i] = msgs[j]
		}
	}
	for _, m := range pending {
		if err := p.message(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// message prints m (if it is an incoming one not printed yet) and moves the
// cursor past it.
func (p *printer) message(ctx context.Context, m client.Message) error {
	if m.Seq <= p.cursor[m.Conversation] {
		return nil
	}
	if !m.Outgoing {
		phone := p.phone(ctx, m.Sender.Account)
		var media *recvMedia
		if m.Kind == client.KindMedia && m.Media != nil && !m.Deleted {
			md := m.Media
			media = &recvMedia{Kind: mediaKindName(md), FileName: md.GetFileName(), MimeType: md.GetMimeType(), Size: md.GetSize()}
		}
		text := humanText(m)
		if m.GroupChange != nil {
			text = m.GroupChange.Describe(func(a types.AccountID) string { return p.name(ctx, a) })
		}
		var group, groupName string
		if !m.Group.IsZero() {
			group, groupName = m.Group.String(), p.groupName(ctx, m.Group)
		}
		if !p.json {
			if group != "" {
				fmt.Fprintf(p.e.stdout, "[%s] %s / %s: %s\n", m.SentAt.Local().Format(time.DateTime), orID(groupName, m.Group),
					orID(phone, m.Sender.Account), text)
			} else {
				fmt.Fprintf(p.e.stdout, "[%s] %s: %s\n", m.SentAt.Local().Format(time.DateTime), orID(phone, m.Sender.Account), text)
			}
		}
		if media != nil && p.saveDir != "" {
			p.save(ctx, m, media)
		}
		if p.json {
			j := recvJSON{
				ID: m.Ref.ID.String(), From: orID(phone, m.Sender.Account), Account: m.Sender.Account.String(),
				Device: uint32(m.Sender.Device), Kind: kindName(m.Kind), Text: m.Text, Media: media,
				Sent: timeRFC3339(m.SentAt), Received: timeRFC3339(m.ReceivedAt), Timer: seconds(m.Timer),
				Group: group, GroupName: groupName,
			}
			if b := m.Business; b != nil && json.Valid(b.Json) {
				j.BusinessType, j.Business = b.Type, b.Json
			}
			if m.GroupChange != nil {
				j.Text = text
			}
			p.printJSON(j)
		}
	}
	p.cursor[m.Conversation] = m.Seq
	return p.saveCursor()
}

// save fetches and saves m's file, noting the outcome in media.
func (p *printer) save(ctx context.Context, m client.Message, media *recvMedia) {
	bar := newTransferBar(p.e, "download", safeName(media.FileName))
	path, err := p.c.SaveMedia(ctx, m.Ref, p.saveDir, bar.progress)
	bar.finish(err)
	if err != nil {
		p.saveFailed = true
		media.SaveError = err.Error()
		why := err.Error()
		switch {
		case errors.Is(err, client.ErrMediaGone):
			why = "the server no longer has it"
		case errors.Is(err, client.ErrMediaTampered):
			why = "it failed the check (changed on the server or on the way); nothing was saved"
		}
		fmt.Fprintf(p.e.stderr, "parley recv: the file %q was not saved: %s\n", media.FileName, why)
		return
	}
	media.Saved = path
	if !p.json {
		fmt.Fprintf(p.e.stdout, "  saved to %s\n", path)
	}
}

// safeName is a file name fit to print on one line.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if s == "" {
		return "file"
	}
	return s
}

// event prints one event of the live connection.
func (p *printer) event(ctx context.Context, ev client.Event) error {
	switch ev := ev.(type) {
	case client.MessageEvent:
		return p.message(ctx, ev.Message)
	case client.ContactEvent:
		delete(p.phones, ev.Account) // a number the directory confirmed
	case client.GroupEvent:
		delete(p.groups, ev.Group) // maybe renamed
	case client.GroupRejectedEvent:
		fmt.Fprintf(p.e.stderr, "parley recv: a change of group %s does not verify and was refused: %v\n", ev.Group, ev.Err)
	case client.IdentityChangedEvent:
		who := orID(p.phone(ctx, ev.Account), ev.Account)
		fmt.Fprintf(p.e.stderr, "parley recv: the safety number with %s changed; sending to them is blocked until you verify it "+
			"('parley safety-number --with %s')\n", who, who)
		if p.all && p.json {
			p.printJSON(recvJSON{Kind: "identity-changed", From: who, Account: ev.Account.String(), Device: uint32(ev.Device)})
		}
	case client.UndecryptableEvent:
		fmt.Fprintf(p.e.stderr, "parley recv: a message from %s could not be decrypted and was dropped: %v\n",
			orID(p.phone(ctx, ev.From.Account), ev.From.Account), ev.Err)
	}
	if !p.all {
		return nil
	}
	now := timeRFC3339(time.Now())
	switch ev := ev.(type) {
	case client.ReceiptEvent:
		status := "delivered"
		if ev.Status == clientstore.StatusRead {
			status = "read"
		}
		who := orID(p.phone(ctx, ev.Recipient), ev.Recipient)
		if !p.json {
			fmt.Fprintf(p.e.stdout, "(%s %s %d message(s))\n", who, status, len(ev.IDs))
			return nil
		}
		j := recvJSON{Kind: "receipt", From: who, Account: ev.Recipient.String(), Status: status, Received: now}
		for _, id := range ev.IDs {
			j.IDs = append(j.IDs, id.String())
		}
		p.printJSON(j)
	case client.TypingEvent:
		who := orID(p.phone(ctx, ev.From.Account), ev.From.Account)
		if !p.json {
			if ev.Started {
				fmt.Fprintf(p.e.stdout, "(%s is typing)\n", who)
			}
			return nil
		}
		started := ev.Started
		p.printJSON(recvJSON{Kind: "typing", From: who, Account: ev.From.Account.String(), Device: uint32(ev.From.Device),
			Started: &started, Received: now})
	case client.UpdateEvent:
		who := orID(p.phone(ctx, ev.By.Account), ev.By.Account)
		j := recvJSON{From: who, Account: ev.By.Account.String(), Device: uint32(ev.By.Device), Received: now}
		if ev.Ref.ID != (types.MessageID{}) {
			j.ID = ev.Ref.ID.String()
		}
		m, merr := p.c.Message(ctx, ev.Ref)
		switch ev.Kind {
		case client.Edited:
			j.Kind = "edit"
			if merr == nil {
				j.Text = m.Text
			}
		case client.DeletedForEveryone:
			j.Kind = "delete"
		case client.Reacted:
			j.Kind = "reaction"
			if merr == nil {
				for _, r := range m.Reactions {
					if r.Reactor == ev.By.Account {
						j.Text = r.Emoji
					}
				}
			}
		case client.TimerChanged:
			return nil // the timer message itself was printed
		case client.ReadElsewhere:
			j.Kind = "read-elsewhere"
		default:
			j.Kind = "update"
		}
		if !p.json {
			fmt.Fprintf(p.e.stdout, "(%s: %s %s %s)\n", who, j.Kind, j.ID, j.Text)
			return nil
		}
		p.printJSON(j)
	}
	return nil
}

// recvJSON is one line of recv --json.
type recvJSON struct {
	ID        string     `json:"id,omitempty"`
	From      string     `json:"from"`
	Account   string     `json:"account"`
	Device    uint32     `json:"device,omitempty"`
	Kind      string     `json:"kind"`
	Text      string     `json:"text,omitempty"`
	Timer     *int64     `json:"timer_seconds,omitempty"`
	Status    string     `json:"status,omitempty"`
	IDs       []string   `json:"ids,omitempty"`
	Started   *bool      `json:"started,omitempty"`
	Sent      string     `json:"sent,omitempty"`
	Received  string     `json:"received,omitempty"`
	Media     *recvMedia `json:"media,omitempty"`
	Group     string     `json:"group,omitempty"`
	GroupName string     `json:"group_name,omitempty"`
	// A business message's Cloud API type and object (kind business).
	BusinessType string          `json:"business_type,omitempty"`
	Business     json.RawMessage `json:"business,omitempty"`
}

// recvMedia describes a file in recv --json.
type recvMedia struct {
	Kind      string `json:"kind"`
	FileName  string `json:"file_name,omitempty"`
	MimeType  string `json:"mime_type,omitempty"`
	Size      uint64 `json:"size"`
	Saved     string `json:"saved,omitempty"`
	SaveError string `json:"save_error,omitempty"`
}

func (p *printer) printJSON(v recvJSON) {
	b, _ := json.Marshal(v)
	p.e.stdout.Write(append(b, '\n'))
}

// phone is the contact's number, or "".
func (p *printer) phone(ctx context.Context, a types.AccountID) string {
	if p.phones == nil {
		p.phones = map[types.AccountID]string{}
	}
	if ph, ok := p.phones[a]; ok {
		return ph
	}
	ct, err := p.c.Store().Contact(ctx, a)
	if err == nil {
		p.phones[a] = ct.Phone
	}
	return ct.Phone
}

// name is how recv names an account in a group change: "you", a number,
// or an account id.
func (p *printer) name(ctx context.Context, a types.AccountID) string {
	if a == p.c.Account().ID {
		return "you"
	}
	return orID(p.phone(ctx, a), a)
}

// groupName is the group's name as this device knows it now, or "".
func (p *printer) groupName(ctx context.Context, g types.GroupID) string {
	if p.groups == nil {
		p.groups = map[types.GroupID]string{}
	}
	if n, ok := p.groups[g]; ok {
		return n
	}
	info, err := p.c.Group(ctx, g)
	if err == nil {
		p.groups[g] = info.Name
	}
	return info.Name
}

func orID[T fmt.Stringer](phone string, a T) string {
	if phone != "" {
		return phone
	}
	return a.String()
}

func kindName(k clientstore.Kind) string {
	switch k {
	case client.KindText:
		return "text"
	case client.KindTimer:
		return "timer"
	case client.KindMedia:
		return "media"
	case client.KindGroupEvent:
		return "group-event"
	case client.KindBusiness:
		return "business"
	}
	return "unknown"
}

func humanText(m client.Message) string {
	switch {
	case m.Deleted:
		return "(deleted)"
	case m.Kind == client.KindTimer && m.Timer == 0:
		return "(turned disappearing messages off)"
	case m.Kind == client.KindTimer:
		return "(set disappearing messages to " + formatDuration(m.Timer) + ")"
	case m.Kind == client.KindText, m.Kind == client.KindBusiness && m.Text != "":
		return m.Text
	case m.Kind == client.KindMedia && m.Media != nil:
		return mediaLine(m)
	case m.Text != "":
		return "(a kind of message this version cannot show: " + m.Text + ")"
	}
	return "(a kind of message this version cannot show)"
}

func seconds(d time.Duration) *int64 {
	if d == 0 {
		return nil
	}
	s := int64(d / time.Second)
	return &s
}

// timeRFC3339 is t in UTC with milliseconds, or "" for the zero time.
func timeRFC3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
