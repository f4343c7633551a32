package types

import _ "example.org/fixture/internal/cli"
