// Command tool owns the terminal too.
package main

import "fmt"

func main() { fmt.Println("hello") }
