package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/testserver"
)

func TestSendFileAndSaveMedia(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice, bob := newPerson(t), newPerson(t)
	alice.register(srv, testserver.NewPhone())
	bob.register(srv, testserver.NewPhone())

	dir := t.TempDir()
	data := bytes.Repeat([]byte("parley media "), 100_000) // 1.3 MB
	path := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := alice.run("send", "--to", bob.account, "--file", path, "--caption", "my notes")
	if code != exitOK {
		t.Fatalf("send --file: exit %d\n%s%s", code, out, errOut)
	}
	// Not a terminal: one plain line at the end, no bar.
	if !strings.Contains(errOut, "uploaded notes.txt: 1.3 MB in ") || strings.Contains(errOut, "\r") {
		t.Errorf("send --file printed on stderr %q", errOut)
	}

	save := t.TempDir()
	// A file of that name is there already: it is not replaced.
	if err := os.WriteFile(filepath.Join(save, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	msgs := bob.recvJSON("--save-media", save)
	if len(msgs) != 1 {
		t.Fatalf("bob received %d messages: %+v", len(msgs), msgs)
	}
	m := msgs[0]
	if m.Kind != "media" || m.Text != "my notes" || m.Media == nil || m.Media.Kind != "document" ||
		m.Media.FileName != "notes.txt" || m.Media.MimeType != "text/plain" || m.Media.Size != uint64(len(data)) {
		t.Fatalf("bob received %+v (media %+v)", m, m.Media)
	}
	want := filepath.Join(save, "notes (1).txt")
	if m.Media.Saved != want {
		t.Fatalf("saved to %q, want %q", m.Media.Saved, want)
	}
	got, err := os.ReadFile(want)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the saved file differs from the sent one (%v)", err)
	}
	if mine, _ := os.ReadFile(filepath.Join(save, "notes.txt")); string(mine) != "mine" {
		t.Fatal("recv replaced a file that was there")
	}

	// Without --json: one line for people, and where it went.
	if err := os.WriteFile(path, []byte("second"), 0o600); err != nil {
		t.Fatal(err)
	}
	alice.must("send", "--to", bob.account, "--file", path, "--kind", "image")
	out = bob.must("recv", "--timeout", "300ms", "--save-media", save)
	if !strings.Contains(out, ": [image notes.txt, 6 B]") || !strings.Contains(out, "saved to "+filepath.Join(save, "notes (2).txt")) {
		t.Errorf("recv printed %q", out)
	}
}

func TestSendFileUsage(t *testing.T) {
	p := newPerson(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "--to", "+15550000000", "--file", "x", "--text", "y"}, "not both"},
		{[]string{"send", "--to", "+15550000000", "--file", "x", "--kind", "hologram"}, "--kind"},
		{[]string{"send", "--to", "+15550000000", "--text", "y", "--caption", "c"}, "go with --file"},
		{[]string{"recv", "--save-media", filepath.Join(t.TempDir(), "missing")}, "not a directory"},
	} {
		code, _, errOut := p.run(tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("parley %s: exit %d, %q; want 2 and %q", strings.Join(tc.args, " "), code, errOut, tc.want)
		}
	}
}

func TestTransferBar(t *testing.T) {
	var w bytes.Buffer
	b := &transferBar{w: &w, terminal: true, verb: "upload", name: "a.bin"}
	b.progress(0, 2_000_000)
	b.progress(1_000_000, 2_000_000) // within 100 ms: not drawn
	b.finish(nil)
	out := w.String()
	if !strings.HasPrefix(out, "\r\033[Kupload a.bin [                              ]   0% 0 B/2.0 MB") ||
		!strings.Contains(out, "\r\033[Kupload a.bin [==============================] 100% 2.0 MB/2.0 MB") ||
		!strings.HasSuffix(out, "\n") || strings.Contains(out, " 50%") {
		t.Fatalf("bar drew %q", out)
	}
	for n, want := range map[int64]string{999: "999 B", 1500: "1.5 kB", 2_500_000: "2.5 MB", 3_210_000_000: "3.21 GB"} {
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%d) = %q, want %q", n, got, want)
		}
	}
}
