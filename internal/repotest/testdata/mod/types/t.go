// Package types imports internal code, which it must not.
package types

import _ "example.org/fixture/internal/secret"
