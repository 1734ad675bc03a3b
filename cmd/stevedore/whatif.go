package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/stevedore-go/stevedore"
)

// whatifConfig is what `stevedore whatif` is told.
type whatifConfig struct {
	snapshot    string
	cluster     string
	taskDefs    []string // SERVICE=FILE
	desired     []string // SERVICE=N
	drain       []string // container instance ids or ARNs, or EC2 instance ids
	loseTypes   []string // instance types
	step        time.Duration
	startDelay  time.Duration
	maxSteps    int
	seed        uint64
	svg         string
	calls       string
	progress    string // auto, always, never
	progressMin int    // steps before a bar shows with auto
}

func newWhatif() *cobra.Command {
	var cfg whatifConfig
	cmd := &cobra.Command{
		Use:   "whatif --snapshot DIR [changes]",
		Short: "Load a real cluster's snapshot, change it, run it to steady state and report",
		Long: `whatif loads a snapshot of a real cluster (a directory of the AWS CLI's
describe-clusters, describe-container-instances, describe-tasks,
describe-services and describe-task-definition output, as it prints them),
applies the changes given, runs the cluster's agents and service scheduler
until nothing moves (or --max-steps), and reports: the service events, the
placement failures with their tallies, the services' counts, and the CPU
and memory in use per Availability Zone and per instance.

Changes, each repeatable:
  --task-definition SERVICE=FILE  register FILE (register-task-definition
                                  --cli-input-json input) and deploy it
  --desired-count SERVICE=N       set the service's desired count
  --drain INSTANCE                set a container instance DRAINING (its
                                  id, ARN or EC2 instance id)
  --lose-type TYPE                terminate every instance of that type

The snapshot is not changed: the changes run on a copy. --calls FILE writes
the AWS CLI calls that would make them real; --svg FILE draws the packing
(instances as columns, tasks as boxes sized by CPU and memory, coloured by
service), for a browser.`,
		Example: `  stevedore whatif --snapshot ./snap --desired-count web=24 --svg packing.svg
  stevedore whatif --snapshot ./snap --lose-type c5.2xlarge --calls apply.sh`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return whatif(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.snapshot, "snapshot", "", "directory of describe-* JSON files (required)")
	f.StringVar(&cfg.cluster, "cluster", "", "cluster to run (default: the snapshot's only one)")
	f.StringArrayVar(&cfg.taskDefs, "task-definition", nil, "SERVICE=FILE: deploy a new task definition to a service")
	f.StringArrayVar(&cfg.desired, "desired-count", nil, "SERVICE=N: set a service's desired count")
	f.StringArrayVar(&cfg.drain, "drain", nil, "container instance (id, ARN or EC2 id) to drain")
	f.StringArrayVar(&cfg.loseTypes, "lose-type", nil, "instance type whose instances are all lost")
	f.DurationVar(&cfg.step, "step", 15*time.Second, "simulated time of one step (agents report, the scheduler reconciles)")
	f.DurationVar(&cfg.startDelay, "start-delay", 30*time.Second, "how long a placed task stays PENDING")
	f.IntVar(&cfg.maxSteps, "max-steps", 2000, "steps before giving up on a steady state")
	f.Uint64Var(&cfg.seed, "seed", 1, "seed of every random choice, so that runs replay")
	f.StringVar(&cfg.svg, "svg", "", "write an SVG of the packing after the run to this file")
	f.StringVar(&cfg.calls, "calls", "", "write the AWS CLI calls that make the changes real to this file")
	f.StringVar(&cfg.progress, "progress", "auto", "progress bar on stderr: auto (on a terminal, for long runs), always or never")
	cfg.progressMin = 50
	_ = cmd.MarkFlagRequired("snapshot")
	return cmd
}

// splitAssign splits SERVICE=VALUE.
func splitAssign(flag, s string) (string, string, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" || v == "" {
		return "", "", fmt.Errorf("--%s %q: want SERVICE=VALUE", flag, s)
	}
	return k, v, nil
}

