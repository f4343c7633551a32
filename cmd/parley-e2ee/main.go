// Parley-e2ee is the JSON-lines driver of Parley's Signal protocol
// implementation, speaking the protocol of the libsignal oracle
// (interop/README.md); internal/e2eedriver implements it.
package main

import (
	"os"

	"github.com/parley-im/parley/internal/e2eedriver"
)

func main() { os.Exit(e2eedriver.Main(os.Stdin, os.Stdout, os.Stderr)) }
