package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/ecsapi"
	"github.com/stevedore-go/stevedore/journal"
)

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "stevedore",
		Short:         "Stevedore: Amazon ECS's scheduling, in process",
		Long:          "Stevedore models Amazon ECS clusters and schedules tasks onto them with ECS's semantics.\nIts subcommands run it for programs that speak ECS.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServe(), newWhatif(), newPlan())
	return root
}

// serveConfig is what `stevedore serve` is told.
type serveConfig struct {
	addr            string
	region, account string
	seed            uint64
	credentials     string
	credentialsFile string
	startDelay      time.Duration
	tick            time.Duration
	state           string
	store           string
}

func newServe() *cobra.Command {
	var cfg serveConfig
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve ECS's API, for the AWS CLI and SDKs",
		Long: `serve runs an ECS control plane on --addr, speaking ECS's JSON 1.1 protocol:
point the AWS CLI or an SDK at it with --endpoint-url http://ADDR.

Agents are simulated: a PENDING task becomes RUNNING --start-delay after it
was placed, and the service scheduler reconciles every --tick.

Without --credentials (or --credentials-file) any request is served, signed
or not, as local ECS emulators do; with them, every request must carry a
valid AWS Signature Version 4 by that key, or it is refused.

With --state FILE, every call that changes the state, and every agent
tick, is written to FILE (and synced to disk) before it is answered; a
restart with the same FILE and flags replays it and carries on with the
same ARNs, revisions, tasks, services and events. A FILE that does not
parse is an error, never an empty state.

With --store etcd://HOST:PORT[,...], the state is on etcd and shared: any
number of replicas, each started with the same --store, --seed, --region,
--account and --start-delay, serve the same clusters, and any of them
answers any call. Each call that changes the state is logged on etcd and
applied by every replica in etcd's order; a read sees every call
acknowledged before it, on any replica. One replica at a time, elected
through etcd, runs the agents and the service scheduler every --tick; when
it dies another takes over. --state and --store exclude each other.`,
		Example: `  stevedore serve --addr 127.0.0.1:4566
  aws ecs create-cluster --cluster-name demo --endpoint-url http://127.0.0.1:4566`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), cfg, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.addr, "addr", "127.0.0.1:4566", "address to listen on")
	f.StringVar(&cfg.region, "region", "us-east-1", "region in the ARNs (and, with credentials, in signatures)")
	f.StringVar(&cfg.account, "account", "123456789012", "account id in the ARNs")
	f.Uint64Var(&cfg.seed, "seed", 1, "seed of every random choice, so that runs replay")
	f.StringVar(&cfg.credentials, "credentials", "", "KEY:SECRET whose SigV4 signatures are accepted; others are refused")
	f.StringVar(&cfg.credentialsFile, "credentials-file", "", "file holding KEY:SECRET lines, as --credentials")
	f.DurationVar(&cfg.startDelay, "start-delay", time.Second, "how long a placed task stays PENDING before its agent reports it RUNNING")
	f.DurationVar(&cfg.tick, "tick", time.Second, "how often the service scheduler reconciles and agents report")
	f.StringVar(&cfg.state, "state", "", "journal file that keeps the state across restarts (see above)")
	f.StringVar(&cfg.store, "store", "", "etcd://HOST:PORT[,HOST:PORT...]: share the state with other replicas on etcd (see above)")
	return cmd
}

// parseCredentials reads KEY:SECRET pairs, one a line.
func parseCredentials(inline, file string) (map[string]string, error) {
	var lines []string
	if inline != "" {
		lines = append(lines, inline)
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		lines = append(lines, strings.Split(string(b), "\n")...)
	}
	creds := map[string]string{}
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		key, secret, ok := strings.Cut(l, ":")
		if !ok || key == "" || secret == "" {
			return nil, fmt.Errorf("credentials line %d: want KEY:SECRET", i+1)
		}
		creds[key] = secret
	}
	return creds, nil
}

func serve(ctx context.Context, cfg serveConfig, w io.Writer) error {
	if cfg.tick <= 0 || cfg.startDelay < 0 {
		return errors.New("--tick must be positive and --start-delay not negative")
	}
	creds, err := parseCredentials(cfg.credentials, cfg.credentialsFile)
	if err != nil {
		return err
	}
	if cfg.store != "" {
		if cfg.state != "" {
			return errors.New("--state and --store exclude each other")
		}
		return serveShared(ctx, cfg, creds, w)
	}
	// The Client's clock stands at the time of the call or tick it serves:
	// a ManualClock the recorder sets, so that a journal replays exactly.
	clock := stevedore.NewManualClock(time.Unix(0, 0).UTC())
	ecs, err := stevedore.New(stevedore.Options{Region: cfg.region, AccountID: cfg.account, Clock: clock, Rand: rand.NewPCG(cfg.seed, cfg.seed^0x5eed)})
	if err != nil {
		return err
	}
	rec := &recorder{
		clock:   clock,
		inner:   ecsapi.NewHandler(ecs, ecsapi.Options{Credentials: creds, Region: cfg.region}),
		agents:  agents{ecs: ecs, startDelay: cfg.startDelay},
		failed:  make(chan error, 1),
		maxBody: ecsapi.DefaultMaxBodyBytes,
	}
	if cfg.state != "" {
		if err := rec.open(ctx, cfg, w); err != nil {
			return err
		}
		defer rec.journal.f.Close()
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: rec, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	auth := "any request is served (no --credentials)"
	if len(creds) > 0 {
		auth = fmt.Sprintf("requests must be signed by one of %d access keys", len(creds))
	}
	fmt.Fprintf(w, "stevedore: serving ECS on http://%s; %s\n", ln.Addr(), auth)

	ticker := time.NewTicker(cfg.tick)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(shutdown); err != nil {
				return err
			}
			fmt.Fprintln(w, "stevedore: stopped")
			return nil
		case err := <-served:
			return err
		case err := <-rec.failed:
			_ = srv.Close()
			return err
		case now := <-ticker.C:
			if ctx.Err() != nil {
				continue // stopping: the Done case ends the loop
			}
			if err := rec.tick(ctx, now); err != nil && ctx.Err() == nil {
				fmt.Fprintln(w, "stevedore: agents:", err)
			}
		}
	}
}

// agents simulates the ECS agents of every cluster: a PENDING task is
// reported RUNNING once it has been PENDING for startDelay, and then the
// service scheduler takes a step. step is driven by the caller's clock, so
// tests drive it by hand.
type agents struct {
	ecs        *stevedore.Client
	startDelay time.Duration
}

// step is one tick at time now (see journal.Step).
func (a agents) step(ctx context.Context, now time.Time) error {
	return journal.Step(ctx, a.ecs, now, a.startDelay)
}

// listAll pages through a List operation.
func listAll(page func(token string) ([]string, string, error)) ([]string, error) {
	var all []string
	for token := ""; ; {
		items, next, err := page(token)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		token = next
	}
}
