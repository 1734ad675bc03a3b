package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/stevedore-go/stevedore/cluster"
)

// Group commit. A copy commits one proposal at a time: its lock is held
// across the transaction's round trip, so that the watch cannot apply
// another process's change between the check and the write. Proposals
// that callers in this process make while a transaction is on its way
// wait in a queue, and the next transaction takes them: they are checked
// together, as one proposal whose stops and placements are theirs in the
// order they came, and written in one transaction. A copy thus commits as
// many proposals per round trip as it has callers waiting, where it
// committed one. Checked together, a group's stops come before its
// placements; so a group never has a proposal that stops after one that
// places (see take), and checking it together is checking its proposals
// one after another.
//
// A batch is all or nothing too. When it does not fit as a whole (one of
// its proposals was decided on room another has taken), each proposal is
// committed on its own, so that each caller gets its own answer: the
// same it would have had without the batch.

// queued is a proposal waiting for a transaction.
type queued struct {
	ctx  context.Context // the caller's, for a proposal committed alone
	p    cluster.Proposal
	ops  int // the most etcd operations it needs
	out  cluster.Applied
	err  error
	done bool          // set before wake is sent, or by the goroutine leading
	wake chan struct{} // a value: done, or lead the next batches
}

// batcher is the queue of a copy's proposals.
type batcher struct {
	mu      sync.Mutex
	queue   []*queued
	leading bool // a caller is committing batches

	leaders, mostLeaders int // callers leading now, and the most ever (one, or a bug)
}

// led counts a caller that leads, from now until it passes the lead on.
func (b *batcher) led(d int) {
	b.mu.Lock()
	b.leaders += d
	b.mostLeaders = max(b.mostLeaders, b.leaders)
	b.mu.Unlock()
}

// commitQueued commits p with the proposals queued beside it. The caller
// whose proposal finds no batch in progress leads: it commits batches
// until its own proposal is done, then hands the lead to the oldest
// waiting caller, so that no caller works for others for long.
func (c *Cluster) commitQueued(ctx context.Context, p cluster.Proposal) (cluster.Applied, error) {
	q := &queued{ctx: ctx, p: p, ops: 2 * (len(p.Stops) + len(p.Placements)), wake: make(chan struct{}, 1)}
	b := &c.batch
	b.mu.Lock()
	b.queue = append(b.queue, q)
	lead := !b.leading
	b.leading = true
	b.mu.Unlock()
	if !lead {
		if err := b.wait(ctx, q); err != nil {
			return cluster.Applied{}, err
		}
		if q.done { // a leader committed it
			return q.out, q.err
		}
		// else the lead was passed on to this caller
	}
	b.led(1)
	defer b.passLead() // even if a commit panics (an observer's bug)
	for !q.done {
		b.mu.Lock()
		batch := b.take(c.opts.MaxTxnOps)
		b.mu.Unlock()
		c.commitBatch(batch, q)
	}
	return q.out, q.err
}

// passLead ends a caller's lead: the oldest waiting caller leads next.
func (b *batcher) passLead() {
	b.led(-1)
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.queue) > 0 {
		b.queue[0].wake <- struct{}{} // the lead passes; leading stays set
	} else {
		b.leading = false
	}
}

// wait waits for q's wake. If ctx ends first while q is still queued, q
// leaves the queue, uncommitted, and wait returns why; once a leader has
// taken q, its answer is waited for (it comes within the commit's
// timeout).
func (b *batcher) wait(ctx context.Context, q *queued) error {
	select {
	case <-q.wake:
		return nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	select {
	case <-q.wake: // woken meanwhile (the lead is passed under b.mu)
		b.mu.Unlock()
		return nil
	default:
	}
	if i := slices.Index(b.queue, q); i >= 0 {
		b.queue = slices.Delete(b.queue, i, i+1)
		b.mu.Unlock()
		return notCommitted{fmt.Errorf("etcdstore: %w before the commit was sent", ctx.Err())}
	}
	b.mu.Unlock()
	<-q.wake
	return nil
}

// take removes the oldest proposals whose operations fit in one
// transaction together (the first one always: one too large on its own is
// refused with ErrTooLarge when it is committed). A group is checked
// stops first, then placements, so it ends before a proposal that stops
// after one that places: checked together, that proposal's stops would
// make room for an earlier placement that, in the order they came, had
// none.
func (b *batcher) take(maxOps int) []*queued {
	n, ops := 1, b.queue[0].ops
	placed := len(b.queue[0].p.Placements) > 0
	for n < len(b.queue) {
		q := b.queue[n]
		if ops+q.ops > maxOps || placed && len(q.p.Stops) > 0 {
			break
		}
		ops += q.ops
		placed = placed || len(q.p.Placements) > 0
		n++
	}
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	return batch
}

// commitBatch commits a batch and answers its proposals; each but me (the
// leading caller's own, which may be in it) is woken.
func (c *Cluster) commitBatch(batch []*queued, me *queued) {
	defer func() {
		if r := recover(); r != nil { // answer the group, then go on panicking
			for _, q := range batch {
				q.out, q.err, q.done = cluster.Applied{}, fmt.Errorf("etcdstore: a commit panicked: %v", r), true
				if q != me {
					q.wake <- struct{}{}
				}
			}
			panic(r)
		}
	}()
	if len(batch) == 1 {
		batch[0].out, batch[0].err = c.applyNow(batch[0].ctx, batch[0].p)
	} else {
		var all cluster.Proposal
		for _, q := range batch {
			all.Stops = append(all.Stops, q.p.Stops...)
			all.Placements = append(all.Placements, q.p.Placements...)
			all.Attempt = max(all.Attempt, q.p.Attempt)
		}
		out, err := c.applyNow(context.Background(), all)
		var unknown *fateUnknown
		switch {
		case err == nil:
			c.commits.Add(int64(len(batch) - 1))
			s, p := 0, 0
			for _, q := range batch {
				ns, np := len(q.p.Stops), len(q.p.Placements)
				q.out = cluster.Applied{Stopped: out.Stopped[s : s+ns : s+ns], Started: out.Started[p : p+np : p+np]}
				s, p = s+ns, p+np
			}
		case errors.As(err, &unknown):
			// Etcd may have applied the batch or not: so it may have each
			// proposal; the copy will hear which.
			for _, q := range batch {
				q.err = err
			}
		default:
			// Nothing was written (a proposal does not fit, or is not
			// valid, or the copy failed): each proposal on its own gets
			// its own answer.
			for _, q := range batch {
				q.out, q.err = c.applyNow(q.ctx, q.p)
			}
		}
	}
	for _, q := range batch {
		q.done = true
		if q != me {
			q.wake <- struct{}{}
		}
	}
}

// applyNow commits one proposal, within ClusterOptions.Timeout.
func (c *Cluster) applyNow(ctx context.Context, p cluster.Proposal) (cluster.Applied, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	return c.apply(ctx, p, nil)
}
