package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/planner"
)

// rebalanceConfig is what `stevedore plan rebalance` is told.
type rebalanceConfig struct {
	snapshot string
	cluster  string
	goal     string
	maxMoves int
	seed     uint64
	svg      string
	calls    string
}

func newPlanRebalance() *cobra.Command {
	var cfg rebalanceConfig
	cmd := &cobra.Command{
		Use:   "rebalance --snapshot DIR [--goal spread|consolidate]",
		Short: "The moves, in waves, that spread a real cluster's services or free its instances",
		Long: `plan rebalance loads a real cluster's snapshot (see whatif) and plans, on a
copy, the task moves that reach the goal:

  spread       even each service out over the Availability Zones, then over
               the instances of each zone, to at most one task apart
  consolidate  empty the least-filled instances into the others, to free
               whole instances (daemon tasks stay)

Each move starts the task's replacement on another instance that fits it
and stops the task. The moves come in waves that keep every service within
its deployment configuration (maximumPercent − 100 % of its desired count
at once; a 100 %/100 % service does not move). The report gives the waves
and the balance before and after; --calls writes the AWS CLI calls of the
moves (ECS's service scheduler places a service's replacement tasks
itself), --svg draws the packing after the moves.`,
		Example: `  stevedore plan rebalance --snapshot ./snap --goal consolidate --max-moves 50 --calls moves.sh`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return planRebalance(cmd.Context(), cfg, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.snapshot, "snapshot", "", "directory of describe-* JSON files (required)")
	f.StringVar(&cfg.cluster, "cluster", "", "cluster to plan (default: the snapshot's only one)")
	f.StringVar(&cfg.goal, "goal", "spread", "spread or consolidate")
	f.IntVar(&cfg.maxMoves, "max-moves", 100, "the most moves the plan makes")
	f.Uint64Var(&cfg.seed, "seed", 1, "seed of every random choice, so that runs replay")
	f.StringVar(&cfg.svg, "svg", "", "write an SVG of the packing after the moves to this file")
	f.StringVar(&cfg.calls, "calls", "", "write the AWS CLI calls of the moves to this file")
	_ = cmd.MarkFlagRequired("snapshot")
	return cmd
}

func planRebalance(ctx context.Context, cfg rebalanceConfig, out io.Writer) error {
	var goal planner.RebalanceGoal
	switch cfg.goal {
	case "spread":
		goal = planner.Spread
	case "consolidate":
		goal = planner.Consolidate
	default:
		return fmt.Errorf("--goal must be spread or consolidate, not %q", cfg.goal)
	}
	if cfg.maxMoves < 1 {
		return fmt.Errorf("--max-moves must be at least 1, not %d", cfg.maxMoves)
	}
	_, original, _, cl, err := loadSnapshot(ctx, cfg.snapshot, cfg.cluster, cfg.seed)
	if err != nil {
		return err
	}
	plan, err := planner.PlanRebalance(ctx, original, &planner.RebalanceInput{Cluster: cl, Goal: goal, MaxMoves: cfg.maxMoves})
	if err != nil {
		return err
	}
	moves := 0
	for _, w := range plan.Waves {
		moves += len(w)
	}
	fmt.Fprintf(out, "goal %s: %d moves in %d waves; %d tasks held\n", cfg.goal, moves, len(plan.Waves), plan.Held)
	fmt.Fprintf(out, "  busy instances %d → %d; zone skew %d → %d; instance skew %d → %d\n",
		plan.Before.Busy, plan.After.Busy, plan.Before.ZoneSkew, plan.After.ZoneSkew, plan.Before.InstanceSkew, plan.After.InstanceSkew)
	short := func(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }
	for i, w := range plan.Waves {
		fmt.Fprintf(out, "wave %d:\n", i+1)
		for _, m := range w {
			fmt.Fprintf(out, "  %s task %s: %s → %s\n", m.Group, short(m.Task), short(m.From), short(m.To))
		}
	}
	if cfg.svg != "" {
		fs, err := plan.Fork.Snapshot(ctx)
		if err != nil {
			return err
		}
		if err := os.WriteFile(cfg.svg, []byte(packingSVG(fs, cl, fmt.Sprintf("%s after %d moves (%s)", cl, moves, cfg.goal))), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "packing drawn in %s\n", cfg.svg)
	}
	if cfg.calls != "" {
		diff, err := stevedore.Diff(ctx, original, plan.Fork)
		if err != nil {
			return err
		}
		if err := os.WriteFile(cfg.calls, []byte(diff.Script()), 0o755); err != nil {
			return err
		}
		fmt.Fprintf(out, "%d calls written to %s\n", len(diff.Calls), cfg.calls)
	}
	return nil
}
