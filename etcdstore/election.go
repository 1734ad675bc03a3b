package etcdstore

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// term is one elected term: the leader's writes are guarded by its
// election key's create revision, so that a process that lost the
// election writes nothing.
type term struct {
	key  string
	rev  int64
	done <-chan struct{} // closed when the term's lease ends
}

// guard is the comparison that holds while the term lasts.
func (t term) guard() clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(t.key), "=", t.rev)
}

// each calls fn at each time ticks delivers while the term lasts. It
// returns fn's error, errTicksClosed when ticks is closed, or why the term
// ended.
func (t term) each(ctx context.Context, ticks <-chan time.Time, fn func(now time.Time) error) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.done:
			return errors.New("etcdstore: the election's lease ended")
		case now, ok := <-ticks:
			if !ok {
				return errTicksClosed
			}
			if err := fn(now); err != nil {
				return err
			}
		}
	}
}

// errTicksClosed ends an election loop: the caller closed its ticks.
var errTicksClosed = errors.New("ticks closed")

// errNotLeader is a leader's write refused because its term has ended.
var errNotLeader = errors.New("etcdstore: not the scheduler's leader")

// election campaigns at key and runs lead for each term this process
// wins, until ctx ends or lead returns errTicksClosed. A term ends when
// lead returns (with any error: the process gives the election up); the
// lease is then revoked, so the next leader need not wait for it to
// lapse. etcd's failures (a lease not granted, a campaign refused) are
// waited out with a backoff: the election outlives an outage of etcd.
type election struct {
	etcd    *clientv3.Client
	key     string
	name    string
	ttl     int
	leading atomic.Bool
	elected chan struct{} // gets a value each time this process comes to lead
	feed    *feed         // the store's: when it fails, the election ends with its error

	beforeSession func() // test hook: called before each lease is asked for
}

func newElection(cli *clientv3.Client, key, name string, ttl int, f *feed) *election {
	return &election{etcd: cli, key: key, name: name, ttl: ttl, elected: make(chan struct{}, 1), feed: f}
}

func (e *election) run(ctx context.Context, lead func(ctx context.Context, t term) error) error {
	// The store failing (closed, or diverged from etcd) ends the election:
	// a copy that cannot follow must not lead, and its owner must hear.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-e.feed.failed:
			cancel(e.feed.failure())
		case <-ctx.Done():
		}
	}()
	backoff := minBackoff
	for ctx.Err() == nil {
		began := time.Now()
		s, err := e.session(ctx)
		if err == nil {
			err = e.term(ctx, s, lead)
			e.leading.Store(false)
			// Revoke the lease even when ctx has ended; bounded by the
			// lease's own life. Orphan, not Close: Close would revoke it
			// again.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(e.ttl)*time.Second)
			_, _ = e.etcd.Revoke(rctx, s.Lease())
			cancel()
			s.Orphan()
			if errors.Is(err, errTicksClosed) {
				return nil
			}
		}
		// A session etcd did not grant (etcd down, its leader changing)
		// or a term that ended at once (a commit refused) is tried again,
		// not at once: the election outlives etcd's outages.
		if time.Since(began) > maxBackoff {
			backoff = minBackoff
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		backoff = min(2*backoff, maxBackoff)
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause // the store failed, or the caller's deadline passed
	}
	return ctx.Err()
}

// session grants the election's lease, waiting at most its TTL for etcd
// (a lease granted later than that would be of no use), and keeps it
// alive until ctx ends.
func (e *election) session(ctx context.Context) (*concurrency.Session, error) {
	if e.beforeSession != nil {
		e.beforeSession()
	}
	gctx, cancel := context.WithTimeout(ctx, time.Duration(e.ttl)*time.Second)
	l, err := e.etcd.Grant(gctx, int64(e.ttl))
	cancel()
	if err != nil {
		return nil, err
	}
	return concurrency.NewSession(e.etcd, concurrency.WithLease(l.ID), concurrency.WithTTL(e.ttl), concurrency.WithContext(ctx))
}

// term campaigns and, once elected, leads. The term's context ends with
// the session's lease: a campaign or a leader waiting on etcd when the
// lease ends gives up at once.
func (e *election) term(ctx context.Context, s *concurrency.Session, lead func(ctx context.Context, t term) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	el := concurrency.NewElection(s, e.key)
	campaigned := make(chan error, 1)
	// Campaign, when its context ends, resigns with a context of the
	// client's own, which waits for etcd: it is not waited for here, so
	// that stopping never waits for an etcd that is down.
	go func() { campaigned <- el.Campaign(ctx, e.name) }()
	select {
	case err := <-campaigned:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	if ctx.Err() != nil { // the lease ended as the campaign did: its key is gone
		return errors.New("etcdstore: the election's lease ended")
	}
	e.leading.Store(true)
	select {
	case e.elected <- struct{}{}:
	default:
	}
	return lead(ctx, term{key: el.Key(), rev: el.Rev(), done: s.Done()})
}
