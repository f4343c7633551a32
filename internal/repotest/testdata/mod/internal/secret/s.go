// Package secret prints where it should log.
package secret

import (
	"fmt"
	f "fmt"
	"log"
	"os"
)

func Leak() {
	fmt.Println("hello")
	f.Printf("%d\n", 1)
	p := fmt.Print
	p("x")
	log.Print("log.Print is not fmt")
	_ = fmt.Sprintf("%d", 1)
	fmt.Fprintln(os.Stderr, "explicit writers are fine")
}
