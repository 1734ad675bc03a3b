package cluster

import (
	"iter"
	"math"
	"math/bits"
)

// taskChunkBits sets the size of a taskTable chunk: 64 tasks, one bit each
// in the chunk's mask.
const taskChunkBits = 6

const taskChunkSize = 1 << taskChunkBits

// taskTable holds a cluster's retained tasks by number: task number n (see
// [Cluster.nextTaskARN]; its id encodes n) is found without hashing, in
// chunks of 64. A chunk is freed when its tasks are all gone and all its
// numbers have been drawn. Memory: a pointer per 64 numbers between the
// oldest retained task and the newest, plus a 528-byte chunk per 64
// numbers that still hold a task — at best 8 bytes a task, at worst (one
// long-lived task among every 64) 528. Walking it costs O(1) per chunk
// and per task yielded.
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
	mask  uint64 // bit i: tasks[i] is held
	tasks [taskChunkSize]*Task
}

// chunk returns the chunk holding number n, or nil.
func (tt *taskTable) chunk(n uint64) *taskChunk {
	k := n >> taskChunkBits
	if k < tt.base || k-tt.base >= uint64(len(tt.chunks)) {
		return nil
	}
	return tt.chunks[k-tt.base]
}

// get returns task number n, or nil.
func (tt *taskTable) get(n uint64) *Task {
	if ch := tt.chunk(n); ch != nil {
		return ch.tasks[n&(taskChunkSize-1)]
	}
	return nil
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
	// The cluster draws numbers in order under its lock, and a chunk
	// that numbers may still come to is never freed, so n is not below
	// the chunks held; the table stays right for any order all the same.
	if k < tt.base {
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
	i := n & (taskChunkSize - 1)
	ch.tasks[i] = t
	ch.mask |= 1 << i
	tt.size++
}

// remove takes task number n out of the table. drawn is the highest
// number drawn so far: a chunk is freed only once none of its numbers can
// still come.
func (tt *taskTable) remove(n, drawn uint64) {
	if tt.lingering && (drawn+1)>>taskChunkBits > tt.linger {
		tt.release(tt.linger)
	}
	ch := tt.chunk(n)
	i := n & (taskChunkSize - 1)
	if ch == nil || ch.mask&(1<<i) == 0 {
		return
	}
	ch.tasks[i] = nil
	ch.mask &^= 1 << i
	tt.size--
	if ch.mask != 0 {
		return
	}
	k := n >> taskChunkBits
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
	if ch := tt.chunks[k-tt.base]; ch == nil || ch.mask != 0 {
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
		first := max(n+1, tt.base<<taskChunkBits)
		for k := first >> taskChunkBits; k-tt.base < uint64(len(tt.chunks)); k++ {
			ch := tt.chunks[k-tt.base]
			if ch == nil {
				continue
			}
			mask := ch.mask
			if k == first>>taskChunkBits {
				mask &^= 1<<(first&(taskChunkSize-1)) - 1 // numbers below first
			}
			for mask != 0 {
				i := bits.TrailingZeros64(mask)
				mask &= mask - 1
				if !yield(ch.tasks[i]) {
					return
				}
			}
		}
	}
}
