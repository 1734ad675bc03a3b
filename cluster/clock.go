package cluster

import (
	"sync/atomic"
	"time"
)

// Clock tells the time. Every timestamp the cluster records (registeredAt,
// createdAt, startedAt, stoppedAt, ...) comes from the Clock it was given,
// never from the wall clock, so tests and simulations replay exactly.
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to the [Clock] interface.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// SystemClock is the wall clock. It is the default for production use only;
// tests and simulations pass a [ManualClock].
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// ManualClock is a [Clock] that moves only when told to. It is safe for
// concurrent use, and reading it takes no lock: the many goroutines of a
// simulation that read it do not contend. The zero value stands at the zero
// time.
type ManualClock struct {
	now atomic.Pointer[time.Time]
}

// NewManualClock returns a clock standing at start.
func NewManualClock(start time.Time) *ManualClock {
	c := new(ManualClock)
	c.now.Store(&start)
	return c
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	return c.load(c.now.Load())
}

// load reads a stored time; nil is the zero value's zero time.
func (*ManualClock) load(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return *p
}

// Advance moves the clock forward by d (a negative d is ignored: time does
// not run backwards) and returns the new time.
func (c *ManualClock) Advance(d time.Duration) time.Time {
	for {
		old := c.now.Load()
		if d <= 0 {
			return c.load(old)
		}
		t := c.load(old).Add(d)
		if c.now.CompareAndSwap(old, &t) {
			return t
		}
	}
}

// Set moves the clock to t if t is not before the current time, and reports
// whether it moved.
func (c *ManualClock) Set(t time.Time) bool {
	for {
		old := c.now.Load()
		if t.Before(c.load(old)) {
			return false
		}
		if c.now.CompareAndSwap(old, &t) {
			return true
		}
	}
}
