package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/ecsapi"
	"github.com/stevedore-go/stevedore/journal"
)

// The state file is a journal, not a snapshot [INF]: the Client is
// deterministic — the same seed, the same calls in the same order at the
// same times give the same ARNs, revisions, tasks, services and events —
// so serve records each call that reached it (its operation, its body and
// the time the Client's clock stood at) and each agent tick, one JSON line
// apiece, and writes it to disk (fsync) before the call is answered. A
// restart replays the journal into a fresh Client and carries on: nothing
// acknowledged is lost, and nothing has to be serialised twice. Calls that
// change state are applied one at a time, in journal order; reads run
// beside them. A journal that does not parse — a torn last line included —
// is an error at start, never an empty state.

const tickOp = journal.TickOp

// journalFile appends entries to the state file.
type journalFile struct {
	f *os.File
}

// append writes e as one line (journal.Entry's JSON).
func (j *journalFile) append(e journal.Entry) error {
	line, err := e.MarshalJSON() // not json.Marshal, which escapes < > & again
	if err != nil {
		return err
	}
	if _, err := j.f.Write(append(line, '\n')); err != nil {
		return err
	}
	return j.f.Sync()
}

// recorder serves the ECS API with every state-changing call applied one
// at a time at a time the journal records. A state-changing call or tick
// holds mu until its journal entry is on disk, so a read (which shares mu)
// never shows what is not yet durable; once a save fails, the recorder
// refuses everything, as the state in memory is ahead of the file.
type recorder struct {
	mu      sync.RWMutex // writes and ticks exclusively, reads shared
	broken  bool         // a save failed; guarded by mu
	clock   *stevedore.ManualClock
	inner   http.Handler
	agents  agents
	journal *journalFile // nil without --state
	failed  chan error
	maxBody int64
}

func (p *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), ecsapi.TargetPrefix+".")
	if journal.ReadOnly(op) {
		p.mu.RLock()
		defer p.mu.RUnlock()
		if p.broken {
			writeServerError(w, "The state could not be saved; the server is stopping.")
			return
		}
		p.inner.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, p.maxBody))
	if err != nil {
		ecsapi.WriteError(w, http.StatusRequestEntityTooLarge, "SerializationException", "The request body could not be read, or is over the limit.")
		return
	}
	// The call runs to its end whatever the caller does meanwhile, as its
	// replay will: a journaled call is never half made.
	r = r.WithContext(context.WithoutCancel(r.Context()))
	r.Body = io.NopCloser(bytes.NewReader(body))
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.broken {
		writeServerError(w, "The state could not be saved; the server is stopping.")
		return
	}
	// Round(0): the wall time alone, so that a step back of the wall clock
	// leaves the ManualClock where it is and the journal's times never
	// decrease.
	p.clock.Set(time.Now().Round(0))
	rec := httptest.NewRecorder()
	p.inner.ServeHTTP(rec, r)
	if p.journal != nil && journal.Reached(rec.Header().Get("X-Amzn-ErrorType")) {
		if err := p.journal.append(journal.Entry{T: p.clock.Now().UnixNano(), Op: op, Body: body}); err != nil {
			p.broken = true
			p.fail(fmt.Errorf("writing the state file: %w", err))
			writeServerError(w, "The state could not be saved; the server is stopping.")
			return
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// tick is one step of the agents and the service scheduler at now.
func (p *recorder) tick(ctx context.Context, now time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.broken {
		return errors.New("the state could not be saved")
	}
	p.clock.Set(now.Round(0))
	at := p.clock.Now()
	if p.journal != nil {
		if err := p.journal.append(journal.Entry{T: at.UnixNano(), Op: tickOp}); err != nil {
			p.broken = true
			p.fail(fmt.Errorf("writing the state file: %w", err))
			return err
		}
	}
	// A journaled tick runs to its end, as its replay will.
	return p.agents.step(context.WithoutCancel(ctx), at)
}

func writeServerError(w http.ResponseWriter, msg string) {
	ecsapi.WriteError(w, http.StatusInternalServerError, "ServerException", msg)
}

func (p *recorder) fail(err error) {
	select {
	case p.failed <- err:
	default:
	}
}

// replay reads the journal at path into the Client behind p and returns
// how many entries it applied. A missing file is an empty journal.
func (p *recorder) replay(ctx context.Context, path string) (int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rd := bufio.NewReader(f)
	plain := ecsapi.NewHandler(p.agents.ecs, ecsapi.Options{MaxBodyBytes: p.maxBody})
	n := 0
	var last int64
	for {
		line, err := rd.ReadBytes('\n')
		if errors.Is(err, io.EOF) && len(line) == 0 {
			break
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return n, fmt.Errorf("state file %s: %w", path, err)
		}
		n++
		var e journal.Entry
		if err := json.Unmarshal(line, &e); err != nil || e.T < last {
			return n - 1, fmt.Errorf("state file %s: line %d is not a journal entry (torn or corrupt): %q; a torn last line is a call never acknowledged, and removing it starts from the state before it", path, n, truncate(line))
		}
		last = e.T
		if e.Op == headerOp {
			continue
		}
		p.clock.Set(time.Unix(0, e.T).UTC())
		if e.Op == tickOp {
			if err := p.agents.step(ctx, p.clock.Now()); err != nil {
				return n - 1, fmt.Errorf("state file %s: line %d: the agents' step: %w", path, n, err)
			}
			continue
		}
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(e.Body))
		req.Header.Set("X-Amz-Target", ecsapi.TargetPrefix+"."+e.Op)
		plain.ServeHTTP(httptest.NewRecorder(), req)
	}
	return n, nil
}

func truncate(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}

// openJournal opens the state file for appending, creating it (and making
// its creation durable) if needed.
func openJournal(path string) (*journalFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if dir, err := os.Open(dirOf(path)); err == nil {
		_ = dir.Sync()
		_ = dir.Close()
	}
	return &journalFile{f: f}, nil
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:max(i, 1)]
	}
	return "."
}

