// Package mix derives well-scattered 64-bit words from counters, so that
// concurrent callers can draw reproducible pseudo-random values with one
// atomic add instead of a lock around a random source.
package mix

// Golden is 2⁶⁴/φ, odd: n ↦ seed + n·Golden is a bijection of uint64.
const Golden = 0x9e3779b97f4a7c15

// Mix is SplitMix64's finaliser, a bijection of uint64 that scatters
// consecutive inputs.
func Mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Nth returns the n-th word of the sequence seed selects: Mix(seed +
// n·Golden). For one seed, distinct n give distinct words.
func Nth(seed, n uint64) uint64 {
	return Mix(seed + n*Golden)
}

// Unmix is the inverse of Mix: Unmix(Mix(z)) == z.
func Unmix(z uint64) uint64 {
	z ^= z>>31 ^ z>>62
	z *= inverse2
	z ^= z>>27 ^ z>>54
	z *= inverse1
	return z ^ z>>30 ^ z>>60
}

// Index is the inverse of Nth: Index(seed, Nth(seed, n)) == n.
func Index(seed, w uint64) uint64 {
	return (Unmix(w) - seed) * inverseGolden
}

// The multiplicative inverses, mod 2⁶⁴, of Mix's multipliers and Golden.
var (
	inverse1      = inverse(0xbf58476d1ce4e5b9)
	inverse2      = inverse(0x94d049bb133111eb)
	inverseGolden = inverse(Golden)
)

// inverse returns x with a·x ≡ 1 (mod 2⁶⁴) for odd a, by Newton's
// iteration: a is its own inverse to 3 bits, and each step doubles them.
func inverse(a uint64) uint64 {
	x := a
	for range 5 {
		x *= 2 - a*x
	}
	return x
}
