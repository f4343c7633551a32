// Package client imports a package whose path only starts like internal.
package client

import _ "example.org/fixture/internalish"
