package planner

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/stevedore-go/stevedore/instancetypes"
)

// Candidate is an instance type a capacity plan may use.
type Candidate struct {
	// Name names it in the plan, e.g. "m5.large".
	Name string
	// Bin is what one instance offers tasks.
	Bin Bin
	// Price is its cost per hour; 0 when unknown (then only the number
	// of instances can be compared).
	Price float64
}

// CandidateFor returns the candidate of an EC2 instance type from the
// catalogue: 1,024 CPU units per vCPU, the memory ECS registers for it,
// its GPUs, the awsvpc tasks it runs (with trunking if trunking), and its
// on-demand price.
func CandidateFor(t instancetypes.InstanceType, trunking bool) Candidate {
	price, _ := t.OnDemandPrice()
	enis := int64(t.TaskENIs(trunking))
	if enis == 0 {
		enis = NoTaskENIs // its only ENI is the instance's own
	}
	return Candidate{Name: t.Name, Price: price, Bin: Bin{
		CPU: t.CPUUnits(), Memory: t.RegisteredMemoryMiB(), GPUs: int64(t.GPUs), ENIs: enis,
	}}
}

// Objective is what a capacity plan minimises.
type Objective int

// The objectives.
const (
	// Cost minimises the price per hour (instances, for candidates
	// without a price), then the number of instances.
	Cost Objective = iota
	// Instances minimises the number of instances, then the price.
	Instances
)

// PlanOptions tune [PlanCapacity].
type PlanOptions struct {
	Options
	Objective Objective
	// Zones, when above 1, spreads every group of identical tasks evenly
	// over that many Availability Zones (as the service scheduler's
	// default spread does) and plans each zone's instances on their own.
	Zones int
	// Planned, if not nil, is called after each candidate with how many
	// have been planned and how many there are.
	Planned func(done, total int)
}

// Fleet is the plan for one candidate: how many of its instances hold
// the workload.
type Fleet struct {
	Candidate Candidate
	Instances int
	// PerZone has each zone's instances when the plan spreads over zones.
	PerZone []int
	// CostPerHour is Instances × the candidate's price.
	CostPerHour float64
	// Bound is the lower bound on Instances (summed over the zones), and
	// Gap how far above it the plan is, in percent.
	Bound LowerBound
	Gap   float64
	// Method is the packing heuristic that won (of the first zone).
	Method string
	// Packing has, per zone, the packing's instances as item indexes.
	Packing [][][]int
	// Mix, for a mixed fleet, has the candidate of each instance of
	// Packing, zone by zone, and Counts how many of each type; nil for a
	// fleet of one type.
	Mix    [][]string
	Counts map[string]int
}

// CapacityPlan is the fleet of every candidate that can hold the
// workload, best first by the objective, and why the others cannot.
type CapacityPlan struct {
	Fleets []Fleet
	// Unfit has the candidates that cannot hold some task, with why.
	Unfit map[string]string
}

// ErrNoCandidate is returned when no candidate can hold every task.
var ErrNoCandidate = errors.New("planner: no candidate instance type holds every task")

