// Package rwshard provides a reader–writer lock whose readers on different
// cores rarely touch the same memory.
package rwshard

import (
	"sync"
	"sync/atomic"
)

// shards is how many reader–writer locks a RWMutex spreads its
// readers over.
const shards = 8

// RWMutex is a reader–writer lock for state that nearly every call reads
// and few calls write (the client's set of clusters, the task definition
// registry). A sync.RWMutex counts its readers in one word, which every
// reader on every core writes; a reader of an RWMutex takes one of several
// locks, each on cache lines of its own, so concurrent readers rarely touch
// the same memory. A writer takes them all. A reader takes the shard of the
// processor (P) it runs on, so a shard's cache lines stay with one core; it
// decides nothing observable. The zero value is an unlocked RWMutex.
type RWMutex struct {
	locks [shards]struct {
		sync.RWMutex
		_ [128]byte // keeps each lock on cache lines of its own
	}
}

// RLock takes a read lock and returns the token RUnlock needs.
func (l *RWMutex) RLock() int {
	i := shard()
	l.locks[i].RLock()
	return i
}

// shardOf holds *int shard numbers. A sync.Pool keeps one object per
// processor in a slot of its own, so a Get followed by a Put returns the
// same number on the same processor, without a shared write: a per-P
// number, which Go does not otherwise expose.
var (
	shardOf   sync.Pool
	nextShard atomic.Uint32
)

// shard returns the current processor's shard number.
func shard() int {
	p, _ := shardOf.Get().(*int)
	if p == nil { // new processor, or the pool was cleared by a GC
		p = new(int)
		*p = int(nextShard.Add(1) % shards)
	}
	i := *p
	shardOf.Put(p)
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
