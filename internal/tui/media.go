package tui

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"sync"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/proto/contentpb"
)

// promptKind says what a prompt asks for, and so what Enter does.
type promptKind uint8

const (
	promptAttach    promptKind = iota + 1 // the path of a file to send
	promptCaption                         // the caption of that file
	promptSave                            // where to save a message's file
	promptAddMember                       // a phone number to add to a group
	promptRename                          // a group's new name
	promptDescribe                        // a group's new description
)

// prompt is a one-line question at the bottom of a screen.
type prompt struct {
	kind        promptKind
	label       string
	placeholder string
	input       lineInput
	err         string
	// path is the file to send (promptCaption).
	path string
	// ref and media are the message whose file to save (promptSave).
	ref   clientstore.MessageRef
	media *contentpb.Media
}

func newPrompt(kind promptKind, label, placeholder, value string) *prompt {
	p := &prompt{kind: kind, label: label, placeholder: placeholder}
	p.input.limit = 4096
	p.input.set(value)
	return p
}

func (p *prompt) lines(m *model) []string {
	w := max(m.width-len([]rune(p.label))-1, 10)
	lines := []string{p.label + p.input.view(w, true, m.st.cursor.Render, m.st.dim.Render(p.placeholder))}
	for _, l := range wrap(p.err, max(m.width, 20)) {
		lines = append(lines, m.st.errText.Render(l))
	}
	return lines
}

func (p *prompt) help() string {
	switch p.kind {
	case promptAttach:
		return "type the path of the file · Enter next: a caption · Esc cancel"
	case promptCaption:
		return "type a caption, or none · Enter send the file · Esc cancel"
	case promptSave:
		return "Enter save the file here · Esc cancel"
	case promptAddMember:
		return "Enter add to the group · Esc cancel"
	}
	return "Enter save · Esc cancel"
}

// convPromptKey: the conversation asks for a file to send, its caption,
// or where to save a file.
func (m *model) convPromptKey(k tea.KeyMsg) tea.Cmd {
	cv := m.conv
	p := cv.prompt
	switch k.Type {
	case tea.KeyEsc:
		cv.prompt = nil
		return nil
	case tea.KeyEnter:
	default:
		p.input.handle(k)
		return nil
	}
	value := strings.TrimSpace(p.input.value())
	switch p.kind {
	case promptAttach:
		if value == "" {
			return nil
		}
		path := expandPath(value)
		st, err := os.Stat(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			p.err = "there is no file " + path
			return nil
		case err != nil:
			p.err = err.Error()
			return nil
		case st.IsDir():
			p.err = path + " is a folder; choose a file in it"
			return nil
		}
		name := clean(filepath.Base(path), false)
		cv.prompt = newPrompt(promptCaption, "Caption for "+name+" ("+byteSize(st.Size())+"): ", "optional", "")
		cv.prompt.path = path
		return nil
	case promptCaption:
		cv.prompt = nil
		return m.startUpload(cv.chat, p.path, p.input.value())
	case promptSave:
		if value == "" {
			return nil
		}
		path := expandPath(value)
		if st, err := os.Stat(path); err == nil && !st.IsDir() {
			p.err = "there already is a file " + path + "; choose another name"
			return nil
		}
		if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
			p.err = "there is no folder " + filepath.Dir(path)
			return nil
		}
		cv.prompt = nil
		return m.startSave(cv.chat, p.ref, p.media, path)
	}
	return nil
}

// transfer is a file being sent or saved.
type transfer struct {
	id          int
	chat        chat
	upload      bool
	name        string // the file's name, safe to print
	done, total int64
	progress    chan transferMsg
}

type (
	// transferMsg: a transfer's progress.
	transferMsg struct {
		id          int
		done, total int64
	}
	// transferDoneMsg: a transfer ended; path is where a file was saved.
	transferDoneMsg struct {
		id   int
		path string
		err  error
	}
)

// startTransfer runs a transfer for chat ch in the background: run gets
// a client.Progress whose news reach Update as transferMsg (the newest
// only: a slow screen skips what it missed), and its end as
// transferDoneMsg.
func (m *model) startTransfer(ch chat, upload bool, name string, total int64, run func(context.Context, client.Progress) (string, error)) tea.Cmd {
	m.lastTransfer++
	t := &transfer{id: m.lastTransfer, chat: ch, upload: upload, name: clean(name, false), total: total, progress: make(chan transferMsg, 1)}
	m.transfers = append(m.transfers, t)
	id, progress, base := t.id, t.progress, m.ctx
	return tea.Batch(func() tea.Msg {
		var mu sync.Mutex
		closed := false
		defer func() {
			mu.Lock()
			closed = true
			close(progress)
			mu.Unlock()
		}()
		path, err := run(base, func(done, total int64) {
			mu.Lock()
			defer mu.Unlock()
			if closed {
				return
			}
			select {
			case <-progress: // not shown yet: replaced by the newer news
			default:
			}
			progress <- transferMsg{id: id, done: done, total: total}
		})
		return transferDoneMsg{id: id, path: path, err: err}
	}, waitProgress(progress))
}

