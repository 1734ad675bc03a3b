package stevedore

import (
	"math/rand/v2"
	"sync"
)

// lockShards is how many reader–writer locks a readMostlyLock spreads its
// readers over.
const lockShards = 8

// readMostlyLock guards state that every call reads and few calls write
// (the client's set of clusters). A sync.RWMutex counts its readers in one
// word, which every reader on every core writes; readers of a
// readMostlyLock take one of several locks, each on cache lines of its
// own, so concurrent readers rarely touch the same memory. A writer takes
// them all. The shard is picked at random (runtime randomness: it decides
// nothing observable).
type readMostlyLock struct {
	shards [lockShards]struct {
		sync.RWMutex
		_ [128]byte // keeps each lock on cache lines of its own
	}
}

// RLock takes a read lock and returns the token RUnlock needs.
func (l *readMostlyLock) RLock() int {
	i := int(rand.Uint32() % lockShards)
	l.shards[i].RLock()
	return i
}

// RUnlock releases the read lock RLock returned token for.
func (l *readMostlyLock) RUnlock(token int) {
	l.shards[token].RUnlock()
}

// Lock takes the write lock: every shard, in order.
func (l *readMostlyLock) Lock() {
	for i := range l.shards {
		l.shards[i].Lock()
	}
}

// Unlock releases the write lock.
func (l *readMostlyLock) Unlock() {
	for i := range l.shards {
		l.shards[i].Unlock()
	}
}
