package taskdef

import (
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestRevSet: next and prev agree with a plain sorted list of members,
// across word and summary boundaries.
func TestRevSet(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var s revSet
		var model []int
		size := rapid.SampledFrom([]int{70, 5000, 20000}).Draw(t, "size")
		for range rapid.IntRange(0, 200).Draw(t, "ops") {
			i := rapid.IntRange(0, size).Draw(t, "i")
			if rapid.Bool().Draw(t, "add") {
				s.add(i)
				if !slices.Contains(model, i) {
					model = append(model, i)
					slices.Sort(model)
				}
			} else {
				s.remove(i)
				model = slices.DeleteFunc(model, func(x int) bool { return x == i })
			}
			require.Equal(t, len(model), s.n)
		}
		for range 50 {
			q := rapid.IntRange(-1, size+100).Draw(t, "q")
			next, prev := -1, -1
			for _, x := range model {
				if x >= q && next < 0 {
					next = x
				}
				if x <= q {
					prev = x
				}
			}
			require.Equal(t, next, s.next(q), "next(%d)", q)
			require.Equal(t, prev, s.prev(q), "prev(%d)", q)
		}
	})
}

// TestPageMatchesModel: paging through the registry with any page size,
// status, order and family gives exactly the revisions a plain model of the
// registrations lists, each once, in ListTaskDefinitions' order.
func TestPageMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := NewRegistry("r", "a")
		model := map[string][]Status{}
		families := []string{"api", "web", "web-2", "worker"}
		for range rapid.IntRange(0, 120).Draw(t, "ops") {
			fam := rapid.SampledFrom(families).Draw(t, "family")
			if n := len(model[fam]); n > 0 && rapid.IntRange(0, 2).Draw(t, "deregister") == 0 {
				rev := rapid.IntRange(1, n).Draw(t, "revision")
				_, err := r.Deregister(fam+":"+strconv.Itoa(rev), t0)
				require.NoError(t, err)
				model[fam][rev-1] = StatusInactive
				continue
			}
			_, err := r.Register(TaskDefinition{Family: fam, ContainerDefinitions: []ContainerDefinition{{Name: "c", Image: "i", Memory: 16}}}, t0)
			require.NoError(t, err)
			model[fam] = append(model[fam], StatusActive)
		}
		status := rapid.SampledFrom([]Status{"", StatusActive, StatusInactive, StatusAll}).Draw(t, "status")
		desc := rapid.Bool().Draw(t, "descending")
		prefix := rapid.SampledFrom(append([]string{"", "nope"}, families...)).Draw(t, "familyPrefix")
		limit := rapid.IntRange(1, 7).Draw(t, "limit")
		var want []string
		for _, fam := range families {
			if prefix != "" && fam != prefix {
				continue
			}
			for i, st := range model[fam] {
				if status == StatusAll || st == cmpOr(status, StatusActive) {
					want = append(want, "arn:aws:ecs:r:a:task-definition/"+fam+":"+strconv.Itoa(i+1))
				}
			}
		}
		if desc {
			slices.Reverse(want)
		}
		var got []string
		after := Cursor{}
		for pages := 0; ; pages++ {
			require.Less(t, pages, 1000, "paging ends")
			page, last, more := r.Page(prefix, status, desc, after, limit)
			require.LessOrEqual(t, len(page), limit)
			got = append(got, page...)
			if !more {
				break
			}
			require.Len(t, page, limit, "a page before the last is full")
			c, ok := ParseCursor(page[len(page)-1])
			require.True(t, ok)
			require.Equal(t, c, last)
			after = last
		}
		require.Equal(t, want, got)
		require.Equal(t, want, r.List(prefix, status, desc))
	})
}

func cmpOr(s, def Status) Status {
	if s == "" {
		return def
	}
	return s
}

// TestPageLimitBelowOne: a limit below 1 is taken as 1, so a caller that
// follows "more" still moves on.
func TestPageLimitBelowOne(t *testing.T) {
	r := NewRegistry("r", "a")
	for range 3 {
		_, err := r.Register(TaskDefinition{Family: "web", ContainerDefinitions: []ContainerDefinition{{Name: "c", Image: "i", Memory: 16}}}, t0)
		require.NoError(t, err)
	}
	for _, limit := range []int{0, -5} {
		page, last, more := r.Page("", "", false, Cursor{}, limit)
		require.Equal(t, []string{"arn:aws:ecs:r:a:task-definition/web:1"}, page)
		require.True(t, more)
		require.Equal(t, Cursor{Family: "web", Revision: 1}, last)
	}
}
