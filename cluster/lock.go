package cluster

import (
	"runtime"
	"sync"
)

// spinTries is how often lock tries to take the lock, yielding in between,
// before it blocks.
const spinTries = 64

// rwLock is a sync.RWMutex that spins before it blocks. The cluster's
// critical sections last about a microsecond; a goroutine that blocks on a
// sync.RWMutex is woken onto the releasing goroutine's processor and waits
// there for it to yield, which costs far more than the section on a
// machine with few cores. Spinning — a try, then runtime.Gosched, which
// also lets a preempted holder run when GOMAXPROCS is 1 — keeps the
// waiter on its own processor; after spinTries it blocks as usual, so a
// long wait costs no CPU.
type rwLock struct {
	mu sync.RWMutex
}

// Lock takes the write lock.
func (l *rwLock) Lock() {
	for range spinTries {
		if l.mu.TryLock() {
			return
		}
		runtime.Gosched()
	}
	l.mu.Lock()
}

// Unlock releases the write lock.
func (l *rwLock) Unlock() { l.mu.Unlock() }

// RLock takes the read lock.
func (l *rwLock) RLock() {
	for range spinTries {
		if l.mu.TryRLock() {
			return
		}
		runtime.Gosched()
	}
	l.mu.RLock()
}

// RUnlock releases the read lock.
func (l *rwLock) RUnlock() { l.mu.RUnlock() }

// cacheLinePad separates fields that different cores write: 128 bytes, two
// cache lines, as adjacent lines are fetched together.
type cacheLinePad [128]byte
