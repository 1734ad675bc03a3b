//go:build race

package planner_test

// raceEnabled: the race detector is on and slows the packing tenfold; the
// quality tests then run small instances and check validity only, and
// .ci/run runs them again without it, with the targets.
const raceEnabled = true
