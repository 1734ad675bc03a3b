package scheduler

// DisableQuietSteps makes every Reconcile of ss a full step, for tests that
// compare the fast path with it.
func DisableQuietSteps(ss *Services) { ss.quietAllowed = false }

// SetMaxFeedLog sets the change feed's log bound for a test and returns
// a function that restores it.
func SetMaxFeedLog(n int) (restore func()) {
	old := maxFeedLog
	maxFeedLog = n
	return func() { maxFeedLog = old }
}
