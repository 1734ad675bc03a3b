package stevedore_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

// TestListTasksPagesWhileTasksChange: pages come in creation order, each
// task at most once, and a task that lives through the listing is listed,
// while tasks are started and stopped between pages.
func TestListTasksPagesWhileTasksChange(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "pages")
	for range 5 {
		registerInstance(t, c, "pages", resources(16384, 65536))
	}
	registerTaskDefinition(t, c, taskDefinition("tiny", 16, 16))
	var created []string
	for range 25 {
		for _, task := range runTask(t, c, "pages", "tiny", 10) {
			created = append(created, task.TaskArn)
		}
	}
	seen := map[string]int{}
	var order []string
	token := ""
	stoppedEarly := map[string]bool{}
	for page := 0; ; page++ {
		out, err := c.ListTasks(ctx, &stevedore.ListTasksInput{Cluster: "pages", MaxResults: 100, NextToken: token})
		require.NoError(t, err)
		for _, arn := range out.TaskArns {
			seen[arn]++
			order = append(order, arn)
		}
		// Between pages: stop a task not listed yet, start new ones.
		victim := created[len(created)-1-page]
		if seen[victim] == 0 {
			_, err := c.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "pages", Task: victim})
			require.NoError(t, err)
			stoppedEarly[victim] = true
		}
		runTask(t, c, "pages", "tiny", 1)
		if token = out.NextToken; token == "" {
			break
		}
		require.Less(t, page, 10)
	}
	for arn, n := range seen {
		assert.Equal(t, 1, n, "%s listed once", arn)
	}
	for _, arn := range created {
		if !stoppedEarly[arn] {
			assert.Contains(t, seen, arn, "a task that lived through the listing is listed")
		}
	}
	pos := map[string]int{}
	for i, arn := range created {
		pos[arn] = i
	}
	prev := -1
	for _, arn := range order {
		if p, ok := pos[arn]; ok {
			assert.Greater(t, p, prev, "creation order")
			prev = p
		}
	}
}

// TestListTasksPagesUnderConcurrentRunTask: while four goroutines start
// tasks, each listing pass, page by page, lists every task that existed
// when it began exactly once, and no task twice.
func TestListTasksPagesUnderConcurrentRunTask(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "busy")
	for range 8 {
		registerInstance(t, c, "busy", resources(1<<20, 1<<20))
	}
	registerTaskDefinition(t, c, taskDefinition("tiny", 1, 1))
	var wg sync.WaitGroup
	defer wg.Wait() // the writers end before the test does, even when it fails
	for range 4 {
		wg.Go(func() {
			for range 150 {
				out, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "busy", TaskDefinition: "tiny", Count: 2})
				if !assert.NoError(t, err) || !assert.Len(t, out.Tasks, 2) {
					return
				}
			}
		})
	}
	listAll := func(maxResults int) []string {
		var arns []string
		for token := ""; ; {
			out, err := c.ListTasks(ctx, &stevedore.ListTasksInput{Cluster: "busy", MaxResults: maxResults, NextToken: token})
			require.NoError(t, err)
			arns = append(arns, out.TaskArns...)
			if token = out.NextToken; token == "" {
				return arns
			}
		}
	}
	for pass := 0; pass < 20; pass++ {
		before := listAll(100)
		during := listAll(7)
		seen := map[string]int{}
		for _, arn := range during {
			seen[arn]++
		}
		for arn, n := range seen {
			require.Equal(t, 1, n, "%s listed %d times", arn, n)
		}
		for _, arn := range before {
			require.Contains(t, seen, arn, "a task that existed when the pass began")
		}
		require.Truef(t, slices.Equal(before, during[:len(before)]), "the older tasks come first, in the same order: %v, then %v", before, during)
	}
	wg.Wait()
	require.Len(t, listAll(100), 4*150*2)
}
