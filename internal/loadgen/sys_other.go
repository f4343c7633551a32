//go:build !unix

package loadgen

import (
	"errors"
	"time"
)

func raiseFileLimit(want uint64) (FileLimit, error) {
	return FileLimit{Wanted: want}, errors.New("open-file limits are not supported on this system")
}

func cpuTime() time.Duration { return 0 }
