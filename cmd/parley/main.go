// Parley is an end-to-end encrypted messaging server. Run "parley help"
// for its commands; internal/cli implements them.
package main

import (
	"os"

	"github.com/parley-im/parley/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
