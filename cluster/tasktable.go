package cluster

import (
	"iter"
	"math"
)

// taskChunkBits sets the size of a taskTable chunk: 1,024 tasks, 8 KiB.
const taskChunkBits = 10

const taskChunkSize = 1 << taskChunkBits

// taskTable holds a cluster's retained tasks by number: the n-th task
// drawn (see [Cluster.newTaskARN]; its id encodes n) is found without
// hashing, in chunks of taskChunkSize. A chunk whose tasks are all gone,
// and all of whose numbers have been drawn, is freed, so the table holds
// about one pointer per retained task plus a pointer per chunk between
// the oldest and the newest.
type taskTable struct {
	base   uint64 // chunk number of chunks[0]
	chunks []*taskChunk
	size   int // tasks held
	// lingering says that chunk number linger emptied while numbers in it
	// were still to be drawn: it is freed once they all are, if still
	// empty. Only the chunk being drawn from can be in that state.
	lingering bool
	linger    uint64
}

type taskChunk struct {
	live  int
	tasks [taskChunkSize]*Task
}

// get returns task number n, or nil.
func (tt *taskTable) get(n uint64) *Task {
	k := n >> taskChunkBits
	if k < tt.base || k-tt.base >= uint64(len(tt.chunks)) {
		return nil
	}
	ch := tt.chunks[k-tt.base]
	if ch == nil {
		return nil
	}
	return ch.tasks[n&(taskChunkSize-1)]
}

// put stores t as task number n; the slot must be empty.
func (tt *taskTable) put(n uint64, t *Task) {
	k := n >> taskChunkBits
	if tt.lingering && k > tt.linger { // n was drawn after all of linger
		tt.release(tt.linger)
	}
	if len(tt.chunks) == 0 {
		tt.base = k
	}
	if k < tt.base { // a number drawn before the head chunk was freed
		grown := make([]*taskChunk, tt.base-k, int(tt.base-k)+len(tt.chunks))
		tt.chunks = append(grown, tt.chunks...)
		tt.base = k
	}
	for k-tt.base >= uint64(len(tt.chunks)) {
		tt.chunks = append(tt.chunks, nil)
	}
	ch := tt.chunks[k-tt.base]
	if ch == nil {
		ch = new(taskChunk)
		tt.chunks[k-tt.base] = ch
	}
	ch.tasks[n&(taskChunkSize-1)] = t
	ch.live++
	tt.size++
}

// remove takes task number n out of the table. drawn is how many numbers
// have been drawn so far: a chunk is freed only once none of its numbers
// can still arrive.
func (tt *taskTable) remove(n, drawn uint64) {
	if tt.lingering && (drawn+1)>>taskChunkBits > tt.linger {
		tt.release(tt.linger)
	}
	k := n >> taskChunkBits
	if k < tt.base || k-tt.base >= uint64(len(tt.chunks)) {
		return
	}
	ch := tt.chunks[k-tt.base]
	if ch == nil || ch.tasks[n&(taskChunkSize-1)] == nil {
		return
	}
	ch.tasks[n&(taskChunkSize-1)] = nil
	ch.live--
	tt.size--
	if ch.live > 0 {
		return
	}
	if (drawn+1)>>taskChunkBits <= k { // numbers of chunk k may still come
		tt.lingering, tt.linger = true, k
		return
	}
	tt.release(k)
}

// release frees chunk number k if it is empty, and trims the empty chunks
// at the front.
func (tt *taskTable) release(k uint64) {
	if tt.lingering && tt.linger == k {
		tt.lingering = false
	}
	if k < tt.base || k-tt.base >= uint64(len(tt.chunks)) {
		return
	}
	if ch := tt.chunks[k-tt.base]; ch == nil || ch.live > 0 {
		return
	}
	tt.chunks[k-tt.base] = nil
	for len(tt.chunks) > 0 && tt.chunks[0] == nil {
		tt.chunks = tt.chunks[1:]
		tt.base++
	}
}

// after yields the tasks numbered above n, in order of number.
func (tt *taskTable) after(n uint64) iter.Seq[*Task] {
	return func(yield func(*Task) bool) {
		if n == math.MaxUint64 {
			return
		}
		first := n + 1
		if first < tt.base<<taskChunkBits {
			first = tt.base << taskChunkBits
		}
		for k := first >> taskChunkBits; k-tt.base < uint64(len(tt.chunks)); k++ {
			ch := tt.chunks[k-tt.base]
			if ch == nil {
				continue
			}
			j := uint64(0)
			if k == first>>taskChunkBits {
				j = first & (taskChunkSize - 1)
			}
			for ; j < taskChunkSize; j++ {
				if t := ch.tasks[j]; t != nil && !yield(t) {
					return
				}
			}
		}
	}
}
