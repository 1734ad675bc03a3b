// Package rwshard provides a reader–writer lock whose readers on different
// cores rarely touch the same memory.
package rwshard

import (
	"math/rand/v2"
	"sync"
)

// shards is how many reader–writer locks a RWMutex spreads its
// readers over.
const shards = 8

// RWMutex is a reader–writer lock for state that nearly every call reads
// and few calls write (the client's set of clusters, the task definition
// registry). A sync.RWMutex counts its readers in one word, which every
// reader on every core writes; a reader of an RWMutex takes one of several
// locks, each on cache lines of its own, so concurrent readers rarely touch
// the same memory. A writer takes them all. The shard is picked at random
// (runtime randomness: it decides nothing observable). The zero value is
// an unlocked RWMutex.
type RWMutex struct {
	locks [shards]struct {
		sync.RWMutex
		_ [128]byte // keeps each lock on cache lines of its own
	}
}

// RLock takes a read lock and returns the token RUnlock needs.
func (l *RWMutex) RLock() int {
	i := int(rand.Uint32() % shards)
	l.locks[i].RLock()
	return i
}

// RUnlock releases the read lock RLock returned token for.
func (l *RWMutex) RUnlock(token int) {
	l.locks[token].RUnlock()
}

// Lock takes the write lock: every shard, in order.
func (l *RWMutex) Lock() {
	for i := range l.locks {
		l.locks[i].Lock()
	}
}

// Unlock releases the write lock.
func (l *RWMutex) Unlock() {
	for i := range l.locks {
		l.locks[i].Unlock()
	}
}
