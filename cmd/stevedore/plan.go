package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/instancetypes"
	"github.com/stevedore-go/stevedore/planner"
)

// planConfig is what `stevedore plan capacity` is told.
type planConfig struct {
	workload  string
	snapshot  string
	cluster   string
	types     []string
	zones     int
	objective string
	trunking  bool
	seed      uint64
	svg       string
	progress  string
}

func newPlan() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Plan capacity: how many instances of which type a workload needs",
	}
	cmd.AddCommand(newPlanCapacity(), newPlanRebalance())
	return cmd
}

func newPlanCapacity() *cobra.Command {
	var cfg planConfig
	cmd := &cobra.Command{
		Use:   "capacity (--workload FILE | --snapshot DIR) [--types T,...]",
		Short: "The fleet of each instance type that holds a workload, cheapest first, with its lower bound",
		Long: `plan capacity packs a workload onto each candidate EC2 instance type and
reports, cheapest first: how many instances (per Availability Zone with
--zones), the cost per hour (us-east-1 on-demand, from the embedded
catalogue), the lower bound no packing can beat and the constraint that
sets it, and the gap to it. Types too small for a task are listed apart.

The workload is either --workload FILE, JSON of task shapes:

  {"tasks": [{"name": "web", "count": 40, "cpu": 256, "memory": 512,
              "ports": [80], "distinctInstance": false, "gpus": 0,
              "awsvpc": false}]}

or --snapshot DIR, a real cluster's describe-* output (see whatif): its
running and pending tasks, each with its described cpu and memory and its
task definition's static host ports.`,
		Example: `  stevedore plan capacity --workload shop.json --types m5.large,c5.xlarge,r5.large --zones 3
  stevedore plan capacity --snapshot ./snap --svg plan.svg`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return planCapacity(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.workload, "workload", "", "JSON file of task shapes")
	f.StringVar(&cfg.snapshot, "snapshot", "", "directory of describe-* JSON files of a real cluster")
	f.StringVar(&cfg.cluster, "cluster", "", "the snapshot's cluster (default: its only one)")
	f.StringSliceVar(&cfg.types, "types", nil, "candidate instance types (default: every type of the catalogue that holds each task)")
	f.IntVar(&cfg.zones, "zones", 1, "spread each group of tasks evenly over this many Availability Zones")
	f.StringVar(&cfg.objective, "objective", "cost", "cost (per hour) or instances")
	f.BoolVar(&cfg.trunking, "trunking", false, "plan with awsvpcTrunking enabled (more awsvpc tasks per instance)")
	f.Uint64Var(&cfg.seed, "seed", 1, "seed of the packing's random orders, so that runs replay")
	f.StringVar(&cfg.svg, "svg", "", "write an SVG of the best fleet's packing to this file")
	f.StringVar(&cfg.progress, "progress", "auto", "progress bar on stderr: auto (on a terminal), always or never")
	return cmd
}

// maxPlanTasks bounds a workload: packing costs grow with tasks ×
// instances, for every candidate type.
const maxPlanTasks = 100_000

// workloadFile is the JSON --workload reads.
type workloadFile struct {
	Tasks []struct {
		Name             string   `json:"name"`
		Count            int      `json:"count"`
		CPU              int64    `json:"cpu"`
		Memory           int64    `json:"memory"`
		Ports            []uint16 `json:"ports"`
		PortsUDP         []uint16 `json:"portsUdp"`
		DistinctInstance bool     `json:"distinctInstance"`
		GPUs             int64    `json:"gpus"`
		Awsvpc           bool     `json:"awsvpc"`
	} `json:"tasks"`
}

// readWorkload returns the shapes and, per shape, its group name.
func readWorkload(cfg planConfig) ([]planner.Shape, []string, error) {
	switch {
	case cfg.workload != "" && cfg.snapshot != "":
		return nil, nil, errors.New("give --workload or --snapshot, not both")
	case cfg.workload != "":
		data, err := os.ReadFile(cfg.workload)
		if err != nil {
			return nil, nil, err
		}
		var w workloadFile
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&w); err != nil {
			return nil, nil, fmt.Errorf("--workload %s: %w", cfg.workload, err)
		}
		var shapes []planner.Shape
		var names []string
		total := 0
		for i, t := range w.Tasks {
			if t.Count < 0 || t.Count > maxPlanTasks-total {
				return nil, nil, fmt.Errorf("--workload %s: tasks[%d].count %d: counts must be at least 0 and at most %d in all", cfg.workload, i, t.Count, maxPlanTasks)
			}
			total += t.Count
			s := planner.Shape{CPU: t.CPU, Memory: t.Memory, GPUs: t.GPUs}
			for _, p := range t.Ports {
				s.Ports = append(s.Ports, uint32(p))
			}
			for _, p := range t.PortsUDP {
				s.Ports = append(s.Ports, uint32(p)+1<<16)
			}
			if t.DistinctInstance {
				s.Distinct = cmp.Or(t.Name, fmt.Sprintf("tasks[%d]", i))
			}
			if t.Awsvpc {
				s.ENIs = 1
			}
			for range t.Count {
				shapes = append(shapes, s)
				names = append(names, cmp.Or(t.Name, fmt.Sprintf("tasks[%d]", i)))
			}
		}
		return shapes, names, nil
	case cfg.snapshot != "":
		return snapshotWorkload(cfg)
	}
	return nil, nil, errors.New("give --workload FILE or --snapshot DIR")
}

