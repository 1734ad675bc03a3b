package planner

import (
	"errors"
	"fmt"
	"slices"
)

// Shape is what one task needs from the instance it runs on.
type Shape struct {
	CPU, Memory int64
	GPUs, ENIs  int64
	// Ports are the static host ports it binds: TCP ports as they are,
	// UDP ports plus 65,536, so that 53/tcp and 53/udp do not collide.
	// Two tasks that share a port cannot share an instance.
	Ports []uint32
	// Distinct, when not empty, is a distinctInstance group: at most one
	// task of the group per instance.
	Distinct string
}

// Bin is an instance type's capacity. ENIs is how many awsvpc tasks an
// instance runs: 0 means no limit, [NoTaskENIs] none.
type Bin struct {
	CPU, Memory int64
	GPUs, ENIs  int64
}

// ErrTooLarge is wrapped by the error for a shape no bin can hold.
var ErrTooLarge = errors.New("planner: a task does not fit an empty instance")

// dims are the resource dimensions, in this order: CPU, memory, GPUs,
// ENIs.
const dims = 4

var dimNames = [dims]string{"CPU", "MEMORY", "GPU", "ENI"}

func (s *Shape) vec() [dims]int64 { return [dims]int64{s.CPU, s.Memory, s.GPUs, s.ENIs} }

// NoTaskENIs is Bin.ENIs for an instance that runs no awsvpc task.
const NoTaskENIs = -1

func (b Bin) vec() [dims]int64 {
	enis := b.ENIs
	switch enis {
	case 0:
		enis = 1 << 62 // no limit
	case NoTaskENIs:
		enis = 0
	}
	return [dims]int64{b.CPU, b.Memory, b.GPUs, enis}
}

// check validates the workload against the bin: every amount at least 0,
// every shape within an empty bin, no port twice in one shape.
func check(items []Shape, b Bin) error {
	if b.CPU < 0 || b.Memory < 0 || b.GPUs < 0 || b.ENIs < NoTaskENIs {
		return fmt.Errorf("planner: bin %+v has a negative capacity", b)
	}
	cap := b.vec()
	for i := range items {
		v := items[i].vec()
		for d := range dims {
			if v[d] < 0 {
				return fmt.Errorf("planner: task %d: negative %s", i, dimNames[d])
			}
			if v[d] > cap[d] {
				return fmt.Errorf("%w: task %d needs %d %s, the instance has %d", ErrTooLarge, i, v[d], dimNames[d], cap[d])
			}
		}
		ps := slices.Clone(items[i].Ports)
		slices.Sort(ps)
		if len(slices.Compact(ps)) != len(items[i].Ports) {
			return fmt.Errorf("planner: task %d binds a port twice", i)
		}
	}
	return nil
}
