package cli

import (
	"strings"

	"rsc.io/qr"
)

// quietZone is the light border, in modules, that a scanner needs around a
// QR code (ISO/IEC 18004 asks for 4).
const quietZone = 4

// qrHalfBlocks renders data as a QR code for a terminal: each character
// cell holds two modules, one above the other, drawn with the half-block
// characters, so the code keeps its square shape. Light modules are drawn
// (as the terminal's foreground) and dark ones left blank: terminals
// mostly draw light text on a dark background, and a code whose light
// parts are light is what scanners read best. Level M tolerates a
// smudged or partly reflecting screen.
func qrHalfBlocks(data []byte) (string, error) {
	code, err := qr.Encode(string(data), qr.M)
	if err != nil {
		return "", err
	}
	// light reports whether the module at (x, y), in coordinates that
	// include the quiet zone, is light.
	light := func(x, y int) bool { return !code.Black(x-quietZone, y-quietZone) }
	n := code.Size + 2*quietZone
	var b strings.Builder
	for y := 0; y < n; y += 2 {
		for x := 0; x < n; x++ {
			top, bottom := light(x, y), y+1 < n && light(x, y+1)
			switch {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteString(" ")
			}
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}
