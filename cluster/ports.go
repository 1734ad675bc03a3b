package cluster

import (
	"iter"
	"slices"
	"strconv"
)

// MaxReservedPorts is the most host ports (TCP and UDP together, the agent's
// reserved ports included) a container instance may have reserved at once.
// Dynamic ports do not count. ECS documents the limit of 100 without saying
// whether TCP and UDP share it; we count them together [INF].
const MaxReservedPorts = 100

// PortSet is a sorted set of host ports. Sets made by NewPortSet, Union,
// Minus and InstanceInfo are immutable; an instance's own remaining set
// (Instance.ReservedPorts) changes in place under the cluster's write lock,
// so read it inside Cluster.Read. It is a small slice,
// not a map: an instance reserves at most [MaxReservedPorts] ports, so a
// membership test is a binary search over at most 100 uint16 values and
// "do these ports collide" is a merge walk, with no hashing and no
// allocation. The zero value is the empty set.
type PortSet struct {
	p []uint16 // sorted ascending, no duplicates
}

// NewPortSet returns the set of the given ports; duplicates are dropped.
func NewPortSet(ports ...uint16) PortSet {
	if len(ports) == 0 {
		return PortSet{}
	}
	p := slices.Clone(ports)
	slices.Sort(p)
	return PortSet{p: slices.Compact(p)}
}

// Len returns the number of ports in the set.
func (s PortSet) Len() int { return len(s.p) }

// Contains reports whether port is in the set. Cost: O(log n).
func (s PortSet) Contains(port uint16) bool {
	_, ok := slices.BinarySearch(s.p, port)
	return ok
}

// Intersects reports whether s and o share a port. Cost: O(len(o) log len(s))
// when o is the smaller set (a task's demand usually is), else a merge walk.
func (s PortSet) Intersects(o PortSet) bool {
	return intersects(s.p, o.p)
}

func intersects(a, b []uint16) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	if len(b) > len(a) {
		a, b = b, a
	}
	if len(b) <= 4 {
		for _, x := range b {
			if _, ok := slices.BinarySearch(a, x); ok {
				return true
			}
		}
		return false
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			return true
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return false
}

// Union returns the ports in s or o.
func (s PortSet) Union(o PortSet) PortSet {
	if len(o.p) == 0 {
		return s
	}
	if len(s.p) == 0 {
		return o
	}
	out := make([]uint16, 0, len(s.p)+len(o.p))
	out = append(out, s.p...)
	out = append(out, o.p...)
	slices.Sort(out)
	return PortSet{p: slices.Compact(out)}
}

// Minus returns the ports in s that are not in o.
func (s PortSet) Minus(o PortSet) PortSet {
	if len(o.p) == 0 || len(s.p) == 0 {
		return s
	}
	out := make([]uint16, 0, len(s.p))
	for _, x := range s.p {
		if !o.Contains(x) {
			out = append(out, x)
		}
	}
	return PortSet{p: out}
}

// All yields the ports in ascending order.
func (s PortSet) All() iter.Seq[uint16] {
	return func(yield func(uint16) bool) {
		for _, x := range s.p {
			if !yield(x) {
				return
			}
		}
	}
}

// Slice returns the ports in ascending order in a new slice.
func (s PortSet) Slice() []uint16 { return slices.Clone(s.p) }

// Strings returns the ports as decimal strings in ascending numeric order,
// the form of ECS's PORTS stringSetValue.
func (s PortSet) Strings() []string {
	out := make([]string, len(s.p))
	for i, x := range s.p {
		out[i] = strconv.Itoa(int(x))
	}
	return out
}

// Equal reports whether s and o hold the same ports.
func (s PortSet) Equal(o PortSet) bool { return slices.Equal(s.p, o.p) }

// add inserts ports into s in place (s owns its memory: an instance's
// remaining ports, never handed out without a copy).
func (s *PortSet) add(o PortSet) {
	s.p = mergeSorted(s.p, o.p)
}

// remove deletes ports from s in place.
func (s *PortSet) remove(o PortSet) {
	for _, x := range o.p {
		if i, ok := slices.BinarySearch(s.p, x); ok {
			s.p = slices.Delete(s.p, i, i+1)
		}
	}
}

// clone returns a copy of s that shares no memory with it.
func (s PortSet) clone() PortSet { return PortSet{p: slices.Clone(s.p)} }