func whatif(ctx context.Context, cfg whatifConfig, out, errOut io.Writer) error {
	if cfg.step <= 0 || cfg.startDelay < 0 || cfg.maxSteps < 1 {
		return errors.New("--step must be positive, --start-delay not negative and --max-steps at least 1")
	}
	snap, original, rep, clusterName, err := loadSnapshot(ctx, cfg.snapshot, cfg.cluster, cfg.seed)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "snapshot %s: %d container instances, %d tasks, %d services, %d task definitions; %d left out, %d resources drifted\n",
		cfg.snapshot, rep.ContainerInstances, rep.Tasks, rep.Services, rep.TaskDefinitions, len(rep.Skipped), len(rep.Drift))
	for _, s := range rep.Skipped {
		fmt.Fprintf(out, "  left out %s %s: %s\n", s.Kind, s.Arn, s.Reason)
	}
	for _, d := range rep.Drift {
		fmt.Fprintf(out, "  drift %s %s: described %s, computed %s\n", d.ContainerInstanceArn, d.Resource, d.Described, d.Computed)
	}

	fork, err := original.Fork(ctx)
	if err != nil {
		return err
	}
	changes, err := applyChanges(ctx, fork, clusterName, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "changes:")
	for _, c := range changes {
		fmt.Fprintln(out, "  "+c)
	}

	d := &stevedore.Driver{Client: fork, Clock: fork.Clock().(*stevedore.ManualClock), Cluster: clusterName, StartDelay: cfg.startDelay}
	var bar *progressbar.ProgressBar
	if showProgress(cfg, errOut) {
		bar = progressbar.NewOptions(cfg.maxSteps, progressbar.OptionSetWriter(errOut), progressbar.OptionSetDescription("running to steady state"),
			progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
	}
	d.OnStep = func(n int, o *stevedore.StepOutput) {
		if bar != nil {
			_ = bar.Set(n)
		}
	}
	steps, runErr := d.RunUntilSteady(ctx, cfg.step, cfg.maxSteps)
	if bar != nil {
		_ = bar.Finish()
	}
	if runErr != nil && !errors.Is(runErr, stevedore.ErrNotSteady) {
		return runErr
	}
	steady := runErr == nil
	start := snap.Time()
	if steady {
		fmt.Fprintf(out, "run: steady after %d steps of %s (%s simulated)\n", len(steps), cfg.step, d.Clock.Now().Sub(start))
	} else {
		fmt.Fprintf(out, "run: NOT steady after %d steps of %s (%s simulated)\n", len(steps), cfg.step, d.Clock.Now().Sub(start))
	}
	if err := report(ctx, out, fork, clusterName, steps, start); err != nil {
		return err
	}
	if cfg.svg != "" {
		fs, err := fork.Snapshot(ctx)
		if err != nil {
			return err
		}
		svg := packingSVG(fs, clusterName, fmt.Sprintf("%s after %s", clusterName, strings.Join(changes, "; ")))
		if err := os.WriteFile(cfg.svg, []byte(svg), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "packing drawn in %s\n", cfg.svg)
	}
	diff, err := stevedore.Diff(ctx, original, fork)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "calls that make it real: %d\n", len(diff.Calls))
	if cfg.calls != "" {
		if err := os.WriteFile(cfg.calls, []byte(diff.Script()), 0o755); err != nil {
			return err
		}
		fmt.Fprintf(out, "  written to %s\n", cfg.calls)
	}
	if !steady {
		return fmt.Errorf("%w within --max-steps %d", stevedore.ErrNotSteady, cfg.maxSteps)
	}
	return nil
}

// loadSnapshot reads the snapshot in dir and imports it into a Client
// seeded with seed, on a manual clock at the snapshot's time; cluster is
// the cluster to work on, or "" for the snapshot's only one.
func loadSnapshot(ctx context.Context, dir, cluster string, seed uint64) (*stevedore.Snapshot, *stevedore.Client, *stevedore.ImportReport, string, error) {
	snap, err := stevedore.ReadSnapshot(os.DirFS(dir))
	if err != nil {
		return nil, nil, nil, "", err
	}
	c, rep, err := stevedore.Import(ctx, snap, stevedore.Options{Clock: stevedore.NewManualClock(snap.Time()), Rand: rand.NewPCG(seed, seed^0x5eed)})
	if err != nil {
		return nil, nil, nil, "", err
	}
	if cluster == "" {
		list, err := c.ListClusters(ctx, nil)
		if err != nil {
			return nil, nil, nil, "", err
		}
		if len(list.ClusterArns) != 1 {
			return nil, nil, nil, "", fmt.Errorf("the snapshot has %d clusters: say which with --cluster", len(list.ClusterArns))
		}
		cluster = list.ClusterArns[0][strings.LastIndexByte(list.ClusterArns[0], '/')+1:]
	}
	return snap, c, rep, cluster, nil
}

