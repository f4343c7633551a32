package secret

import "fmt"

func helper() { fmt.Println("tests may print") }
