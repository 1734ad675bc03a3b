package rwshard_test

import (
	"sync"
	"testing"

	"github.com/stevedore-go/stevedore/internal/rwshard"
)

// TestExclusion: a writer excludes readers and other writers; readers see
// either none or all of a writer's two updates.
func TestExclusion(t *testing.T) {
	var mu rwshard.RWMutex
	var a, b int
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 2000 {
				mu.Lock()
				a++
				b++
				mu.Unlock()
			}
		})
		wg.Go(func() {
			for range 2000 {
				tok := mu.RLock()
				if a != b {
					t.Errorf("reader saw a=%d b=%d", a, b)
				}
				mu.RUnlock(tok)
			}
		})
	}
	wg.Wait()
	if a != 8000 || b != 8000 {
		t.Fatalf("a=%d b=%d, want 8000", a, b)
	}
}

func ExampleRWMutex() {
	var mu rwshard.RWMutex
	m := map[string]int{}
	mu.Lock()
	m["a"] = 1
	mu.Unlock()
	tok := mu.RLock()
	_ = m["a"]
	mu.RUnlock(tok)
	// Output:
}