// showProgress tells whether the run shows a progress bar.
func showProgress(cfg whatifConfig, w io.Writer) bool {
	switch cfg.progress {
	case "always":
		return true
	case "never":
		return false
	}
	return cfg.maxSteps >= cfg.progressMin && isTerminal(w)
}

// applyChanges makes the changes cfg names on c and describes them.
func applyChanges(ctx context.Context, c *stevedore.Client, cl string, cfg whatifConfig) ([]string, error) {
	var done []string
	for _, s := range cfg.taskDefs {
		svc, file, err := splitAssign("task-definition", s)
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		in, err := stevedore.DecodeRegisterTaskDefinitionInput(data)
		if err != nil {
			return nil, fmt.Errorf("--task-definition %s: %w", file, err)
		}
		reg, err := c.RegisterTaskDefinition(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("--task-definition %s: %w", file, err)
		}
		arn := reg.TaskDefinition.TaskDefinitionArn
		if _, err := c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: cl, Service: svc, TaskDefinition: arn}); err != nil {
			return nil, fmt.Errorf("--task-definition %s: %w", s, err)
		}
		done = append(done, fmt.Sprintf("service %s deploys %s", svc, arn[strings.LastIndexByte(arn, '/')+1:]))
	}
	for _, s := range cfg.desired {
		svc, v, err := splitAssign("desired-count", s)
		if err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("--desired-count %q: %q is not a number", s, v)
		}
		if _, err := c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: cl, Service: svc, DesiredCount: &n}); err != nil {
			return nil, fmt.Errorf("--desired-count %s: %w", s, err)
		}
		done = append(done, fmt.Sprintf("service %s desired count %d", svc, n))
	}
	snap, err := c.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	for _, ref := range cfg.drain {
		arn := ""
		for _, in := range snap.ContainerInstances {
			if in.ContainerInstanceArn == ref || strings.HasSuffix(in.ContainerInstanceArn, "/"+ref) || in.Ec2InstanceId == ref {
				arn = in.ContainerInstanceArn
			}
		}
		if arn == "" {
			return nil, fmt.Errorf("--drain %s: no such container instance in the snapshot", ref)
		}
		if _, err := c.UpdateContainerInstancesState(ctx, &stevedore.UpdateContainerInstancesStateInput{Cluster: cl, ContainerInstances: []string{arn}, Status: "DRAINING"}); err != nil {
			return nil, fmt.Errorf("--drain %s: %w", ref, err)
		}
		done = append(done, "drain "+ref)
	}
	for _, typ := range cfg.loseTypes {
		n := 0
		for _, in := range snap.ContainerInstances {
			if in.Status != "INACTIVE" && attribute(in, "ecs.instance-type") == typ {
				if _, err := c.TerminateInstance(ctx, &stevedore.TerminateInstanceInput{Cluster: cl, ContainerInstance: in.ContainerInstanceArn}); err != nil {
					return nil, fmt.Errorf("--lose-type %s: %w", typ, err)
				}
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("--lose-type %s: no live instance of that type in the snapshot", typ)
		}
		done = append(done, fmt.Sprintf("lose the %d %s instances", n, typ))
	}
	if len(done) == 0 {
		done = append(done, "none (the snapshot as it is)")
	}
	return done, nil
}

