package placement

import (
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestTreeBuild: a tree built at once holds the same slots in the same
// order as one built by inserts, keeps the heap order on priorities, and
// every node carries its subtree's maxima; inserts and removes afterwards
// keep all of it.
func TestTreeBuild(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 200).Draw(t, "n")
		var s slots
		for i := range n {
			s.cpu = append(s.cpu, rapid.Int64Range(0, 8).Draw(t, "cpu"))
			s.mem = append(s.mem, rapid.Int64Range(0, 8).Draw(t, "mem"))
			s.gpu = append(s.gpu, rapid.Int64Range(0, 2).Draw(t, "gpu"))
			s.eni = append(s.eni, rapid.Int64Range(0, 3).Draw(t, "eni"))
			s.tie = append(s.tie, tieKey(7, i))
			s.prio = append(s.prio, uint32(rapid.IntRange(0, 5).Draw(t, "prio"))) // many equal priorities
		}
		p := rapid.SampledFrom([]primary{primaryNone, primaryCPU, primaryMemory}).Draw(t, "primary")
		built, inserted := newTree(p, true), newTree(p, true)
		built.grow(n)
		inserted.grow(n)
		var members []int32
		for i := range n {
			lvl := rapid.Int64Range(0, 3).Draw(t, "level")
			built.level[i], inserted.level[i] = lvl, lvl
			if rapid.IntRange(0, 4).Draw(t, "member") > 0 {
				members = append(members, int32(i))
				inserted.insert(&s, int32(i))
			}
		}
		built.build(&s, members)
		check := func(tr *tree) []int32 {
			var order []int32
			var walk func(x int32) (int64, int64, int64, int64)
			walk = func(x int32) (int64, int64, int64, int64) {
				if x < 0 {
					return -1, -1, -1, -1
				}
				c, m, g, e := s.cpu[x], s.mem[x], s.gpu[x], s.eni[x]
				for _, ch := range []int32{tr.left[x], tr.right[x]} {
					if ch >= 0 {
						require.LessOrEqual(t, s.prio[ch], s.prio[x], "heap order")
					}
				}
				lc, lm, lg, le := walk(tr.left[x])
				order = append(order, x)
				rc, rm, rg, re := walk(tr.right[x])
				c, m, g, e = max(c, lc, rc), max(m, lm, rm), max(g, lg, rg), max(e, le, re)
				require.Equal(t, [4]int64{c, m, g, e}, [4]int64{tr.maxCPU[x], tr.maxMem[x], tr.maxGPU[x], tr.maxENI[x]}, "maxima of %d", x)
				return c, m, g, e
			}
			walk(tr.root)
			for i := 1; i < len(order); i++ {
				require.True(t, tr.less(&s, order[i-1], order[i]), "in order")
			}
			return order
		}
		require.Equal(t, check(inserted), check(built))
		for range rapid.IntRange(0, 20).Draw(t, "changes") {
			x := int32(rapid.IntRange(0, max(n-1, 0)).Draw(t, "slot"))
			if n == 0 {
				break
			}
			if in := containsSlot(members, x); in {
				built.remove(&s, x)
				inserted.remove(&s, x)
				members = removeSlot(members, x)
			} else {
				built.insert(&s, x)
				inserted.insert(&s, x)
				members = append(members, x)
			}
			require.Equal(t, check(inserted), check(built))
		}
	})
}

func containsSlot(xs []int32, x int32) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func removeSlot(xs []int32, x int32) []int32 {
	out := xs[:0]
	for _, y := range xs {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}
