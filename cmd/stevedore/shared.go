package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/stevedore-go/stevedore/ecsapi"
	"github.com/stevedore-go/stevedore/etcdstore"
	"github.com/stevedore-go/stevedore/journal"
)

// storeEndpoints reads --store etcd://HOST:PORT[,HOST:PORT...] into etcd
// client endpoints.
func storeEndpoints(store string) ([]string, error) {
	rest, ok := strings.CutPrefix(store, "etcd://")
	if !ok || rest == "" {
		return nil, fmt.Errorf("--store %q: want etcd://HOST:PORT[,HOST:PORT...]", store)
	}
	var eps []string
	for _, hp := range strings.Split(rest, ",") {
		if _, _, err := net.SplitHostPort(hp); err != nil || strings.ContainsAny(hp, "/?#") {
			return nil, fmt.Errorf("--store %q: %q is not HOST:PORT", store, hp)
		}
		eps = append(eps, "http://"+hp)
	}
	return eps, nil
}

// serveShared is serve with the state on etcd (see package etcdstore).
func serveShared(ctx context.Context, cfg serveConfig, creds map[string]string, w io.Writer) error {
	eps, err := storeEndpoints(cfg.store)
	if err != nil {
		return err
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer cli.Close()
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	r, err := etcdstore.Open(octx, cli, etcdstore.Options{
		Journal:     journal.Options{Seed: cfg.seed, Region: cfg.region, AccountID: cfg.account, StartDelay: cfg.startDelay, MaxBodyBytes: ecsapi.DefaultMaxBodyBytes},
		Credentials: creds, Region: cfg.region,
	})
	if err != nil {
		return fmt.Errorf("--store: %w", err)
	}
	defer r.Close()
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(w, "stevedore: serving ECS on http://%s; state on etcd %s at revision %d\n", ln.Addr(), strings.Join(eps, ","), r.Revision())

	ticker := time.NewTicker(cfg.tick)
	defer ticker.Stop()
	sctx, stop := context.WithCancel(ctx)
	scheduled := make(chan error, 1)
	go func() { scheduled <- r.RunScheduler(sctx, ticker.C) }()
	shutdown := func() error {
		stop()
		<-scheduled
		down, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(down)
	}
	select {
	case <-ctx.Done():
		if err := shutdown(); err != nil {
			return err
		}
		fmt.Fprintln(w, "stevedore: stopped")
		return nil
	case err := <-served:
		stop()
		<-scheduled
		return err
	case err := <-scheduled:
		_ = srv.Close()
		if err == nil || errors.Is(err, context.Canceled) {
			return nil
		}
		return fmt.Errorf("the scheduler's election: %w", err)
	}
}
