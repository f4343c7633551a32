package tui

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/contentpb"
	"github.com/parley-im/parley/types"
)

func TestMediaBody(t *testing.T) {
	m := &model{st: plainStyles()}
	for _, tc := range []struct {
		msg  client.Message
		want string
	}{
		{client.Message{Kind: client.KindMedia, Text: "look", Media: &contentpb.Media{Kind: contentpb.Media_KIND_IMAGE, FileName: "cat.jpg", Size: 1_234_567}},
			"[image cat.jpg, 1.2 MB] look"},
		{client.Message{Kind: client.KindMedia, Media: &contentpb.Media{Kind: contentpb.Media_KIND_AUDIO, VoiceNote: true, Size: 999}},
			"[voice, 999 B]"},
		{client.Message{Kind: client.KindMedia, Media: &contentpb.Media{Kind: contentpb.Media_KIND_DOCUMENT, FileName: "a\x1b[31m.pdf", Size: 2048}},
			"[document a[31m.pdf, 2.0 kB]"},
	} {
		if got := m.bodyText(tc.msg, false); got != tc.want {
			t.Errorf("bodyText = %q, want %q", got, tc.want)
		}
	}
}

// TestTransferProgress: the progress a transfer reports reaches the
// screen while it runs, and the bar goes when it ends.
func TestTransferProgress(t *testing.T) {
	c := openClient(t, t.TempDir())
	h := &harness{t: t, name: "ana", m: newModel(context.Background(), c, "", plainStyles()), msgs: make(chan tea.Msg, 64)}
	h.update(tea.WindowSizeMsg{Width: 100, Height: 30})
	ch := directChat(types.AccountID{1})
	h.m.conv, h.m.screen = &convView{chat: ch, loaded: true}, screenConv
	step, release := make(chan struct{}), make(chan struct{})
	h.run(h.m.startTransfer(ch, true, "big\x1b.iso", 4_000_000, func(_ context.Context, p client.Progress) (string, error) {
		p(1_000_000, 4_000_000)
		<-step
		p(3_000_000, 4_000_000)
		<-release
		return "", errors.New("the server went away")
	}))
	h.waitLine("↑ sending big.iso", " 25%", "1.0 MB of 4.0 MB")
	close(step)
	h.waitLine("↑ sending big.iso", " 75%", "3.0 MB of 4.0 MB")
	close(release)
	s := h.waitText("big.iso was not sent: the server went away")
	if strings.Contains(s, "↑ sending") {
		t.Fatalf("the bar stayed after the transfer ended:\n%s", s)
	}
}

func blobPath(srv *testserver.Server, id []byte) string {
	h := fmt.Sprintf("%x", id)
	return filepath.Join(srv.Config.MediaDir, h[:2], h)
}

func randomFile(t *testing.T, dir, name string, n int) (string, []byte) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, b
}