// snapshotWorkload reads the live tasks of a snapshot's cluster.
func snapshotWorkload(cfg planConfig) ([]planner.Shape, []string, error) {
	snap, err := stevedore.ReadSnapshot(os.DirFS(cfg.snapshot))
	if err != nil {
		return nil, nil, err
	}
	ports := map[string][]uint32{}
	for _, td := range snap.TaskDefinitions {
		d, err := td.Demand()
		if err != nil {
			continue
		}
		var ps []uint32
		for _, p := range d.Ports {
			ps = append(ps, uint32(p))
		}
		for _, p := range d.PortsUDP {
			ps = append(ps, uint32(p)+1<<16)
		}
		ports[td.TaskDefinitionArn] = ps
	}
	if cfg.cluster == "" && len(snap.Clusters) > 1 {
		return nil, nil, fmt.Errorf("the snapshot has %d clusters: say which with --cluster", len(snap.Clusters))
	}
	var shapes []planner.Shape
	var names []string
	for _, t := range snap.Tasks {
		if t.LastStatus == "STOPPED" || t.DesiredStatus == "STOPPED" || (cfg.cluster != "" && !strings.HasSuffix(t.ClusterArn, "/"+cfg.cluster)) {
			continue
		}
		cpu, _ := strconv.ParseInt(t.Cpu, 10, 64)
		mem, _ := strconv.ParseInt(t.Memory, 10, 64)
		shapes = append(shapes, planner.Shape{CPU: cpu, Memory: mem, GPUs: int64(len(t.GpuIds)), Ports: ports[t.TaskDefinitionArn]})
		names = append(names, t.Group)
	}
	if len(shapes) == 0 {
		return nil, nil, fmt.Errorf("--snapshot %s: no running or pending task", cfg.snapshot)
	}
	return shapes, names, nil
}

