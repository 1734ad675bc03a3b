package placement

import (
	"math"
	"slices"
)

// primary is the resource a tree orders by after its level.
type primary uint8

const (
	primaryNone   primary = iota // the tie-break order alone
	primaryCPU                   // remaining CPU
	primaryMemory                // remaining memory
)

// tree is a treap over instance slots ordered by (level, primary, tie-break
// key, slot), each node carrying the most remaining CPU, memory and free GPUs
// in its subtree, so that a search skips every subtree in which no instance
// has room. The level is the tree's own per-slot value: 0 in the global
// trees, an attribute value's id in an attribute tree, a group's task count
// in a group tree. Nodes are slots — arrays indexed by slot, no pointers, no
// allocation once the arrays have grown to the cluster's size. A tree holds
// only the instances that can take tasks at all (ACTIVE, agent connected).
type tree struct {
	primary                primary
	root                   int32
	level                  []int64 // per slot; nil means all 0
	left, right            []int32
	maxCPU, maxMem, maxGPU []int64
	maxENI                 []int64
}

// slots is the per-instance data the trees order and aggregate by, owned by
// the Engine.
type slots struct {
	cpu, mem, gpu, eni []int64
	tie                []uint64
	prio               []uint32
}

func newTree(p primary, withLevel bool) *tree {
	t := &tree{primary: p, root: -1}
	if withLevel {
		t.level = []int64{}
	}
	return t
}

func (t *tree) grow(n int) {
	for len(t.left) < n {
		t.left = append(t.left, -1)
		t.right = append(t.right, -1)
		t.maxCPU = append(t.maxCPU, 0)
		t.maxMem = append(t.maxMem, 0)
		t.maxGPU = append(t.maxGPU, 0)
		t.maxENI = append(t.maxENI, 0)
		if t.level != nil {
			t.level = append(t.level, 0)
		}
	}
}

func (t *tree) lvl(a int32) int64 {
	if t.level == nil {
		return 0
	}
	return t.level[a]
}

func (t *tree) prim(s *slots, a int32) int64 {
	switch t.primary {
	case primaryCPU:
		return s.cpu[a]
	case primaryMemory:
		return s.mem[a]
	}
	return 0
}

// less orders slots a and b by the tree's key.
func (t *tree) less(s *slots, a, b int32) bool {
	if la, lb := t.lvl(a), t.lvl(b); la != lb {
		return la < lb
	}
	if pa, pb := t.prim(s, a), t.prim(s, b); pa != pb {
		return pa < pb
	}
	if s.tie[a] != s.tie[b] {
		return s.tie[a] < s.tie[b]
	}
	return a < b
}

func (t *tree) update(s *slots, n int32) {
	c, m, g, x := s.cpu[n], s.mem[n], s.gpu[n], s.eni[n]
	if l := t.left[n]; l >= 0 {
		c, m, g, x = max(c, t.maxCPU[l]), max(m, t.maxMem[l]), max(g, t.maxGPU[l]), max(x, t.maxENI[l])
	}
	if r := t.right[n]; r >= 0 {
		c, m, g, x = max(c, t.maxCPU[r]), max(m, t.maxMem[r]), max(g, t.maxGPU[r]), max(x, t.maxENI[r])
	}
	t.maxCPU[n], t.maxMem[n], t.maxGPU[n], t.maxENI[n] = c, m, g, x
}

// split splits the subtree n into the slots ordered before x and the rest.
func (t *tree) split(s *slots, n, x int32) (int32, int32) {
	if n < 0 {
		return -1, -1
	}
	if t.less(s, n, x) {
		l, r := t.split(s, t.right[n], x)
		t.right[n] = l
		t.update(s, n)
		return n, r
	}
	l, r := t.split(s, t.left[n], x)
	t.left[n] = r
	t.update(s, n)
	return l, n
}

// merge joins a and b, every slot of a ordered before every slot of b.
func (t *tree) merge(s *slots, a, b int32) int32 {
	switch {
	case a < 0:
		return b
	case b < 0:
		return a
	case s.prio[a] > s.prio[b]:
		t.right[a] = t.merge(s, t.right[a], b)
		t.update(s, a)
		return a
	default:
		t.left[b] = t.merge(s, a, t.left[b])
		t.update(s, b)
		return b
	}
}

