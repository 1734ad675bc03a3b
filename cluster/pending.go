package cluster

import (
	"iter"
	"slices"
)

// Pending accumulates the placements a scheduler has decided but not yet
// committed, so that the second task of a call is checked against the state
// the first one leaves (ECS places a call's tasks one after another). Pass
// it to [Instance.Fits]. It holds one entry per touched instance; after a
// [Pending.Reset] it reuses its memory, so a steady-state decision allocates
// nothing. A Pending belongs to one goroutine.
type Pending struct {
	entries []pendingEntry
	index   map[*Instance]int32 // over entries, once there are many
}

// indexFrom is how many entries a Pending scans before it keeps an index.
const indexFrom = 16

type pendingEntry struct {
	inst        *Instance
	cpu, memory int64
	gpus, enis  int
	tasks       int
	ports       []uint16 // sorted
	portsUDP    []uint16 // sorted
	groups      []groupCount
	// freed and freedUDP are host ports of tasks the decision stops.
	freed, freedUDP []uint16 // sorted
}

// Reset forgets every entry and keeps the memory.
func (p *Pending) Reset() {
	for i := range p.entries {
		e := &p.entries[i]
		e.inst = nil // no instance kept alive by a pooled Pending
		clear(e.groups)
		e.groups = e.groups[:0]
	}
	p.entries = p.entries[:0]
	clear(p.index)
}

// Len returns the number of placements added since the last Reset, less
// the released tasks.
func (p *Pending) Len() int {
	if p == nil {
		return 0
	}
	n := 0
	for i := range p.entries {
		n += p.entries[i].tasks
	}
	return n
}

func (p *Pending) find(in *Instance) *pendingEntry {
	if p == nil {
		return nil
	}
	if len(p.entries) > indexFrom {
		if i, ok := p.index[in]; ok {
			return &p.entries[i]
		}
		return nil
	}
	for i := range p.entries {
		if p.entries[i].inst == in {
			return &p.entries[i]
		}
	}
	return nil
}

// Add records a task of spec as placed on in.
func (p *Pending) Add(in *Instance, spec *TaskSpec) {
	e := p.entry(in)
	d := spec.Demand
	e.cpu += d.cpu
	e.memory += d.memory
	e.gpus += d.gpus
	e.enis += d.enis
	e.tasks++
	e.ports = mergeSorted(e.ports, d.ports.p)
	e.portsUDP = mergeSorted(e.portsUDP, d.portsUDP.p)
	e.addGroup(spec.Group, 1)
}

// Release records the non-stopped task t as stopped by the decision: its
// resources count as free on its instance, and it no longer counts in its
// group.
func (p *Pending) Release(t *Task) {
	e := p.entry(t.inst)
	d := t.spec.Demand
	e.cpu -= d.cpu
	e.memory -= d.memory
	e.gpus -= d.gpus
	e.enis -= d.enis
	e.tasks--
	e.freed = mergeSorted(e.freed, d.ports.p)
	e.freedUDP = mergeSorted(e.freedUDP, d.portsUDP.p)
	e.addGroup(t.spec.Group, -1)
}

// Unrelease takes back a Release of t: t counts as running again.
func (p *Pending) Unrelease(t *Task) {
	e := p.entry(t.inst)
	d := t.spec.Demand
	e.cpu += d.cpu
	e.memory += d.memory
	e.gpus += d.gpus
	e.enis += d.enis
	e.tasks++
	e.freed = removeSorted(e.freed, d.ports.p)
	e.freedUDP = removeSorted(e.freedUDP, d.portsUDP.p)
	e.addGroup(t.spec.Group, 1)
}

func removeSorted(dst, drop []uint16) []uint16 {
	for _, x := range drop {
		if i, ok := slices.BinarySearch(dst, x); ok {
			dst = slices.Delete(dst, i, i+1)
		}
	}
	return dst
}

func (e *pendingEntry) addGroup(group string, delta int32) {
	for i := range e.groups {
		if e.groups[i].group == group {
			e.groups[i].n += delta
			return
		}
	}
	e.groups = append(e.groups, groupCount{group: group, n: delta})
}

// entry returns in's entry, adding it.
func (p *Pending) entry(in *Instance) *pendingEntry {
	if e := p.find(in); e != nil {
		return e
	}
	var e *pendingEntry
	if len(p.entries) < cap(p.entries) {
		p.entries = p.entries[:len(p.entries)+1]
		e = &p.entries[len(p.entries)-1]
		*e = pendingEntry{inst: in, ports: e.ports[:0], portsUDP: e.portsUDP[:0], groups: e.groups[:0],
			freed: e.freed[:0], freedUDP: e.freedUDP[:0]}
	} else {
		p.entries = append(p.entries, pendingEntry{inst: in})
		e = &p.entries[len(p.entries)-1]
	}
	if len(p.entries) > indexFrom {
		if p.index == nil {
			p.index = make(map[*Instance]int32)
		}
		if len(p.index) != len(p.entries)-1 { // the index starts now
			clear(p.index)
			for i := range p.entries[:len(p.entries)-1] {
				p.index[p.entries[i].inst] = int32(i)
			}
		}
		p.index[in] = int32(len(p.entries) - 1)
	}
	return e
}

// Resources returns the CPU units, MiB of memory and GPUs the pending tasks
// on in take, less what released tasks free (possibly negative).
func (p *Pending) Resources(in *Instance) (cpu, memory int64, gpus int) {
	if e := p.find(in); e != nil {
		return e.cpu, e.memory, e.gpus
	}
	return 0, 0, 0
}

// TaskCount returns how many tasks are pending on in, less the released
// ones. A nil Pending has none, like an empty one. An instance with an
// entry — touched by the decision — may have a count of 0; see [Pending.Touched].
func (p *Pending) TaskCount(in *Instance) int {
	if e := p.find(in); e != nil {
		return e.tasks
	}
	return 0
}

// Touched reports whether the decision placed or released a task on in.
func (p *Pending) Touched(in *Instance) bool { return p.find(in) != nil }

// GroupCount returns how many pending tasks of group are on in, less the
// released ones (possibly negative).
func (p *Pending) GroupCount(in *Instance, group string) int {
	if e := p.find(in); e != nil {
		for _, g := range e.groups {
			if g.group == group {
				return int(g.n)
			}
		}
	}
	return 0
}

func mergeSorted(dst, add []uint16) []uint16 {
	for _, x := range add {
		i, ok := slices.BinarySearch(dst, x)
		if !ok {
			dst = slices.Insert(dst, i, x)
		}
	}
	return dst
}

// Instances yields the instances with pending tasks, in the order they were
// first added.
func (p *Pending) Instances() iter.Seq[*Instance] {
	return func(yield func(*Instance) bool) {
		if p == nil {
			return
		}
		for i := range p.entries {
			if !yield(p.entries[i].inst) {
				return
			}
		}
	}
}
