package mix_test

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore/internal/mix"
)

// TestNthDistinct: for one seed, distinct indexes give distinct words.
func TestNthDistinct(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		a := rapid.Uint64().Draw(t, "a")
		b := rapid.Uint64().Filter(func(b uint64) bool { return b != a }).Draw(t, "b")
		if mix.Nth(seed, a) == mix.Nth(seed, b) {
			t.Fatalf("Nth(%d, %d) == Nth(%d, %d)", seed, a, seed, b)
		}
	})
	seen := make(map[uint64]bool)
	for n := range uint64(100_000) {
		w := mix.Nth(42, n)
		if seen[w] {
			t.Fatalf("word %x repeats at n=%d", w, n)
		}
		seen[w] = true
	}
}

// TestIndex: Index inverts Nth and Unmix inverts Mix.
func TestIndex(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed, n, z := rapid.Uint64().Draw(t, "seed"), rapid.Uint64().Draw(t, "n"), rapid.Uint64().Draw(t, "z")
		if got := mix.Index(seed, mix.Nth(seed, n)); got != n {
			t.Fatalf("Index(%d, Nth(%d, %d)) = %d", seed, seed, n, got)
		}
		if got := mix.Unmix(mix.Mix(z)); got != z {
			t.Fatalf("Unmix(Mix(%d)) = %d", z, got)
		}
	})
}

func ExampleNth() {
	for n := range uint64(3) {
		fmt.Printf("%016x\n", mix.Nth(1, n))
	}
	// Output:
	// 5692161d100b05e5
	// 910a2dec89025cc1
	// beeb8da1658eec67
}

func ExampleIndex() {
	w := mix.Nth(7, 12345)
	fmt.Println(mix.Index(7, w))
	// Output: 12345
}
