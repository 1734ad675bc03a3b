package scheduler

// SetMaxFeedLog sets the change feed's log bound for a test and returns
// a function that restores it.
func SetMaxFeedLog(n int) (restore func()) {
	old := maxFeedLog
	maxFeedLog = n
	return func() { maxFeedLog = old }
}