// build makes the tree of the given slots, which must all have grown into
// it, at once: sorted by the tree's order, then linked as a treap by a
// right-spine pass (each slot becomes the right child of the last slot on
// the spine with a priority at least its own, and adopts the slots it pops
// as its left subtree), then the maxima from the leaves up. Cost:
// O(n log n) for the sort, O(n) for the rest, against O(n log n) scattered
// inserts one by one.
func (t *tree) build(s *slots, members []int32) {
	slices.SortFunc(members, func(a, b int32) int {
		switch {
		case t.less(s, a, b):
			return -1
		case t.less(s, b, a):
			return 1
		}
		return 0
	})
	spine := make([]int32, 0, 64)
	for _, x := range members {
		t.left[x], t.right[x] = -1, -1
		last := int32(-1)
		for len(spine) > 0 && s.prio[spine[len(spine)-1]] < s.prio[x] {
			last = spine[len(spine)-1]
			spine = spine[:len(spine)-1]
		}
		t.left[x] = last
		if len(spine) > 0 {
			t.right[spine[len(spine)-1]] = x
		}
		spine = append(spine, x)
	}
	t.root = -1
	if len(spine) > 0 {
		t.root = spine[0]
	}
	// Maxima in post-order: children before their parents.
	stack := spine[:0]
	order := make([]int32, 0, len(members))
	if t.root >= 0 {
		stack = append(stack, t.root)
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		order = append(order, n)
		if l := t.left[n]; l >= 0 {
			stack = append(stack, l)
		}
		if r := t.right[n]; r >= 0 {
			stack = append(stack, r)
		}
	}
	for i := len(order) - 1; i >= 0; i-- {
		t.update(s, order[i])
	}
}

// insert adds slot x. Cost: O(log n) expected.
func (t *tree) insert(s *slots, x int32) {
	t.left[x], t.right[x] = -1, -1
	t.update(s, x)
	t.root = t.insertAt(s, t.root, x)
}

func (t *tree) insertAt(s *slots, n, x int32) int32 {
	if n < 0 {
		return x
	}
	if s.prio[x] > s.prio[n] {
		t.left[x], t.right[x] = t.split(s, n, x)
		t.update(s, x)
		return x
	}
	if t.less(s, x, n) {
		t.left[n] = t.insertAt(s, t.left[n], x)
	} else {
		t.right[n] = t.insertAt(s, t.right[n], x)
	}
	t.update(s, n)
	return n
}

// remove takes slot x out; x must be in the tree, keyed as when inserted.
// Cost: O(log n) expected.
func (t *tree) remove(s *slots, x int32) {
	t.root = t.removeAt(s, t.root, x)
	t.left[x], t.right[x] = -1, -1
}

func (t *tree) removeAt(s *slots, n, x int32) int32 {
	if n < 0 {
		return -1
	}
	if n == x {
		return t.merge(s, t.left[n], t.right[n])
	}
	if t.less(s, x, n) {
		t.left[n] = t.removeAt(s, t.left[n], x)
	} else {
		t.right[n] = t.removeAt(s, t.right[n], x)
	}
	t.update(s, n)
	return n
}

// span bounds a walk: levels from lo to hi, and, when lo == hi, primary
// keys from primLo.
type span struct {
	lo, hi, primLo int64
}

var allLevels = span{lo: math.MinInt64, hi: math.MaxInt64, primLo: math.MinInt64}

// walk visits, in the tree's order, the slots within sp whose own CPU,
// memory, GPUs and free ENIs reach cpu, mem, gpu and eni, until visit
// returns true.
// Subtrees whose maxima fall short are skipped whole, and so is everything
// ordered below the span. stack is scratch space; the grown stack is
// returned for reuse. Cost: O(log n) per visited slot, plus the subtrees
// that cannot be skipped.
func (t *tree) walk(s *slots, sp span, cpu, mem, gpu, eni int64, stack []int32, visit func(int32) bool) []int32 {
	stack = stack[:0]
	n := t.root
	for {
		for n >= 0 {
			// GPUs and ENIs are 0 for most tasks: their maxima are read
			// only when the task needs some.
			if t.maxCPU[n] < cpu || t.maxMem[n] < mem || (gpu > 0 && t.maxGPU[n] < gpu) || (eni > 0 && t.maxENI[n] < eni) {
				n = -1
				break
			}
			if l := t.lvl(n); l < sp.lo || (l == sp.lo && sp.lo == sp.hi && t.prim(s, n) < sp.primLo) {
				n = t.right[n]
				continue
			}
			stack = append(stack, n)
			n = t.left[n]
		}
		if len(stack) == 0 {
			return stack
		}
		n = stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if t.lvl(n) > sp.hi {
			return stack[:0]
		}
		if s.cpu[n] >= cpu && s.mem[n] >= mem && (gpu == 0 || s.gpu[n] >= gpu) && (eni == 0 || s.eni[n] >= eni) && visit(n) {
			return stack
		}
		n = t.right[n]
	}
}
