package etcdstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/ecsapi"
	"github.com/stevedore-go/stevedore/journal"
)

// DefaultPrefix is where a Replica keeps its keys when Options.Prefix is
// empty.
const DefaultPrefix = "/stevedore/"

// Options configure a [Replica].
type Options struct {
	// Prefix is the key prefix of the state: the header at Prefix+"header",
	// the log under Prefix+"log/", the scheduler's election under
	// Prefix+"leader". Empty means DefaultPrefix.
	Prefix string
	// Journal is what the Client is made with. The first replica writes it
	// into the header; every later one must be given the same, or Open
	// fails with ErrMismatch.
	Journal journal.Options
	// Credentials and Region are the endpoint's SigV4 check, as in
	// ecsapi.Options; a call is checked where it arrives.
	Credentials map[string]string
	Region      string
	// Now stamps the calls this replica logs; nil means time.Now.
	Now func() time.Time
	// Name is this replica's value in the scheduler election; empty means
	// a random id.
	Name string
	// SessionTTL is the lease of the scheduler election, in seconds: how
	// long a dead leader keeps it. 0 means 5.
	SessionTTL int
	// Timeout bounds a state-changing call that ServeHTTP logs, which its
	// caller cannot cancel (once logged, it is applied whatever the caller
	// does): when etcd does not answer within it, the call fails with a
	// ServerException and its fate is unknown. 0 means 10 seconds.
	Timeout time.Duration
}

// ErrMismatch is returned by Open when the state was made with other
// journal options than the ones given.
var ErrMismatch = errors.New("etcdstore: the state on etcd was made with other options")

// ErrClosed is returned by the calls of a closed Replica.
var ErrClosed = errors.New("etcdstore: replica closed")

// Replica is one process's copy of the shared state: a journal.Machine
// that applies the log on etcd in revision order, and an ECS endpoint
// ([Replica.ServeHTTP]) that logs each state-changing call and answers it
// once applied, and answers reads from its copy once that has caught up
// with etcd. Any number of replicas share one state; any of them answers
// any call, and all give the same answers.
type Replica struct {
	opts Options
	id   string
	seq  atomic.Uint64
	pre  *ecsapi.Handler

	// feed follows the log; its mu guards m and waiting.
	feed
	m       *journal.Machine
	waiting map[string]chan journal.Response // log keys this replica wrote, not yet applied

	election *election
}

// header is the state's first key: the options every replica must share.
type header struct {
	Seed       uint64        `json:"seed"`
	Region     string        `json:"region"`
	AccountID  string        `json:"account"`
	StartDelay time.Duration `json:"startDelay"`
}

