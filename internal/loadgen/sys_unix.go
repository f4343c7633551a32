//go:build unix

package loadgen

import (
	"syscall"
	"time"
)

// raiseFileLimit lifts the process's open-file limit towards want: the
// soft limit up to the hard one, and the hard one too when the process may
// (root, or CAP_SYS_RESOURCE). It returns the soft limit it ended with.
func raiseFileLimit(want uint64) (FileLimit, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return FileLimit{}, err
	}
	got := FileLimit{Before: l.Cur, Hard: l.Max, Wanted: want}
	if want > l.Max {
		// Only a privileged process may raise the hard limit; try, and
		// fall back to the hard limit as it is.
		raised := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			got.After, got.Hard = want, want
			return got, nil
		}
	}
	if l.Cur < min(want, l.Max) {
		l.Cur = min(want, l.Max)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			got.After = got.Before
			return got, err
		}
	}
	got.After = l.Cur
	return got, nil
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