// TestSendAndSaveFile: Alice sends a file with a caption from the
// conversation (Ctrl+T); Bob selects it and saves it where the screen
// proposes, then again (a second name, not over the first); a file whose
// blob was altered on the server is refused with a clear error and
// nothing written.
func TestSendAndSaveFile(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ps := people(t, srv, []string{"Alice", "Bob"}, map[string]bool{"Alice": true, "Bob": true})
	alice, bob := ps["Alice"].h, ps["Bob"].h
	dl := t.TempDir()
	bob.m.downloadDir = dl
	src := t.TempDir()
	path, want := randomFile(t, src, "notes.bin", 300_000)

	alice.key("n")
	alice.typeText(ps["Bob"].phone)
	alice.press(tea.KeyEnter)
	alice.waitText("No messages yet")
	alice.press(tea.KeyCtrlT)
	alice.waitText("File to send:")
	alice.typeText(filepath.Join(src, "nothing.txt"))
	alice.press(tea.KeyEnter)
	alice.waitText("there is no file")
	alice.update(tea.KeyMsg{Type: tea.KeyCtrlU})
	alice.typeText(src)
	alice.press(tea.KeyEnter)
	alice.waitText("is a folder")
	alice.update(tea.KeyMsg{Type: tea.KeyCtrlU})
	alice.typeText(path)
	alice.press(tea.KeyEnter)
	alice.waitText("Caption for notes.bin (300.0 kB):")
	alice.typeText("the minutes")
	alice.press(tea.KeyEnter)
	if s := alice.m.View(); !strings.Contains(s, "↑ sending notes.bin [") {
		t.Fatalf("no progress bar while sending:\n%s", s)
	}
	alice.waitLine("You: [document notes.bin, 300.0 kB] the minutes", "✓✓ delivered")
	alice.waitGone("↑ sending")

	bob.waitLine("Alice", "1 unread")
	bob.press(tea.KeyEnter)
	bob.waitLine("Alice: [document notes.bin, 300.0 kB] the minutes")
	save := func(wantPath string) {
		t.Helper()
		bob.press(tea.KeyTab)
		bob.waitLine("▸", "Alice: [document")
		bob.key("s")
		bob.waitText("Save to: "+wantPath, "Enter save the file here")
		bob.press(tea.KeyEnter)
	}
	save(filepath.Join(dl, "notes.bin"))
	bob.waitText("Saved notes.bin to " + filepath.Join(dl, "notes.bin"))
	if got, err := os.ReadFile(filepath.Join(dl, "notes.bin")); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("saved file: %v, %d bytes, equal %v", err, len(got), bytes.Equal(got, want))
	}
	save(filepath.Join(dl, "notes (1).bin"))
	bob.waitText("Saved notes (1).bin to " + filepath.Join(dl, "notes (1).bin"))

	// A text message cannot be saved.
	if _, err := ps["Alice"].c.SendText(ctxT(t), ps["Bob"].c.Account().ID, "just text"); err != nil {
		t.Fatal(err)
	}
	bob.waitText("Alice: just text")
	bob.press(tea.KeyTab)
	bob.key("s")
	bob.waitText("only files can be saved")
	bob.press(tea.KeyEsc)

	// The blob altered on the server.
	p2, _ := randomFile(t, src, "secret.pdf", 50_000)
	if _, err := ps["Alice"].c.SendFile(ctxT(t), ps["Bob"].c.Account().ID, p2, client.MediaOptions{}); err != nil {
		t.Fatal(err)
	}
	bob.waitLine("Alice: [document secret.pdf, 50.0 kB]")
	ms, err := ps["Bob"].c.Messages(ctxT(t), ps["Alice"].c.Account().ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	bp := blobPath(srv, ms[len(ms)-1].Media.GetMediaId())
	blob, err := os.ReadFile(bp)
	if err != nil {
		t.Fatal(err)
	}
	blob[len(blob)/2] ^= 1
	if err := os.WriteFile(bp, blob, 0o600); err != nil {
		t.Fatal(err)
	}
	bob.press(tea.KeyTab)
	bob.key("s")
	bob.waitText("Save to: " + filepath.Join(dl, "secret.pdf"))
	bob.press(tea.KeyEnter)
	bob.waitText("secret.pdf was not saved: it failed its integrity check")
	left, err := os.ReadDir(dl)
	if err != nil || len(left) != 2 {
		t.Fatalf("the download folder after a refused file: %v %v", left, err)
	}
}

// TestGroupFile: a file sent to a group from the conversation reaches a
// member, who saves it with the SDK; a member's file is saved from the
// screen, where the sender's name is shown.
func TestGroupFile(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ps := people(t, srv, []string{"Alice", "Bob", "Carol"}, map[string]bool{"Alice": true})
	alice, bob := ps["Alice"].h, ps["Bob"].c
	alice.m.downloadDir = t.TempDir()
	g, err := ps["Alice"].c.CreateGroup(ctxT(t), "Photos", []types.AccountID{bob.Account().ID, ps["Carol"].c.Account().ID})
	if err != nil {
		t.Fatal(err)
	}
	alice.waitLine("Photos")
	alice.press(tea.KeyEnter)
	alice.waitText("Photos · 3 members")
	path, want := randomFile(t, t.TempDir(), "trip.jpg", 70_000) // not a JPEG: no thumbnail, still an image by name
	alice.press(tea.KeyCtrlT)
	alice.typeText(path)
	alice.press(tea.KeyEnter)
	alice.press(tea.KeyEnter) // no caption
	alice.waitLine("You: [image trip.jpg, 70.0 kB]", "✓✓ delivered to all")

	var got client.Message
	ctx := ctxT(t)
	for got.Media == nil {
		select {
		case e := <-bob.Events():
			if me, ok := e.(client.MessageEvent); ok && me.Message.Media != nil {
				got = me.Message
			}
		case <-ctx.Done():
			t.Fatal("the file never reached Bob")
		}
	}
	saved, err := bob.SaveMedia(ctxT(t), got.Ref, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(saved); err != nil || !bytes.Equal(b, want) {
		t.Fatalf("Bob's copy: %v, equal %v", err, bytes.Equal(b, want))
	}

	p2, want2 := randomFile(t, t.TempDir(), "plan.txt", 1)
	if _, err := bob.SendGroupFile(ctxT(t), g, p2, client.MediaOptions{Caption: "the plan"}); err != nil {
		t.Fatal(err)
	}
	alice.waitLine("Bob: [document plan.txt, 1 B] the plan")
	alice.press(tea.KeyTab)
	alice.key("s")
	alice.press(tea.KeyEnter)
	alice.waitText("Saved plan.txt to " + filepath.Join(alice.m.downloadDir, "plan.txt"))
	if b, err := os.ReadFile(filepath.Join(alice.m.downloadDir, "plan.txt")); err != nil || !bytes.Equal(b, want2) {
		t.Fatalf("Alice's copy: %v", err)
	}
}
