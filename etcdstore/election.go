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

	beforeSession func() // test hook: called before each lease is asked for
}

func newElection(cli *clientv3.Client, key, name string, ttl int) *election {
	return &election{etcd: cli, key: key, name: name, ttl: ttl, elected: make(chan struct{}, 1)}
}

func (e *election) run(ctx context.Context, lead func(ctx context.Context, t term) error) error {
	backoff := minBackoff
	for ctx.Err() == nil {
		began := time.Now()
		s, err := e.session(ctx)
		if err == nil {
			err = e.term(ctx, s, lead)
			e.leading.Store(false)
			// Revoke the lease even when ctx has ended; bounded by the
			// lease's own life.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(e.ttl)*time.Second)
			_, _ = e.etcd.Revoke(rctx, s.Lease())
			cancel()
			_ = s.Close()
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
	return concurrency.NewSession(e.etcd, concurrency.WithLease(l.ID), concurrency.WithContext(ctx))
}

func (e *election) term(ctx context.Context, s *concurrency.Session, lead func(ctx context.Context, t term) error) error {
	el := concurrency.NewElection(s, e.key)
	if err := el.Campaign(ctx, e.name); err != nil {
		return err
	}
	e.leading.Store(true)
	select {
	case e.elected <- struct{}{}:
	default:
	}
	return lead(ctx, term{key: el.Key(), rev: el.Rev(), done: s.Done()})
}
