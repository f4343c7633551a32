package padding

import (
	"fmt"
	"testing"
)

// Sizes: a typical text message, a message with a long body or quote, and
// a large Content (the size of a big group update).
func BenchmarkPad(b *testing.B) {
	for _, n := range []int{100, 2000, 64 << 10} {
		c := content(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				_ = Pad(c)
			}
		})
	}
}

// Unpad's cost is the trailing zeros it scans, at most one step: it does
// not grow with the content.
func BenchmarkUnpad(b *testing.B) {
	for _, n := range []int{100, 2000, 64 << 10} {
		p := Pad(content(n))
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Unpad(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
