package taskdef

import "math/bits"

// revSet is a set of revision positions (revision r at position r-1) in
// two levels of bits: words holds the members, sum bit i tells whether
// words[i] has any. Finding the next or previous member costs O(1) in a
// word plus one step per 4,096 positions it passes over.
type revSet struct {
	words []uint64
	sum   []uint64
	n     int // members
}

func (s *revSet) add(i int) {
	w := i >> 6
	for w >= len(s.words) {
		s.words = append(s.words, 0)
	}
	for w>>6 >= len(s.sum) {
		s.sum = append(s.sum, 0)
	}
	if s.words[w]&(1<<(i&63)) == 0 {
		s.words[w] |= 1 << (i & 63)
		s.sum[w>>6] |= 1 << (w & 63)
		s.n++
	}
}

func (s *revSet) remove(i int) {
	w := i >> 6
	if w >= len(s.words) || s.words[w]&(1<<(i&63)) == 0 {
		return
	}
	s.words[w] &^= 1 << (i & 63)
	if s.words[w] == 0 {
		s.sum[w>>6] &^= 1 << (w & 63)
	}
	s.n--
}

// next returns the smallest member ≥ i, or -1.
func (s *revSet) next(i int) int {
	if i < 0 {
		i = 0
	}
	w := i >> 6
	if w >= len(s.words) {
		return -1
	}
	if m := s.words[w] & (^uint64(0) << (i & 63)); m != 0 {
		return w<<6 + bits.TrailingZeros64(m)
	}
	// The next non-empty word after w.
	w++
	for sw := w >> 6; sw < len(s.sum); sw++ {
		m := s.sum[sw]
		if sw == w>>6 {
			m &= ^uint64(0) << (w & 63)
		}
		if m != 0 {
			nw := sw<<6 + bits.TrailingZeros64(m)
			return nw<<6 + bits.TrailingZeros64(s.words[nw])
		}
	}
	return -1
}

// prev returns the largest member ≤ i, or -1.
func (s *revSet) prev(i int) int {
	if i < 0 || len(s.words) == 0 {
		return -1
	}
	w := i >> 6
	if w >= len(s.words) {
		w, i = len(s.words)-1, len(s.words)<<6-1
	}
	if m := s.words[w] & (^uint64(0) >> (63 - i&63)); m != 0 {
		return w<<6 + 63 - bits.LeadingZeros64(m)
	}
	w--
	for sw := w >> 6; w >= 0 && sw >= 0; sw-- {
		m := s.sum[sw]
		if sw == w>>6 {
			m &= ^uint64(0) >> (63 - w&63)
		}
		if m != 0 {
			nw := sw<<6 + 63 - bits.LeadingZeros64(m)
			return nw<<6 + 63 - bits.LeadingZeros64(s.words[nw])
		}
	}
	return -1
}