// PlanCapacity plans the fleet of each candidate for the items: a [Pack]
// of each zone's share (see PlanOptions.Zones) with its [Bound], ranked
// by the objective. Cost: one Pack per candidate and zone.
func PlanCapacity(items []Shape, candidates []Candidate, opt PlanOptions) (CapacityPlan, error) {
	out := CapacityPlan{Unfit: map[string]string{}}
	zones := max(opt.Zones, 1)
	shares := zoneShares(items, zones)
	for ci, c := range candidates {
		if ci > 0 && opt.Planned != nil {
			opt.Planned(ci, len(candidates))
		}
		f := Fleet{Candidate: c, Bound: LowerBound{ByConstraint: map[string]int{}}}
		unfit := ""
		zoneBound := -1
		if err := check(items, c.Bin); err != nil { // with the workload's own task numbers
			out.Unfit[c.Name] = err.Error()
			continue
		}
		for z, share := range shares {
			sub := make([]Shape, len(share))
			for i, idx := range share {
				sub[i] = items[idx]
			}
			lb, err := Bound(sub, c.Bin)
			if err != nil {
				unfit = err.Error()
				break
			}
			p, err := Pack(sub, c.Bin, opt.Options)
			if err != nil {
				unfit = err.Error()
				break
			}
			bins := make([][]int, len(p.Bins))
			for j, b := range p.Bins {
				bins[j] = make([]int, len(b))
				for k, i := range b {
					bins[j][k] = share[i]
				}
			}
			f.Packing = append(f.Packing, bins)
			f.Instances += len(p.Bins)
			if zones > 1 {
				f.PerZone = append(f.PerZone, len(p.Bins))
			}
			f.Bound.Bins += lb.Bins
			for k, v := range lb.ByConstraint {
				f.Bound.ByConstraint[k] += v
			}
			if z == 0 {
				f.Method = p.Method
			}
			if lb.Bins > zoneBound { // the zone that needs the most names the binding constraint
				zoneBound, f.Bound.Binding = lb.Bins, lb.Binding
			}
		}
		if unfit != "" {
			out.Unfit[c.Name] = unfit
			continue
		}
		f.CostPerHour = float64(f.Instances) * c.Price
		if f.Bound.Bins > 0 {
			f.Gap = float64(f.Instances-f.Bound.Bins) / float64(f.Bound.Bins) * 100
		}
		out.Fleets = append(out.Fleets, f)
	}
	if opt.Planned != nil && len(candidates) > 0 {
		opt.Planned(len(candidates), len(candidates))
	}
	if mixed, ok := mix(items, out.Fleets, candidates); ok {
		out.Fleets = append(out.Fleets, mixed)
	}
	if len(out.Fleets) == 0 && len(items) > 0 {
		return out, fmt.Errorf("%w (%d candidates)", ErrNoCandidate, len(candidates))
	}
	// A total order: under Cost, the priced fleets first by cost, then
	// those without a price by instances; names break ties.
	slices.SortStableFunc(out.Fleets, func(a, b Fleet) int {
		byName := strings.Compare(a.Candidate.Name, b.Candidate.Name)
		if opt.Objective == Instances {
			return cmp.Or(cmp.Compare(a.Instances, b.Instances), cmp.Compare(a.CostPerHour, b.CostPerHour), byName)
		}
		ap, bp := a.Candidate.Price > 0, b.Candidate.Price > 0
		if ap != bp {
			if ap {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.CostPerHour, b.CostPerHour), cmp.Compare(a.Instances, b.Instances), byName)
	})
	return out, nil
}

// zoneShares deals each group of identical tasks round robin over the
// zones, so that every zone gets its share of every group (one more in
// some zones where a group does not divide evenly).
func zoneShares(items []Shape, zones int) [][]int {
	out := make([][]int, zones)
	if zones == 1 {
		out[0] = make([]int, len(items))
		for i := range items {
			out[0][i] = i
		}
		return out
	}
	p := newProblem(items, Bin{CPU: 1, Memory: 1})
	next := 0 // carried from group to group, so that the zones' totals even out too
	for _, c := range p.classesOf(nil) {
		members := slices.Clone(c.items)
		slices.Sort(members)
		for _, i := range members {
			out[next%zones] = append(out[next%zones], i)
			next++
		}
	}
	for z := range out {
		slices.Sort(out[z])
	}
	return out
}

// mix makes a mixed fleet from the cheapest fleet of one type: each of its
// instances becomes the cheapest candidate that holds that instance's
// tasks on its own. Its candidate is named "mixed", with the average
// price of its instances. ok is false when no instance gets cheaper (or
// no fleet has a price).
func mix(items []Shape, fleets []Fleet, candidates []Candidate) (Fleet, bool) {
	var base *Fleet
	for i := range fleets {
		if f := &fleets[i]; f.Candidate.Price > 0 && (base == nil || f.CostPerHour < base.CostPerHour) {
			base = f
		}
	}
	if base == nil {
		return Fleet{}, false
	}
	out := Fleet{Candidate: Candidate{Name: "mixed"}, Instances: base.Instances, PerZone: base.PerZone, Bound: base.Bound,
		Gap: base.Gap, Method: base.Method + "+smaller types", Packing: base.Packing, Counts: map[string]int{}}
	problems := map[string]*problem{}
	for _, c := range candidates {
		if c.Price > 0 {
			problems[c.Name] = newProblem(items, c.Bin)
		}
	}
	cheaper := false
	for _, zone := range base.Packing {
		names := make([]string, len(zone))
		for j, inst := range zone {
			best := base.Candidate
			for _, c := range candidates {
				if c.Price <= 0 || c.Price >= best.Price || !holds(problems[c.Name], inst) {
					continue
				}
				best = c
			}
			names[j] = best.Name
			out.Counts[best.Name]++
			out.CostPerHour += best.Price
			cheaper = cheaper || best.Name != base.Candidate.Name
		}
		out.Mix = append(out.Mix, names)
	}
	out.Candidate.Price = out.CostPerHour / float64(max(out.Instances, 1)) // the average, so that it ranks by cost
	return out, cheaper && out.CostPerHour < base.CostPerHour-1e-9
}

// holds reports whether one instance of p's bin takes all the items.
func holds(p *problem, items []int) bool {
	if p == nil {
		return false
	}
	b := &bin{}
	for _, i := range items {
		for d := range dims {
			if p.vec[i][d] > p.cap[d] {
				return false
			}
		}
		if !p.fits(b, i) {
			return false
		}
		p.add(b, i)
	}
	return true
}
