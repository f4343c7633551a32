package blob_test

import (
	"testing"

	"github.com/parley-im/parley/internal/blob"
	"github.com/parley-im/parley/internal/blob/blobtest"
)

func TestFiles(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := blob.NewFiles(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
