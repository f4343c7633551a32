//go:build !linux

package poll

import (
	"errors"
	"testing"
)

func TestUnsupported(t *testing.T) {
	if _, err := New(); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("New: %v, want ErrUnsupported", err)
	}
}