// Open joins the state under opts.Prefix on etcd (making it if there is
// none): it loads the log at one revision into a fresh Client, then
// follows the log from the next revision. It returns when the copy is at
// that revision. Close the Replica to stop following; the etcd client
// stays the caller's.
func Open(ctx context.Context, cli *clientv3.Client, opts Options) (*Replica, error) {
	if cli == nil {
		return nil, errors.New("etcdstore: Open needs an etcd client")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 5
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	var raw [8]byte
	_, _ = rand.Read(raw[:])
	r := &Replica{feed: feed{etcd: cli}, opts: opts, id: hex.EncodeToString(raw[:]), waiting: map[string]chan journal.Response{}}
	if r.opts.Name == "" {
		r.opts.Name = r.id
	}
	r.election = newElection(cli, opts.Prefix+"leader", r.opts.Name, opts.SessionTTL, &r.feed)
	r.pre = ecsapi.NewHandler(nil, ecsapi.Options{Credentials: opts.Credentials, Region: opts.Region, MaxBodyBytes: opts.Journal.MaxBodyBytes})
	want := header{Seed: opts.Journal.Seed, Region: opts.Journal.Region, AccountID: opts.Journal.AccountID, StartDelay: opts.Journal.StartDelay}
	body, _ := json.Marshal(want)
	hk := opts.Prefix + "header"
	txn, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(hk), "=", 0)).
		Then(clientv3.OpPut(hk, string(body))).Else(clientv3.OpGet(hk)).Commit()
	if err != nil {
		return nil, fmt.Errorf("etcdstore: writing the header: %w", err)
	}
	if !txn.Succeeded {
		var got header
		kvs := txn.Responses[0].GetResponseRange().Kvs
		if len(kvs) != 1 || json.Unmarshal(kvs[0].Value, &got) != nil {
			return nil, fmt.Errorf("%w: %s is not a stevedore header", ErrMismatch, hk)
		}
		if got != want {
			return nil, fmt.Errorf("%w: seed %d, region %s, account %s, start delay %s", ErrMismatch, got.Seed, got.Region, got.AccountID, got.StartDelay)
		}
	}
	r.prefix, r.syncKey, r.apply = opts.Prefix+"log/", hk, r.applyEvent
	r.reload = func(ctx context.Context) (int64, error) {
		m, rev, err := r.load(ctx)
		if err != nil {
			return 0, err
		}
		r.mu.Lock()
		r.m = m
		r.mu.Unlock()
		return rev, nil
	}
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// applyEvent applies a log key's event and answers the writer, if it is
// this replica. r.mu is held.
func (r *Replica) applyEvent(ev *clientv3.Event) error {
	if ev.Type != clientv3.EventTypePut || ev.Kv.Version != 1 {
		return nil // a log key is written once
	}
	var e journal.Entry
	if err := json.Unmarshal(ev.Kv.Value, &e); err != nil {
		return err
	}
	out := r.m.Apply(context.Background(), e)
	if ch := r.waiting[string(ev.Kv.Key)]; ch != nil {
		delete(r.waiting, string(ev.Kv.Key))
		ch <- out // buffered: never blocks
	}
	return nil
}

// load reads the whole log at one revision into a fresh Machine and
// returns it with that revision. Entries whose writers wait for them are
// answered.
func (r *Replica) load(ctx context.Context) (*journal.Machine, int64, error) {
	m, err := journal.New(r.opts.Journal)
	if err != nil {
		return nil, 0, err
	}
	// Read by key, then put in the log's order: sorting on the server
	// would sort the whole log again for each page.
	kvs, rev, err := readPrefix(ctx, r.etcd, r.opts.Prefix+"log/")
	if err != nil {
		return nil, 0, fmt.Errorf("etcdstore: loading the log: %w", err)
	}
	slices.SortFunc(kvs, func(a, b *mvccpb.KeyValue) int { return cmp.Compare(a.CreateRevision, b.CreateRevision) })
	for _, kv := range kvs {
		var e journal.Entry
		if err := json.Unmarshal(kv.Value, &e); err != nil {
			return nil, 0, fmt.Errorf("%w: log key %s: %v", ErrDiverged, kv.Key, err)
		}
		out := m.Apply(ctx, e)
		r.answer(string(kv.Key), out)
	}
	return m, rev, nil
}

// answer hands a logged call's response to the writer waiting for it, if
// this replica wrote it.
func (r *Replica) answer(key string, out journal.Response) {
	r.mu.Lock()
	ch := r.waiting[key]
	delete(r.waiting, key)
	r.mu.Unlock()
	if ch != nil {
		ch <- out
	}
}

// Close stops following the log. Calls waiting for their answers get
// ErrClosed.
func (r *Replica) Close() error { return r.close() }

// Revision returns the etcd revision the replica's copy is at.
func (r *Replica) Revision() int64 { return r.revision() }

// Reloads counts the times the replica loaded the whole log again because
// its watch was compacted away.
func (r *Replica) Reloads() int { return r.reloadCount() }

// Sync waits until the copy has every write etcd had acknowledged when
// Sync was called (a linearizable read of etcd's revision, then the
// watch's progress up to it).
func (r *Replica) Sync(ctx context.Context) error { return r.sync(ctx) }