// journalHeader is the first entry of a journal: the flags that decide
// what the calls do, which a restart must give again.
type journalHeader struct {
	Seed       uint64        `json:"seed"`
	Region     string        `json:"region"`
	Account    string        `json:"account"`
	StartDelay time.Duration `json:"startDelay"`
}

const headerOp = "serve"

// open replays the state file, if there is one, and opens it for the
// calls to come.
func (p *recorder) open(ctx context.Context, cfg serveConfig, w io.Writer) error {
	want := journalHeader{Seed: cfg.seed, Region: cfg.region, Account: cfg.account, StartDelay: cfg.startDelay}
	header, err := readHeader(cfg.state)
	if err != nil {
		return err
	}
	fresh := header == nil
	if !fresh && *header != want {
		return fmt.Errorf("state file %s was written with --seed %d --region %s --account %s --start-delay %s: restart with the same flags",
			cfg.state, header.Seed, header.Region, header.Account, header.StartDelay)
	}
	n, err := p.replay(ctx, cfg.state)
	if err != nil {
		return err
	}
	if p.journal, err = openJournal(cfg.state); err != nil {
		return err
	}
	if fresh {
		body, _ := json.Marshal(want)
		if err := p.journal.append(journal.Entry{T: 0, Op: headerOp, Body: body}); err != nil {
			return err
		}
		fmt.Fprintf(w, "stevedore: new state file %s\n", cfg.state)
		return nil
	}
	fmt.Fprintf(w, "stevedore: state file %s: %d entries replayed\n", cfg.state, n-1)
	return nil
}

// readHeader returns the journal's header, nil for a missing or empty
// file.
func readHeader(path string) (*journalHeader, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadBytes('\n')
	if errors.Is(err, io.EOF) && len(line) == 0 {
		return nil, nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	var e journal.Entry
	var h journalHeader
	if err := json.Unmarshal(line, &e); err != nil || e.Op != headerOp || json.Unmarshal(e.Body, &h) != nil {
		return nil, fmt.Errorf("state file %s is not a stevedore journal: its first line is %q", path, truncate(line))
	}
	return &h, nil
}
