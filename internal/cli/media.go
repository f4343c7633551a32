package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/proto/contentpb"
)

// transferBar shows an upload's or download's progress on standard error:
// a bar rewritten in place on a terminal, else one plain line at the end.
type transferBar struct {
	w        io.Writer
	terminal bool
	verb     string // "upload", "download"
	name     string

	mu          sync.Mutex
	start, last time.Time
	done, total int64
	drawn       bool
}

func newTransferBar(e *env, verb, name string) *transferBar {
	f, ok := e.stderr.(*os.File)
	return &transferBar{w: e.stderr, terminal: ok && term.IsTerminal(int(f.Fd())), verb: verb, name: name, start: time.Now()}
}

// progress is the client.Progress of the bar.
func (b *transferBar) progress(done, total int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done, b.total = done, total
	if !b.terminal || (time.Since(b.last) < 100*time.Millisecond && done < total) {
		return
	}
	b.last = time.Now()
	b.draw()
}

func (b *transferBar) draw() {
	const width = 30
	frac := 1.0
	if b.total > 0 {
		frac = float64(b.done) / float64(b.total)
	}
	fill := int(frac * width)
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	if fill > 0 && fill < width {
		bar = bar[:fill-1] + ">" + bar[fill:]
	}
	fmt.Fprintf(b.w, "\r\033[K%s %s [%s] %3.0f%% %s/%s %s/s", b.verb, b.name, bar, frac*100,
		byteSize(b.done), byteSize(b.total), byteSize(int64(float64(b.done)/max(time.Since(b.start).Seconds(), 0.001))))
	b.drawn = true
}

// finish ends the bar: the terminal's line is completed, or the plain line
// printed.
func (b *transferBar) finish(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.terminal {
		if err == nil && b.total > 0 {
			b.done = b.total
			b.draw()
		}
		if b.drawn {
			fmt.Fprintln(b.w)
		}
		return
	}
	if err == nil {
		fmt.Fprintf(b.w, "%sed %s: %s in %s\n", b.verb, b.name, byteSize(b.total), time.Since(b.start).Round(time.Millisecond))
	}
}

// byteSize is n in B, kB, MB or GB (powers of 1000, as people read them).
func byteSize(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000_000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1000_000_000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}

// mediaKinds are the values of send --kind.
var mediaKinds = map[string]contentpb.Media_Kind{
	"image": contentpb.Media_KIND_IMAGE, "video": contentpb.Media_KIND_VIDEO, "audio": contentpb.Media_KIND_AUDIO,
	"voice": contentpb.Media_KIND_AUDIO, "document": contentpb.Media_KIND_DOCUMENT, "sticker": contentpb.Media_KIND_STICKER,
}

// mediaKindName is a kind as recv prints it.
func mediaKindName(m *contentpb.Media) string {
	if m.GetVoiceNote() {
		return "voice"
	}
	for name, k := range mediaKinds {
		if k == m.GetKind() && name != "voice" {
			return name
		}
	}
	return "media"
}

// mediaLine is a media message for people: "[image photo.jpg, 1.2 MB] caption".
func mediaLine(m client.Message) string {
	md := m.Media
	s := "[" + mediaKindName(md)
	if md.GetFileName() != "" {
		s += " " + md.GetFileName()
	}
	s += ", " + byteSize(int64(md.GetSize())) + "]"
	if m.Text != "" {
		s += " " + m.Text
	}
	return s
}