// Read calls fn with the replica's Client, after Sync; fn must only read
// (a change made outside the log would be this replica's alone).
func (r *Replica) Read(ctx context.Context, fn func(c *stevedore.Client)) error {
	if err := r.Sync(ctx); err != nil {
		return err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	fn(r.m.Client)
	return nil
}

// Do runs one ECS operation with its JSON request body: a read on this
// replica's copy after Sync, anything else logged on etcd and answered
// once this replica has applied it (as every replica does, in revision
// order). An error means the call's fate is unknown (etcd unreachable,
// ctx done): it may still be applied.
func (r *Replica) Do(ctx context.Context, op string, body []byte) (journal.Response, error) {
	if journal.ReadOnly(op) {
		if err := r.Sync(ctx); err != nil {
			return journal.Response{}, err
		}
		r.mu.RLock()
		defer r.mu.RUnlock()
		return r.m.Read(ctx, op, body), nil
	}
	return r.log(ctx, journal.Entry{T: r.opts.Now().UnixNano(), Op: op, Body: body}, nil)
}

// log writes e under a new log key, guarded by cmp when not nil, and
// waits for this replica to apply it.
func (r *Replica) log(ctx context.Context, e journal.Entry, guard []clientv3.Cmp) (journal.Response, error) {
	value, err := e.MarshalJSON() // not json.Marshal, which escapes < > & again
	if err != nil {
		return journal.Response{}, err
	}
	key := r.opts.Prefix + "log/" + r.id + "-" + strconv.FormatUint(r.seq.Add(1), 16)
	ch := make(chan journal.Response, 1)
	r.mu.Lock()
	if r.err != nil {
		r.mu.Unlock()
		return journal.Response{}, r.err
	}
	changed := r.changed
	r.waiting[key] = ch
	r.mu.Unlock()
	forget := func() {
		r.mu.Lock()
		delete(r.waiting, key)
		r.mu.Unlock()
	}
	txn, err := r.etcd.Txn(ctx).If(guard...).Then(clientv3.OpPut(key, string(value))).Commit()
	if err != nil {
		forget()
		return journal.Response{}, fmt.Errorf("etcdstore: logging %s: %w", e.Op, err)
	}
	if !txn.Succeeded {
		forget()
		return journal.Response{}, errNotLeader
	}
	for {
		select {
		case out := <-ch:
			return out, nil
		case <-changed:
			r.mu.RLock()
			changed, err = r.changed, r.err
			r.mu.RUnlock()
			if err != nil {
				forget()
				return journal.Response{}, err
			}
		case <-ctx.Done():
			forget()
			return journal.Response{}, ctx.Err()
		}
	}
}

// ServeHTTP serves ECS's API (see package ecsapi) on the shared state.
func (r *Replica) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	op, body, ok := r.pre.Precheck(w, req)
	if !ok {
		return
	}
	// A logged call is applied whatever its caller does meanwhile.
	ctx := req.Context()
	if !journal.ReadOnly(op) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), r.opts.Timeout)
		defer cancel()
	}
	out, err := r.Do(ctx, op, body)
	if err != nil {
		ecsapi.WriteError(w, http.StatusInternalServerError, "ServerException", "The shared state is unavailable: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if out.ErrorType != "" {
		w.Header().Set("X-Amzn-ErrorType", out.ErrorType)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out.Body)))
	w.WriteHeader(out.Status)
	_, _ = w.Write(out.Body)
}

// Leading reports whether this replica holds the scheduler's election.
func (r *Replica) Leading() bool { return r.election.leading.Load() }

// RunScheduler campaigns for the scheduler's election and, while this
// replica leads, logs a tick (a step of every cluster's agents, capacity
// management and service scheduler) at each time ticks delivers. Ticks
// are logged guarded by the leadership, so a replica that lost it logs
// none. When the leader dies its lease ends within Options.SessionTTL
// seconds and another replica's RunScheduler takes over. It returns when
// ctx ends or ticks is closed, or with the replica's error when the
// replica is closed or can no longer follow etcd (ErrClosed, ErrDiverged);
// while etcd cannot be reached it waits, and campaigns again when etcd is
// back.
func (r *Replica) RunScheduler(ctx context.Context, ticks <-chan time.Time) error {
	return r.election.run(ctx, func(ctx context.Context, t term) error {
		guard := []clientv3.Cmp{t.guard()}
		return t.each(ctx, ticks, func(now time.Time) error {
			// A tick's failure is the state's, the same on every replica;
			// an error is the leadership's or etcd's: give the election up.
			_, err := r.log(ctx, journal.Entry{T: now.UnixNano(), Op: journal.TickOp}, guard)
			return err
		})
	})
}