// waitProgress waits for a transfer's next progress (nothing once it
// ended).
func waitProgress(ch <-chan transferMsg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		return msg
	}
}

func (m *model) findTransfer(id int) (int, *transfer) {
	for i, t := range m.transfers {
		if t.id == id {
			return i, t
		}
	}
	return -1, nil
}

func (m *model) onTransfer(msg transferMsg) tea.Cmd {
	_, t := m.findTransfer(msg.id)
	if t == nil {
		return nil
	}
	t.done, t.total = msg.done, msg.total
	return waitProgress(t.progress)
}

func (m *model) onTransferDone(msg transferDoneMsg) tea.Cmd {
	i, t := m.findTransfer(msg.id)
	if t == nil {
		return nil
	}
	m.transfers = append(m.transfers[:i], m.transfers[i+1:]...)
	cv := m.conv
	here := cv != nil && cv.chat == t.chat
	switch {
	case msg.err != nil && t.upload:
		text := t.name + " was not sent: " + m.mediaError(t.chat, msg.err)
		if here {
			cv.err = text
		} else {
			m.notice = text
		}
	case msg.err != nil:
		text := t.name + " was not saved: " + m.mediaError(t.chat, msg.err)
		if here {
			cv.err = text
		} else {
			m.notice = text
		}
	case !t.upload && here:
		cv.note = "Saved " + t.name + " to " + msg.path
	}
	return nil
}

// mediaError says why a file did not go or come, in the user's terms.
func (m *model) mediaError(ch chat, err error) string {
	switch {
	case errors.Is(err, client.ErrMediaTampered):
		return "it failed its integrity check (it was changed on the server or on the way); nothing was written"
	case errors.Is(err, client.ErrMediaGone):
		return "the server no longer has it (it keeps a file until every device fetched it, 30 days at most)"
	case errors.Is(err, client.ErrMediaTooLarge):
		return "it is larger than the server accepts"
	case errors.Is(err, client.ErrNotConnected):
		return "not connected to the server; try again when connected"
	}
	return m.sendError(ch, err)
}

func (m *model) startUpload(ch chat, path, caption string) tea.Cmd {
	var size int64
	if st, err := os.Stat(path); err == nil {
		size = st.Size()
	}
	c := m.c
	return m.startTransfer(ch, true, clean(filepath.Base(path), false), size, func(ctx context.Context, progress client.Progress) (string, error) {
		o := client.MediaOptions{Caption: caption, Progress: progress}
		var err error
		if ch.isGroup() {
			_, err = c.SendGroupFile(ctx, ch.group, path, o)
		} else {
			_, err = c.SendFile(ctx, ch.peer, path, o)
		}
		return "", err
	})
}

func (m *model) startSave(ch chat, ref clientstore.MessageRef, md *contentpb.Media, path string) tea.Cmd {
	c := m.c
	return m.startTransfer(ch, false, clean(filepath.Base(path), false), int64(md.GetSize()), func(ctx context.Context, progress client.Progress) (string, error) {
		return c.SaveMedia(ctx, ref, path, progress)
	})
}

// transferLines are the progress bars of the transfers of chat ch.
func (m *model) transferLines(ch chat) []string {
	var lines []string
	for _, t := range m.transfers {
		if t.chat != ch {
			continue
		}
		verb := "↑ sending"
		if !t.upload {
			verb = "↓ saving"
		}
		frac := 0.0
		if t.total > 0 {
			frac = min(1, float64(t.done)/float64(t.total))
		}
		const width = 20
		fill := int(frac * width)
		bar := "[" + strings.Repeat("█", fill) + strings.Repeat("░", width-fill) + "]"
		right := fmt.Sprintf(" %3.0f%%  %s of %s", frac*100, byteSize(t.done), byteSize(t.total))
		name := excerptLine(t.name, max(m.width-len([]rune(verb))-width-2-len(right)-2, 10))
		lines = append(lines, verb+" "+name+" "+bar+right)
	}
	return lines
}

// defaultDownloadDir is ~/Downloads if there is one, else the working
// directory.
func defaultDownloadDir() string {
	if home, err := os.UserHomeDir(); err == nil {
		d := filepath.Join(home, "Downloads")
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	if wd, err := os.Getwd(); err == nil {
		return wd
	}
	return "."
}

// savePath proposes where to save md: the download folder and the
// sender's file name (without directories or control characters), made
// unique if a file of that name is there.
func (m *model) savePath(md *contentpb.Media) string {
	name := strings.Map(func(r rune) rune {
		if isControl(r) || r == '/' || r == '\\' {
			return -1
		}
		return r
	}, filepath.Base(strings.ReplaceAll(md.GetFileName(), "\\", "/")))
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	if name == "" {
		name = "file"
		if exts, _ := mime.ExtensionsByType(md.GetMimeType()); len(exts) > 0 {
			name += exts[0]
		}
	}
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	p := filepath.Join(m.downloadDir, name)
	for i := 1; i < 1000; i++ {
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			break
		}
		p = filepath.Join(m.downloadDir, fmt.Sprintf("%s (%d)%s", stem, i, ext))
	}
	return p
}

// expandPath makes "~/x" the home directory's x.
func expandPath(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}
