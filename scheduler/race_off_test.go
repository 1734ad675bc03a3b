//go:build !race

package scheduler_test

// raceEnabled: the race detector is on. It makes sync.Pool drop objects
// at random, so allocation counts are not comparable.
const raceEnabled = false
