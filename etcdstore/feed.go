package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// feed follows the keys under one prefix in etcd's revision order: a load
// at one revision, then a watch from the next; a watch whose revisions
// were compacted away loads again, never a silent gap. A [Replica] (the
// call log) and a [Cluster] (the cluster's records) are each built on one.
type feed struct {
	etcd    *clientv3.Client
	watcher clientv3.Watcher
	prefix  string // what is watched
	syncKey string // a key a linearizable read gets to learn etcd's revision
	// reload reads the state at one revision and makes the copy that
	// state, taking mu itself to change it; it returns the revision.
	reload func(ctx context.Context) (int64, error)
	// apply applies one event of the watch; mu is held. An error means
	// the copy can no longer follow: the feed fails with it.
	apply func(ev *clientv3.Event) error

	mu      sync.RWMutex  // guards what follows and the owner's copy
	changed chan struct{} // closed when rev moves or the feed fails
	err     error         // set when the feed fails or is closed
	failed  chan struct{} // closed when err is set
	// rev is the etcd revision the copy is at; reloads counts the reloads.
	// Written under mu, read without it.
	rev, reloads atomic.Int64

	cancel context.CancelFunc
	done   chan struct{}
}

// Backoff bounds for the watch's retries when etcd refuses or is
// unreachable, and the interval at which a waiting Sync asks etcd again
// for the watch's progress.
const (
	minBackoff       = 50 * time.Millisecond
	maxBackoff       = 2 * time.Second
	progressInterval = 250 * time.Millisecond
)

// start loads the state at one revision and follows it from the next. It
// returns when the copy is at that revision.
func (f *feed) start(ctx context.Context) error {
	f.changed, f.failed = make(chan struct{}), make(chan struct{})
	rev, err := f.reload(ctx)
	if err != nil {
		return err
	}
	f.rev.Store(rev)
	wctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan struct{})
	f.watcher = clientv3.NewWatcher(f.etcd)
	go f.follow(wctx, rev+1)
	return nil
}

// follow applies the events from revision from on, until ctx ends.
func (f *feed) follow(ctx context.Context, from int64) {
	defer close(f.done)
	backoff := minBackoff
	for ctx.Err() == nil {
		compacted, progressed := false, false
		wch := f.watcher.Watch(clientv3.WithRequireLeader(ctx), f.prefix, clientv3.WithPrefix(), clientv3.WithRev(from), clientv3.WithProgressNotify())
		for resp := range wch {
			if resp.CompactRevision != 0 || errors.Is(resp.Err(), rpctypes.ErrCompacted) {
				compacted = true
				break // reload below
			}
			if err := resp.Err(); err != nil {
				break // watch again from where the copy is
			}
			progressed = true
			f.mu.Lock()
			for _, ev := range resp.Events {
				if err := f.apply(ev); err != nil {
					f.mu.Unlock()
					f.fail(fmt.Errorf("etcdstore: %s at revision %d: %w", ev.Kv.Key, ev.Kv.ModRevision, err))
					return
				}
				f.advance(ev.Kv.ModRevision)
			}
			// A progress notification says every event up to its header's
			// revision has come; an event response's header may be ahead of
			// events still to come (a watch catching up gets them in
			// batches), so it moves the copy only to its last event.
			if resp.IsProgressNotify() {
				f.advance(resp.Header.Revision)
			}
			f.mu.Unlock()
		}
		if ctx.Err() != nil {
			return
		}
		if compacted {
			rev, err := f.reload(ctx)
			if errors.Is(err, ErrDiverged) {
				f.fail(err)
				return
			}
			if err == nil {
				f.mu.Lock()
				f.reloads.Add(1)
				f.advance(rev)
				f.mu.Unlock()
				backoff = minBackoff
			}
		}
		if progressed {
			backoff = minBackoff
		} else if !f.wait(ctx, backoff) { // etcd refused or is unreachable
			return
		} else {
			backoff = min(2*backoff, maxBackoff)
		}
		from = f.rev.Load() + 1
	}
}

// wait waits d or until ctx ends, reporting whether ctx is still alive.
func (f *feed) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// advance moves the copy's revision to rev, if later, and wakes waiters.
// f.mu is held.
func (f *feed) advance(rev int64) {
	if rev > f.rev.Load() {
		f.rev.Store(rev)
		f.wake()
	}
}

// wake wakes every waiter. f.mu is held.
func (f *feed) wake() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *feed) fail(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
		close(f.failed)
	}
	f.wake()
	f.mu.Unlock()
}

// close stops following; waiters get ErrClosed.
func (f *feed) close() error {
	f.cancel()
	<-f.done
	f.fail(ErrClosed)
	return f.watcher.Close()
}

// readPrefix reads every key under prefix at one revision (etcd's current
// one), in pages by key, and returns them with that revision.
func readPrefix(ctx context.Context, cli *clientv3.Client, prefix string) ([]*mvccpb.KeyValue, int64, error) {
	end := clientv3.GetPrefixRangeEnd(prefix)
	var rev int64
	var kvs []*mvccpb.KeyValue
	for from := prefix; ; {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(2000)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := cli.Get(ctx, from, opts...)
		if err != nil {
			return nil, 0, err
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		kvs = append(kvs, resp.Kvs...)
		if !resp.More || len(resp.Kvs) == 0 {
			return kvs, rev, nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// failure returns why the feed failed, once failed is closed.
func (f *feed) failure() error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.err
}

// revision returns the etcd revision the copy is at.
func (f *feed) revision() int64 { return f.rev.Load() }

// reloadCount counts the reloads after a compacted watch.
func (f *feed) reloadCount() int { return int(f.reloads.Load()) }

// sync waits until the copy has every write etcd had acknowledged when
// sync was called: a linearizable read of etcd's revision, then the
// watch's progress up to it.
func (f *feed) sync(ctx context.Context) error {
	resp, err := f.etcd.Get(ctx, f.syncKey)
	if err != nil {
		return fmt.Errorf("etcdstore: %w", err)
	}
	return f.waitFor(ctx, resp.Header.Revision)
}

// waitFor waits until the copy is at revision rev. While it waits it asks
// etcd for the watch's progress, again every progressInterval: when
// nothing under the prefix changes, a progress notification is what
// brings the copy to rev.
func (f *feed) waitFor(ctx context.Context, rev int64) error {
	for {
		f.mu.RLock()
		at, ch, err := f.rev.Load(), f.changed, f.err
		f.mu.RUnlock()
		if at >= rev {
			return nil
		}
		if err != nil {
			return err
		}
		if err := f.watcher.RequestProgress(clientv3.WithRequireLeader(ctx)); err != nil && ctx.Err() == nil {
			return fmt.Errorf("etcdstore: %w", err)
		}
		t := time.NewTimer(progressInterval)
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		t.Stop()
	}
}
