package padding

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// content returns n bytes that are neither zero nor 0x80 at the end, so a
// wrong cut shows.
func content(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7+n) | 1
	}
	return b
}

// The padded lengths at the step edges, written out rather than computed:
// 78 bytes and the terminator fill the first step exactly, 79 bytes already
// take two (the cipher needs its byte inside the step too).
func TestPadLengths(t *testing.T) {
	for _, c := range []struct{ n, want int }{
		{0, 79}, {1, 79}, {77, 79}, {78, 79},
		{79, 159}, {80, 159}, {157, 159}, {158, 159},
		{159, 239}, {160, 239}, {161, 239}, {238, 239},
		{239, 319}, {318, 319}, {319, 399}, {320, 399},
		{65536, 65599},
	} {
		in := content(c.n)
		orig := bytes.Clone(in)
		got := Pad(in)
		if len(got) != c.want || PaddedLen(c.n) != c.want {
			t.Errorf("n=%d: Pad gives %d bytes, PaddedLen %d, want %d", c.n, len(got), PaddedLen(c.n), c.want)
			continue
		}
		if !bytes.Equal(in, orig) {
			t.Fatalf("n=%d: Pad modified its input", c.n)
		}
		if !bytes.Equal(got[:c.n], in) || got[c.n] != 0x80 || !allZero(got[c.n+1:]) {
			t.Errorf("n=%d: padded bytes are not content ‖ 0x80 ‖ zeros", c.n)
		}
		back, err := Unpad(got)
		if err != nil || !bytes.Equal(back, in) {
			t.Errorf("n=%d: Unpad(Pad(x)) = %x, %v", c.n, back, err)
		}
	}
}

// What the padding is for: the ciphertext body (padded length plus the one
// PKCS#7 byte) is a whole number of steps, and the padding costs at least
// the terminator and at most one step.
func TestPadHidesLengthWithinAStep(t *testing.T) {
	for n := 0; n <= 3*BlockSize+5; n++ {
		l := len(Pad(content(n)))
		if (l+1)%BlockSize != 0 {
			t.Fatalf("n=%d: %d+1 bytes is not a whole number of %d-byte steps", n, l, BlockSize)
		}
		if over := l - n; over < 1 || over > BlockSize {
			t.Fatalf("n=%d: %d bytes of padding", n, over)
		}
		if n > 0 && l < PaddedLen(n-1) {
			t.Fatalf("n=%d: padded length went down", n)
		}
	}
}

func TestUnpad(t *testing.T) {
	for _, c := range []struct {
		name, padded, want string
		err                bool
	}{
		{"terminator only", "80", "", false},
		{"no zeros after terminator", "4180", "41", false},
		{"zeros after terminator", "41800000", "41", false},
		{"content ends in 0x80", "808000", "80", false},
		{"content ends in zero", "00800000", "00", false},
		{"empty", "", "", true},
		{"all zeros", "000000", "", true},
		{"no padding, content ends non-zero", "4142", "", true},
		{"non-zero after terminator", "418001", "", true},
		{"other high byte", "418100", "", true},
	} {
		padded, _ := hex.DecodeString(c.padded)
		orig := bytes.Clone(padded)
		got, err := Unpad(padded)
		if !bytes.Equal(padded, orig) {
			t.Fatalf("%s: Unpad modified its input", c.name)
		}
		if c.err {
			if !errors.Is(err, ErrNoTerminator) || got != nil {
				t.Errorf("%s: got %x, %v; want ErrNoTerminator", c.name, got, err)
			}
			continue
		}
		if err != nil || hex.EncodeToString(got) != c.want {
			t.Errorf("%s: got %x, %v; want %s", c.name, got, err, c.want)
		}
	}
}

// Appending to what Unpad returns must not write into the caller's padded
// buffer (it is a subslice of it).
func TestUnpadResultAppendSafe(t *testing.T) {
	padded := Pad([]byte("hi"))
	got, err := Unpad(padded)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(got, 'x')
	if padded[2] != 0x80 {
		t.Fatal("append through Unpad's result overwrote the terminator")
	}
}

type vectors struct {
	Pad []struct {
		Content string `json:"content"`
		Padded  string `json:"padded"`
	} `json:"pad"`
	Unpad []struct {
		Padded  string `json:"padded"`
		Content string `json:"content"`
		Error   string `json:"error"`
	} `json:"unpad"`
}

// testdata/vectors.json was computed by a separate transcription of the
// clients' rule (see its comment), so a mistake here and there would have to
// agree to pass. It includes content padded to 160-byte steps, as older
// clients sent it.
func TestGoldenVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Pad) < 20 || len(v.Unpad) < 10 {
		t.Fatalf("only %d pad and %d unpad vectors", len(v.Pad), len(v.Unpad))
	}
	for i, p := range v.Pad {
		c, want := mustHex(t, p.Content), mustHex(t, p.Padded)
		if got := Pad(c); !bytes.Equal(got, want) {
			t.Errorf("pad %d (%d bytes): got %d bytes %x…, want %d bytes", i, len(c), len(got), head(got), len(want))
		}
		if got, err := Unpad(want); err != nil || !bytes.Equal(got, c) {
			t.Errorf("pad %d: Unpad gives %x, %v", i, head(got), err)
		}
	}
	for i, u := range v.Unpad {
		got, err := Unpad(mustHex(t, u.Padded))
		if u.Error != "" {
			if !errors.Is(err, ErrNoTerminator) {
				t.Errorf("unpad %d (%s): got %x, %v; want ErrNoTerminator", i, u.Padded, got, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, mustHex(t, u.Content)) {
			t.Errorf("unpad %d: got %x, %v; want %s", i, head(got), err, u.Content)
		}
	}
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func head(b []byte) []byte { return b[:min(len(b), 16)] }
