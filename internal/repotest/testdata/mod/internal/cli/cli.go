// Package cli owns the terminal.
package cli

import "fmt"

func Hello() { fmt.Println("hello") }
