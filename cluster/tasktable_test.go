package cluster

import (
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// TestTaskTable: the table behaves as a map from number to task, whatever
// the order numbers are drawn, put and removed in; after yields in order;
// and chunks whose tasks are gone are freed.
func TestTaskTable(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		var tt taskTable
		model := map[uint64]*Task{}
		var drawn uint64
		var inFlight []uint64 // drawn, not yet put
		step := rapid.Uint64Range(1, 3*taskChunkSize)
		for i := range rapid.IntRange(1, 200).Draw(rt, "steps") {
			switch rapid.IntRange(0, 3).Draw(rt, "op") {
			case 0: // draw numbers, as concurrent commits do
				drawn += step.Draw(rt, "skip")
				inFlight = append(inFlight, drawn)
			case 1: // put one drawn number, in any order
				if len(inFlight) == 0 {
					continue
				}
				j := rapid.IntRange(0, len(inFlight)-1).Draw(rt, "put")
				n := inFlight[j]
				inFlight = slices.Delete(inFlight, j, j+1)
				task := &Task{seq: n}
				tt.put(n, task)
				model[n] = task
			case 2: // remove a present number
				if len(model) == 0 {
					continue
				}
				keys := slices.Sorted(mapKeys(model))
				n := keys[rapid.IntRange(0, len(keys)-1).Draw(rt, "remove")]
				tt.remove(n, drawn)
				delete(model, n)
			case 3: // remove an absent number: nothing happens
				tt.remove(drawn+1+uint64(i), drawn)
			}
			if tt.size != len(model) {
				rt.Fatalf("size %d, model %d", tt.size, len(model))
			}
			for n, task := range model {
				if got := tt.get(n); got != task {
					rt.Fatalf("get(%d) = %v, want %v", n, got, task)
				}
			}
			from := rapid.Uint64Range(0, drawn+1).Draw(rt, "after")
			var got, want []uint64
			for task := range tt.after(from) {
				got = append(got, task.seq)
			}
			for _, n := range slices.Sorted(mapKeys(model)) {
				if n > from {
					want = append(want, n)
				}
			}
			if !slices.Equal(got, want) {
				rt.Fatalf("after(%d) = %v, want %v", from, got, want)
			}
			live := 0
			for _, ch := range tt.chunks {
				if ch != nil {
					live++
				}
			}
			// Chunks held: those with tasks, plus at most the newest,
			// still being drawn from, and chunks reopened by late puts.
			if live > len(model)+1+len(inFlight) {
				rt.Fatalf("%d chunks held for %d tasks", live, len(model))
			}
		}
	})
}

func mapKeys(m map[uint64]*Task) func(func(uint64) bool) {
	return func(yield func(uint64) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestTaskTableAfterMax(t *testing.T) {
	var tt taskTable
	tt.put(5, &Task{seq: 5})
	for range tt.after(^uint64(0)) {
		t.Fatal("after(MaxUint64) yields nothing")
	}
	if tt.get(^uint64(0)) != nil || tt.get(0) != nil {
		t.Fatal("get of an absent number")
	}
}

// TestParseHex64: parseHex64 reads what hexUint64 writes, and nothing
// else.
func TestParseHex64(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		v := rapid.Uint64().Draw(rt, "v")
		var b [16]byte
		hexUint64(b[:], v)
		if got, ok := parseHex64(string(b[:])); !ok || got != v {
			rt.Fatalf("parseHex64(%s) = %x, %v", b[:], got, ok)
		}
	})
	for _, s := range []string{"", "0123456789abcde", "0123456789abcdef0", "0123456789ABCDEF", "0123456789abcdeg", "-123456789abcdef"} {
		if _, ok := parseHex64(s); ok {
			t.Errorf("parseHex64(%q) ok", s)
		}
	}
}
