//go:build race

package ws_test

// raceEnabled: the race detector makes frames larger, so stack sizes mean
// nothing under it.
const raceEnabled = true