func planCapacity(ctx context.Context, cfg planConfig, out, errOut io.Writer) error {
	shapes, names, err := readWorkload(cfg)
	if err != nil {
		return err
	}
	var cands []planner.Candidate
	types := cfg.types
	if len(types) == 0 {
		for _, t := range instancetypes.All() {
			types = append(types, t.Name)
		}
	}
	for _, name := range types {
		t, ok := instancetypes.Lookup(name)
		if !ok {
			return fmt.Errorf("--types: %q is not in the catalogue (see package instancetypes)", name)
		}
		cands = append(cands, planner.CandidateFor(t, cfg.trunking))
	}
	opt := planner.PlanOptions{Options: planner.Options{Seed: cfg.seed}, Zones: cfg.zones}
	switch cfg.objective {
	case "cost":
	case "instances":
		opt.Objective = planner.Instances
	default:
		return fmt.Errorf("--objective must be cost or instances, not %q", cfg.objective)
	}
	if cfg.zones < 1 || cfg.zones > 6 {
		return fmt.Errorf("--zones must be from 1 to 6, not %d", cfg.zones)
	}
	if showBar(cfg.progress, errOut) {
		bar := progressbar.NewOptions(len(cands), progressbar.OptionSetWriter(errOut), progressbar.OptionSetDescription("packing"),
			progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
		opt.Planned = func(done, _ int) { _ = bar.Set(done) }
		defer bar.Finish()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	plan, err := planner.PlanCapacity(shapes, cands, opt)
	if err != nil && !errors.Is(err, planner.ErrNoCandidate) {
		return err
	}
	fmt.Fprintf(out, "%d tasks; prices: %s on-demand, %s\n\n", len(shapes), instancetypes.Region, instancetypes.PricesAsOf)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TYPE\tINSTANCES\tPER ZONE\t$/HOUR\tLOWER BOUND\tGAP\tBINDING\tMETHOD")
	for _, f := range plan.Fleets {
		zones := "-"
		if len(f.PerZone) > 0 {
			zs := make([]string, len(f.PerZone))
			for i, n := range f.PerZone {
				zs[i] = strconv.Itoa(n)
			}
			zones = strings.Join(zs, "/")
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%.3f\t%d\t%+.1f%%\t%s\t%s\n", fleetName(f), f.Instances, zones, f.CostPerHour, f.Bound.Bins, f.Gap, f.Bound.Binding, f.Method)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(plan.Unfit) > 0 {
		noun := "types cannot"
		if len(plan.Unfit) == 1 {
			noun = "type cannot"
		}
		fmt.Fprintf(out, "\n%d %s hold every task:\n", len(plan.Unfit), noun)
		for _, name := range slices.Sorted(func(yield func(string) bool) {
			for k := range plan.Unfit {
				if !yield(k) {
					return
				}
			}
		}) {
			fmt.Fprintf(out, "  %s: %s\n", name, plan.Unfit[name])
		}
	}
	if len(plan.Fleets) == 0 {
		return err
	}
	if cfg.svg != "" {
		bins := map[string]planner.Bin{}
		for _, c := range cands {
			bins[c.Name] = c.Bin
		}
		if err := os.WriteFile(cfg.svg, []byte(planSVG(plan.Fleets[0], shapes, names, bins)), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "\nwrote %s\n", cfg.svg)
	}
	return nil
}

// fleetName is the fleet's type, or for a mixed fleet its types with
// their counts.
func fleetName(f planner.Fleet) string {
	if f.Counts == nil {
		return f.Candidate.Name
	}
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(f.Counts)) {
		parts = append(parts, fmt.Sprintf("%s×%d", t, f.Counts[t]))
	}
	return "mixed: " + strings.Join(parts, " ")
}

// showBar tells whether to show a progress bar on w: always, never, or
// (auto) when w is a terminal.
func showBar(mode string, w io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	return isTerminal(w)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// planSVG draws a fleet's packing: each instance a column (grouped by
// zone), each task a box of its CPU (width) and memory (height), stacked
// corner to corner, coloured by its group.
func planSVG(f planner.Fleet, shapes []planner.Shape, names []string, bins map[string]planner.Bin) string {
	const colW, colH, gap, top = 60.0, 120.0, 8.0, 40.0
	groups := slices.Compact(slices.Sorted(slices.Values(slices.Clone(names))))
	colour := map[string]string{}
	for i, g := range groups {
		colour[g] = palette[i%len(palette)]
	}
	n := 0
	for _, z := range f.Packing {
		n += len(z)
	}
	perRow := max(1, min(n, 20))
	rows := (n + perRow - 1) / perRow
	width := max(float64(perRow)*(colW+gap)+gap, 640) // room for the title
	height := top + float64(rows)*(colH+gap+14) + 20*float64(len(groups)) + 20
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%.0f" y="20" font-size="14">%s: %d instances, $%.3f/h (lower bound %d, %s)</text>`+"\n", gap,
		html.EscapeString(fleetName(f)), f.Instances, f.CostPerHour, f.Bound.Bins, html.EscapeString(f.Bound.Binding))
	k := 0
	for z, zone := range f.Packing {
		for j, bin := range zone {
			capacity := f.Candidate.Bin
			if f.Mix != nil {
				capacity = bins[f.Mix[z][j]]
			}
			x := gap + float64(k%perRow)*(colW+gap)
			y := top + float64(k/perRow)*(colH+gap+14)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#f4f4f4" stroke="#888"/>`+"\n", x, y, colW, colH)
			if len(f.PerZone) > 0 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">zone %d</text>`+"\n", x, y+colH+12, z+1)
			}
			cx, cy := x, y+colH
			for _, i := range bin {
				w := colW * float64(shapes[i].CPU) / float64(max(capacity.CPU, 1))
				h := colH * float64(shapes[i].Memory) / float64(max(capacity.Memory, 1))
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="#fff" stroke-width="0.5"><title>%s</title></rect>`+"\n",
					cx, cy-h, max(w, 2), max(h, 2), colour[names[i]], html.EscapeString(names[i]))
				cx, cy = cx+w, cy-h
			}
			k++
		}
	}
	ly := top + float64(rows)*(colH+gap+14) + 10
	for i, g := range groups {
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="12" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`+"\n", gap, ly+float64(i)*20, colour[g], gap+18, ly+float64(i)*20+10, html.EscapeString(g))
	}
	b.WriteString("</svg>\n")
	return b.String()
}
