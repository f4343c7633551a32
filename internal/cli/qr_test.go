package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"rsc.io/qr"
)

// The half-block picture holds exactly the modules of the code, with the
// quiet zone around them: reading the characters back gives the matrix.
func TestQRHalfBlocksRoundTrip(t *testing.T) {
	for _, data := range []string{"x", "parley://link?c=ABCDEF&k=0123456789abcdef0123456789abcdef", strings.Repeat("\x00\xff", 80)} {
		pic, err := qrHalfBlocks([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		code, err := qr.Encode(data, qr.M)
		if err != nil {
			t.Fatal(err)
		}
		n := code.Size + 2*quietZone
		lines := strings.Split(strings.TrimSuffix(pic, "\n"), "\n")
		if len(lines) != (n+1)/2 {
			t.Fatalf("%d lines, want %d", len(lines), (n+1)/2)
		}
		for row, line := range lines {
			cells := []rune(line)
			if len(cells) != n {
				t.Fatalf("line %d has %d cells, want %d", row, len(cells), n)
			}
			for x, r := range cells {
				top := r == '█' || r == '▀'
				bottom := r == '█' || r == '▄'
				for i, lightHere := range []bool{top, bottom} {
					y := 2*row + i
					if y >= n {
						continue
					}
					if want := !code.Black(x-quietZone, y-quietZone); lightHere != want {
						t.Fatalf("%q: module (%d,%d) light=%v, want %v", data, x, y, lightHere, want)
					}
				}
			}
		}
	}
}

func TestQRHalfBlocksGolden(t *testing.T) {
	pic, err := qrHalfBlocks([]byte("parley"))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, filepath.Join("testdata", "qr-parley.golden"), pic)
}