func attribute(in stevedore.SnapshotContainerInstance, name string) string {
	for _, a := range in.Attributes {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

// report prints the run's events, failures, services and utilisation.
func report(ctx context.Context, out io.Writer, c *stevedore.Client, cl string, steps []*stevedore.StepOutput, start time.Time) error {
	var events []stevedore.ServiceEvent
	tally := map[string]int{}
	checks := map[string]map[string]int{}
	for _, s := range steps {
		events = append(events, s.Events...)
		for _, f := range s.Failures {
			tally[f.Reason]++
			if checks[f.Reason] == nil {
				checks[f.Reason] = map[string]int{}
			}
			for k, n := range f.Checks {
				checks[f.Reason][string(k)] += n
			}
		}
	}
	fmt.Fprintf(out, "events: %d\n", len(events))
	const maxEvents = 40
	for i, e := range events {
		if i == maxEvents {
			fmt.Fprintf(out, "  ... and %d more\n", len(events)-maxEvents)
			break
		}
		fmt.Fprintf(out, "  +%s %s\n", e.CreatedAt.Sub(start), e.Message)
	}
	fmt.Fprintf(out, "placement failures: %d\n", sumCounts(tally))
	for _, r := range slices.Sorted(maps.Keys(tally)) {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(checks[r])) {
			parts = append(parts, fmt.Sprintf("%s %d", k, checks[r][k]))
		}
		fmt.Fprintf(out, "  %-18s %5d  instances failing each check: %s\n", r, tally[r], strings.Join(parts, ", "))
	}
	snap, err := c.Snapshot(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(out, "services:")
	fmt.Fprintln(tw, "  SERVICE\tDESIRED\tRUNNING\tPENDING\tDEPLOYMENTS\t")
	for _, s := range snap.Services {
		if !strings.HasSuffix(s.ClusterArn, "/"+cl) {
			continue
		}
		var deps []string
		for _, d := range s.Deployments {
			deps = append(deps, fmt.Sprintf("%s %s %d/%d %s", d.Status, d.TaskDefinition[strings.LastIndexByte(d.TaskDefinition, '/')+1:], d.RunningCount, d.DesiredCount, d.RolloutState))
		}
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%s\t\n", s.ServiceName, s.DesiredCount, s.RunningCount, s.PendingCount, strings.Join(deps, "; "))
	}
	_ = tw.Flush()
	type use struct{ n, tasks, cpu, regCPU, mem, regMem int64 }
	zones := map[string]*use{}
	fmt.Fprintln(out, "utilisation by instance (CPU and memory held by tasks, of registered):")
	fmt.Fprintln(tw, "  INSTANCE\tTYPE\tZONE\tSTATUS\tTASKS\tCPU\tMEMORY\t")
	for _, in := range snap.ContainerInstances {
		if !strings.Contains(in.ContainerInstanceArn, "/"+cl+"/") && len(snap.Clusters) > 1 {
			continue
		}
		reg, rem := resourceAmounts(in.RegisteredResources), resourceAmounts(in.RemainingResources)
		zone := attribute(in, "ecs.availability-zone")
		u := &use{tasks: int64(in.RunningTasksCount + in.PendingTasksCount), cpu: reg[0] - rem[0], regCPU: reg[0], mem: reg[1] - rem[1], regMem: reg[1]}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%s\t%s\t\n", cmp.Or(in.Ec2InstanceId, in.ContainerInstanceArn), attribute(in, "ecs.instance-type"), zone, in.Status, u.tasks,
			pct(u.cpu, u.regCPU), pct(u.mem, u.regMem))
		if in.Status == "INACTIVE" {
			continue
		}
		z := zones[zone]
		if z == nil {
			z = &use{}
			zones[zone] = z
		}
		z.n++
		z.tasks += u.tasks
		z.cpu += u.cpu
		z.regCPU += u.regCPU
		z.mem += u.mem
		z.regMem += u.regMem
	}
	_ = tw.Flush()
	fmt.Fprintln(out, "utilisation by zone (live instances):")
	fmt.Fprintln(tw, "  ZONE\tINSTANCES\tTASKS\tCPU\tMEMORY\t")
	for _, name := range slices.Sorted(maps.Keys(zones)) {
		z := zones[name]
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%s\t\n", cmp.Or(name, "(none)"), z.n, z.tasks, pct(z.cpu, z.regCPU), pct(z.mem, z.regMem))
	}
	return tw.Flush()
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// resourceAmounts returns the CPU and MEMORY of rs.
func resourceAmounts(rs []stevedore.Resource) [2]int64 {
	var out [2]int64
	for _, r := range rs {
		switch r.Name {
		case "CPU":
			out[0] = cmp.Or(r.IntegerValue, r.LongValue)
		case "MEMORY":
			out[1] = cmp.Or(r.IntegerValue, r.LongValue)
		}
	}
	return out
}

func pct(used, of int64) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d (%.0f%%)", used, of, 100*float64(used)/float64(of))
}
